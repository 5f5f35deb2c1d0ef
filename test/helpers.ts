/** Shared test helpers: fresh directories, fresh stores, running the real CLI. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LocalStore, type NewPathInfo } from '../src/store/local-store.js';
import { hashPath } from '../src/archive/dump.js';
import { makeStorePath, typeWithReferences } from '../src/store/path.js';
import { removeTree } from '../src/archive/canonical.js';
import { createCipheriv, createHash } from 'node:crypto';
import { Assertion } from 'uvu/assert';
import { isStoreError, type ErrorCode, type StoreError } from '../src/errors.js';

/** The repository root (tests are compiled to dist/test). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(REPO, 'test', 'fixtures');
export const CLI = path.join(REPO, 'bin', 'store.js');

const made: string[] = [];
process.on('exit', () => {
  if (process.env.KEEP_TEST_DIRS) return;
  for (const d of made) removeTree(d);
});

export function tmpDir(label = 'test'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `hepstore-${label}-`));
  made.push(d);
  return d;
}

export function newStore(root = path.join(tmpDir('store'), 'root')): LocalStore {
  return new LocalStore(root);
}

/** Write a tree from a spec: string = file, {exec: string} = executable, {link: target} = symlink, object = directory. */
export type TreeSpec = { [name: string]: string | Buffer | { exec: string } | { link: string } | TreeSpec };

export function writeTree(dir: string, spec: TreeSpec): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, v] of Object.entries(spec)) {
    const p = path.join(dir, name);
    if (typeof v === 'string' || Buffer.isBuffer(v)) fs.writeFileSync(p, v);
    else if ('exec' in v && typeof v.exec === 'string') fs.writeFileSync(p, v.exec, { mode: 0o755 });
    else if ('link' in v && typeof v.link === 'string') fs.symlinkSync(v.link, p);
    else writeTree(p, v as TreeSpec);
  }
  return dir;
}

export function runCli(args: string[], opts: { storeRoot?: string; cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): SpawnSyncReturns<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (opts.storeRoot) env.STORE_ROOT = opts.storeRoot;
  return spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? REPO, env, input: opts.input, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** Regenerate golden files with UPDATE_GOLDEN=1; otherwise compare against them. */
export function golden(name: string, actual: Buffer | string): Buffer {
  const file = path.join(FIXTURES, 'golden', name);
  if (process.env.UPDATE_GOLDEN) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
  }
  return fs.readFileSync(file);
}

/** The error a function throws, which must be a StoreError with `code`; fails the test otherwise. */
export function expectStoreError(fn: () => unknown, code: ErrorCode): StoreError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  return checkStoreError(thrown, code);
}

/** Like expectStoreError, for a promise (or async function). */
export async function rejectsStoreError(p: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode): Promise<StoreError> {
  let thrown: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    thrown = e;
  }
  return checkStoreError(thrown, code);
}

function checkStoreError(thrown: unknown, code: ErrorCode): StoreError {
  if (thrown === undefined) throw new Assertion({ message: `expected a ${code} error, but nothing was thrown`, operator: 'throws', expects: code, actual: undefined });
  if (!isStoreError(thrown)) {
    throw new Assertion({ message: `expected a ${code} StoreError, got ${(thrown as Error)?.stack ?? String(thrown)}`, operator: 'throws', expects: code, actual: thrown });
  }
  if (thrown.code !== code) {
    throw new Assertion({ message: `expected a ${code} error, got ${thrown.code}: ${thrown.message}`, operator: 'throws', expects: code, actual: thrown.code });
  }
  return thrown;
}

/** Everything a readable stream yields, as one buffer. */
export async function collect(stream: object): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Whether anything (even a dangling symlink) exists at `p`. */
export function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Deterministic pseudo-random bytes (AES-256-CTR keyed by the seed), for large fixture files. */
export function pseudoRandomBytes(length: number, seed = 'hepstore'): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** Every entry below `root` (itself included) with its lstat. */
export function walk(root: string): Array<{ path: string; st: fs.Stats }> {
  const out = [{ path: root, st: fs.lstatSync(root) }];
  for (let i = 0; i < out.length; i++) {
    const { path: p, st } = out[i];
    if (st.isDirectory()) for (const d of fs.readdirSync(p).sort()) out.push({ path: path.join(p, d), st: fs.lstatSync(path.join(p, d)) });
  }
  return out;
}

/**
 * Put a tree into the store as a path that references `references`, the way a build output
 * is: copied under a temporary name, canonicalised, renamed into place, then registered with
 * store.registerValidPaths. Returns the registration record (not yet registered if `register`
 * is false, so callers can register several in one batch).
 */
export async function placeWithReferences(
  store: LocalStore,
  name: string,
  spec: TreeSpec,
  references: string[],
  opts: { register?: boolean; deriver?: string } = {},
): Promise<NewPathInfo> {
  const src = writeTree(path.join(tmpDir('src'), name), spec);
  const temp = store.tempPath('test');
  const nar = await hashPath(src, { copyTo: temp });
  const storePath = makeStorePath(typeWithReferences('source', references), nar.digest.toString('hex'), store.storeDir, name);
  fs.renameSync(temp, storePath);
  const info: NewPathInfo = { path: storePath, narHash: nar.narHash, narSize: nar.narSize, references, deriver: opts.deriver };
  if (opts.register ?? true) store.registerValidPaths([info]);
  return info;
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI without blocking, so that several can run at the same time. */
export function runCliAsync(args: string[], opts: { storeRoot?: string; cwd?: string; env?: NodeJS.ProcessEnv; node?: string } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (opts.storeRoot) env.STORE_ROOT = opts.storeRoot;
  return new Promise((resolve, reject) => {
    const child = spawn(opts.node ?? process.execPath, [CLI, ...args], { cwd: opts.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/**
 * Another machine, as far as a test can make one: a copy of this Node.js binary at another
 * path, and a PATH whose first directory holds other programs (busybox's tar, xz, sed and
 * coreutils, where busybox is installed) in place of the host's.
 */
export function otherHost(): { node: string; env: NodeJS.ProcessEnv; busybox: boolean } {
  const dir = tmpDir('other-host');
  const bin = path.join(dir, 'bin');
  const tools = path.join(dir, 'tools');
  fs.mkdirSync(bin);
  fs.mkdirSync(tools);
  const node = path.join(bin, 'node');
  fs.copyFileSync(process.execPath, node);
  fs.chmodSync(node, 0o755);
  const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
  if (busybox) {
    for (const t of ['tar', 'xz', 'unxz', 'gzip', 'sed', 'grep', 'awk', 'find', 'xargs', 'cp', 'mv', 'ln', 'mkdir', 'rm', 'cat', 'ls', 'chmod', 'head', 'tail', 'sort', 'tr', 'cut', 'wc', 'basename', 'dirname', 'env', 'diff', 'cmp', 'expr', 'touch', 'install']) {
      fs.symlinkSync(busybox, path.join(tools, t));
    }
  }
  return { node, env: { PATH: `${tools}:${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` }, busybox: Boolean(busybox) };
}
