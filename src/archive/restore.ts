/**
 * Restore a canonical archive into a new directory entry. Every header is checked before
 * anything is written for it; on any error the partly restored object is removed, so a
 * hostile or corrupt archive leaves nothing behind.
 */
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { StoreError } from '../errors.js';
import { HashSink } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { ARCHIVE_MTIME, canonicalMode, canonicaliseTree, removeTree } from './canonical.js';
import { entryPath, type EntryType } from './walk.js';
import type { NarInfo } from './dump.js';

const ALLOWED_PAX_KEYS = new Set(['path', 'linkpath']);

function hostile(name: string, why: string): never {
  throw new StoreError('HOSTILE_ARCHIVE', `archive entry '${name}' refused: ${why}`, {
    hint: 'the archive is corrupt or was not written by `store dump`/`store export`; nothing was restored',
  });
}

function checkName(name: string): void {
  if (name === '.') return;
  if (name.startsWith('/')) hostile(name, 'absolute path');
  if (!name.startsWith('./')) hostile(name, "names must start with './'");
  if (name.includes('\0')) hostile(name, 'NUL in name');
  for (const part of name.slice(2).split('/')) {
    if (part === '..') hostile(name, "'..' component");
    if (part === '' || part === '.') hostile(name, 'empty or "." component');
  }
}

function parentOf(name: string): string {
  const i = name.lastIndexOf('/');
  return i <= 1 ? '.' : name.slice(0, i);
}

interface Checked {
  type: EntryType;
  executable: boolean;
}

function checkHeader(h: tar.Header, canonical: boolean): Checked {
  const name = h.name;
  switch (h.type) {
    case 'file':
    case 'directory':
    case 'symlink':
      break;
    case 'link':
      hostile(name, `hard link to '${h.linkname}'`);
    case 'character-device':
    case 'block-device':
      hostile(name, 'device file');
    case 'fifo':
      hostile(name, 'fifo');
    default:
      hostile(name, `unsupported entry type '${h.type}'`);
  }
  const type = h.type as EntryType;
  const mode = (h.mode ?? 0) & 0o7777;
  const executable = type === 'file' && (mode & 0o111) !== 0;
  if (type === 'symlink' && (!h.linkname || h.linkname.includes('\0'))) hostile(name, 'symlink with an empty or invalid target');
  if (type !== 'file' && (h.size ?? 0) !== 0) hostile(name, `${type} with a non-zero size`);
  if (canonical) {
    if (mode !== canonicalMode(type, executable)) hostile(name, `non-canonical mode ${mode.toString(8)}`);
    if ((h.mtime?.getTime() ?? 0) !== ARCHIVE_MTIME.getTime()) hostile(name, 'non-canonical mtime');
    if (h.uid || h.gid || h.uname || h.gname) hostile(name, 'non-canonical owner');
    for (const key of Object.keys(h.pax ?? {})) if (!ALLOWED_PAX_KEYS.has(key)) hostile(name, `extended header '${key}'`);
  }
  return { type, executable };
}

export interface RestoreOptions {
  /** Refuse headers that `store dump` would not have written (default: true). */
  canonical?: boolean;
}

/**
 * Restore the archive read from `source` to `dest`, which must not exist. Returns the hash and
 * size of the bytes read, so callers can compare them with what they expected.
 */
export async function restoreArchive(source: Readable | AsyncIterable<Buffer>, dest: string, opts: RestoreOptions = {}): Promise<NarInfo> {
  const canonical = opts.canonical ?? true;
  if (fs.existsSync(dest)) throw new StoreError('IO', `cannot restore to '${dest}': it already exists`);
  const sink = new HashSink();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sink.update(chunk);
      cb(null, chunk);
    },
  });
  const extract = tar.extract();
  const feeding = pipeline(source, tap, extract);
  const written: Array<{ name: string; type: EntryType; executable: boolean }> = [];
  const directories = new Set<string>();
  let previous: Buffer | undefined;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      checkName(h.name);
      const { type, executable } = checkHeader(h, canonical);
      const key = Buffer.from(h.name);
      if (previous === undefined) {
        if (h.name !== '.') hostile(h.name, "the first entry must be the root '.'");
      } else {
        const cmp = Buffer.compare(previous, key);
        if (cmp === 0) hostile(h.name, 'duplicate entry');
        if (cmp > 0) hostile(h.name, 'entries are not sorted');
        // The parent must be a directory restored by this archive: nothing is ever written
        // through a symlink or below a file.
        if (!directories.has(parentOf(h.name))) hostile(h.name, 'its parent is not a directory of this archive');
      }
      previous = key;
      const p = entryPath(dest, h.name);
      if (type === 'directory') {
        fs.mkdirSync(p, { mode: 0o755 });
        directories.add(h.name);
        entry.resume();
      } else if (type === 'symlink') {
        fs.symlinkSync(h.linkname!, p);
        entry.resume();
      } else {
        const fd = fs.openSync(p, 'wx', 0o644);
        try {
          for await (const chunk of entry) fs.writeSync(fd, chunk as Buffer);
        } finally {
          fs.closeSync(fd);
        }
      }
      written.push({ name: h.name, type, executable });
    }
    await feeding;
    if (written.length === 0) throw new StoreError('HOSTILE_ARCHIVE', 'the archive is empty', { hint: 'it may be truncated' });
    canonicaliseTree(dest, written);
  } catch (err) {
    extract.destroy();
    await feeding.catch(() => {});
    removeTree(dest);
    if (err instanceof StoreError) throw err;
    throw new StoreError('HOSTILE_ARCHIVE', `cannot restore archive: ${(err as Error).message}`, {
      cause: err,
      hint: 'the archive is corrupt or truncated; nothing was restored',
    });
  }
  const digest = sink.digest();
  return { narHash: toSRI(digest), narSize: sink.size, digest };
}
