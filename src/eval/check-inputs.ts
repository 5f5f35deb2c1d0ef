/**
 * The records of what an evaluation read (record-inputs.ts) and how each is checked again: a
 * record is a call — a file-system read, an `os` query, the working directory, a `path()`
 * tree's archive hash — and the digest of its result; it holds while the same call gives the
 * same digest. Kept apart from the recorder so that a cached no-op loads only this.
 */
import fs from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';
import type { RecordedRead } from '../expr/record.js';

export interface CheckedInputs {
  reads: RecordedRead[];
  /** Every environment variable read: its value, or null when it was not set. */
  env: Record<string, string | null>;
}

const sha = (d: string | Uint8Array) => createHash('sha256').update(d).digest('hex');

/** File-system functions that read and can be called again to check. */
export const FS_READS = ['readFileSync', 'statSync', 'lstatSync', 'readdirSync', 'existsSync', 'realpathSync', 'readlinkSync', 'accessSync'] as const;

/** The env record of "the whole environment was listed": a hash of the names. */
export const ENV_KEYS = '\0keys';
export const envKeys = (env: object = process.env) => sha(Object.keys(env).sort().join('\0'));

function statPrint(st: fs.Stats | fs.BigIntStats | undefined): string {
  if (st === undefined) return '!ENOENT';
  return [st.dev, st.ino, st.mode, st.nlink, st.uid, st.gid, st.rdev, st.size, st.mtimeMs, st.ctimeMs].join(':');
}

function entryPrint(e: unknown): string {
  if (typeof e === 'string') return e;
  if (Buffer.isBuffer(e)) return `b:${e.toString('hex')}`;
  const d = e as fs.Dirent & { parentPath?: string; path?: string };
  const type = d.isFile() ? 'f' : d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'o';
  return `${d.parentPath ?? d.path ?? ''}\0${String(d.name)}\0${type}`;
}

/** The digest of what `fn` returned. */
export function digest(fn: string, result: unknown): string {
  switch (fn) {
    case 'readFileSync':
      return sha(result as string | Buffer);
    case 'statSync':
    case 'lstatSync':
      return statPrint(result as fs.Stats | undefined);
    case 'readdirSync':
      return sha(JSON.stringify((result as unknown[]).map(entryPrint)));
    case 'existsSync':
      return result ? '1' : '0';
    case 'accessSync':
      return 'ok';
    case 'realpathSync':
    case 'readlinkSync':
    case 'cwd':
      return String(result);
    default:
      return JSON.stringify(result) ?? 'undefined';
  }
}

/** The digest of a call that threw. */
export function failure(e: unknown): string {
  const err = e as { code?: unknown; name?: unknown };
  return `!${String(err?.code ?? err?.name ?? 'error')}`;
}

type AnyFn = (...a: unknown[]) => unknown;

/** Call again what a record names, as it was called; its digest now. */
async function observe(r: RecordedRead): Promise<string> {
  try {
    if (r.fn === 'narHash') {
      const { hashPathSync } = await import('../archive/hash-sync.js');
      return hashPathSync(r.args[0] as string).narHash;
    }
    if (r.fn === 'cwd') return digest('cwd', process.cwd());
    if (r.fn.startsWith('os.')) {
      const f = (os as unknown as Record<string, AnyFn>)[r.fn.slice(3)];
      return typeof f === 'function' ? digest(r.fn, f(...r.args)) : '!unknown';
    }
    if (!(FS_READS as readonly string[]).includes(r.fn)) return '!unknown';
    return digest(r.fn, (fs as unknown as Record<string, AnyFn>)[r.fn](...r.args));
  } catch (e) {
    return failure(e);
  }
}

/** Whether every record still holds: the same files, trees, variables and host answers. */
export async function inputsUnchanged(inputs: CheckedInputs): Promise<boolean> {
  for (const [name, value] of Object.entries(inputs.env)) {
    if (name === ENV_KEYS) {
      if (value !== envKeys()) return false;
    } else if ((process.env[name] ?? null) !== value) return false;
  }
  for (const r of inputs.reads) if ((await observe(r)) !== r.value) return false;
  return true;
}
