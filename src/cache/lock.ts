/**
 * Lock files (`store lock FILE > env.lock.json`): what a realize of FILE produced — every
 * derivation of its graph with its output paths and narHashes — so that `store realize --lock`
 * elsewhere fails loudly, before building, if any path would differ, and after building if
 * any narHash does.
 */
import fs from 'node:fs';
import { StoreError } from '../errors.js';
import type { BuildGraph } from '../derivation/graph.js';
import type { LocalStore } from '../store/local-store.js';

export interface LockFile {
  format: 'hepstore-lock';
  version: 1;
  storeDir: string;
  system: string;
  roots: Array<{ attr: string; drvPath: string; outputs: Record<string, string> }>;
  derivations: Record<string, { outputs: Record<string, { path: string; narHash: string | null }> }>;
}

export function makeLock(store: LocalStore, graph: BuildGraph, roots: LockFile['roots']): LockFile {
  const derivations: LockFile['derivations'] = {};
  let system = '';
  for (const [drvPath, n] of [...graph.nodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    system ||= n.drv.system;
    const outputs: Record<string, { path: string; narHash: string | null }> = {};
    for (const [o, out] of Object.entries(n.drv.outputs)) outputs[o] = { path: out.path, narHash: store.queryPathInfo(out.path)?.narHash ?? null };
    derivations[drvPath] = { outputs };
  }
  return { format: 'hepstore-lock', version: 1, storeDir: store.storeDir, system, roots, derivations };
}

export function readLock(file: string): LockFile {
  let v: LockFile;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StoreError('USAGE', `cannot read the lock file ${file}: ${(e as Error).message}`);
  }
  if (v?.format !== 'hepstore-lock' || v.version !== 1 || typeof v.derivations !== 'object') throw new StoreError('USAGE', `${file} is not a hepstore lock file`, { hint: 'make one with `store lock FILE > env.lock.json`' });
  return v;
}

function mismatch(file: string, what: string): never {
  throw new StoreError('HASH_MISMATCH', `the realization differs from the lock file ${file}: ${what}`, {
    hint: 'the expression, its inputs or the store directory changed since the lock was made; compare with `store diff`, or make a new lock with `store lock`',
  });
}

/** Before building: the same store directory, roots and derivation outputs. */
export function checkLockBefore(lock: LockFile, file: string, storeDir: string, graph: BuildGraph): void {
  if (lock.storeDir !== storeDir) mismatch(file, `it was made for the store directory ${lock.storeDir}, this store is at ${storeDir}`);
  const locked = new Map(lock.roots.map((r) => [r.attr, r]));
  for (const r of graph.roots) {
    const l = locked.get(r.attr);
    if (!l) mismatch(file, `attribute '${r.attr}' is not in the lock`);
    if (l.drvPath !== r.drvPath) mismatch(file, `attribute '${r.attr}' is ${r.drvPath}, the lock says ${l.drvPath}`);
  }
  for (const [drvPath, n] of graph.nodes) {
    const l = lock.derivations[drvPath];
    if (!l) mismatch(file, `derivation ${drvPath} (${n.drv.name}) is not in the lock`);
    for (const [o, out] of Object.entries(n.drv.outputs)) {
      if (l.outputs[o]?.path !== out.path) mismatch(file, `output '${o}' of ${drvPath} is ${out.path}, the lock says ${l.outputs[o]?.path}`);
    }
  }
}

/** After building: every output valid here and locked with a narHash has that narHash. */
export function checkLockAfter(lock: LockFile, file: string, store: LocalStore, graph: BuildGraph): void {
  for (const [drvPath] of graph.nodes) {
    for (const [o, l] of Object.entries(lock.derivations[drvPath]?.outputs ?? {})) {
      const got = store.queryPathInfo(l.path)?.narHash;
      if (got && l.narHash && got !== l.narHash) mismatch(file, `output '${o}' of ${drvPath} (${l.path}) has narHash ${got}, the lock says ${l.narHash}`);
    }
  }
}
