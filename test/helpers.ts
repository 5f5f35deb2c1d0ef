/** Shared test helpers: fresh directories, fresh stores, running the real CLI. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LocalStore } from '../src/store/local-store.js';
import { removeTree } from '../src/archive/canonical.js';

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
