/**
 * Lock files (`store lock FILE > env.lock.json`): what a realize of FILE produced — every
 * derivation of its graph with its output paths and narHashes — so that `store realize --lock`
 * elsewhere fails loudly, before building, if any path would differ, and after building if
 * any narHash does. Each derivation is recorded whole (`drv`, since the lock files of this
 * version; older ones have only outputs), so that a mismatch names the first input that
 * differs, found by the walk of `store diff`, even where the locked .drv files are not in the
 * store.
 */
import fs from 'node:fs';
import { StoreError } from '../errors.js';
import type { BuildGraph } from '../derivation/graph.js';
import type { Derivation } from '../derivation/derivation.js';
import type { Store } from '../store/store.js';
import { differenceSteps, explainDifference, storeDrvReader, type DrvReader } from './diff.js';

export interface LockFile {
  format: 'hepstore-lock';
  version: 1;
  storeDir: string;
  system: string;
  roots: Array<{ attr: string; drvPath: string; outputs: Record<string, string> }>;
  derivations: Record<string, { outputs: Record<string, { path: string; narHash: string | null }>; drv?: Derivation }>;
}

export function makeLock(store: Store, graph: BuildGraph, roots: LockFile['roots']): LockFile {
  const derivations: LockFile['derivations'] = {};
  let system = '';
  for (const [drvPath, n] of [...graph.nodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    system ||= n.drv.system;
    const outputs: Record<string, { path: string; narHash: string | null }> = {};
    for (const [o, out] of Object.entries(n.drv.outputs)) outputs[o] = { path: out.path, narHash: store.queryPathInfo(out.path)?.narHash ?? null };
    derivations[drvPath] = { outputs, drv: n.drv };
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

/**
 * Why `locked` (a .drv path of the lock) and `now` (one of the graph) differ, as a clause
 * ("x differs because its input 'y' differs: y: …"): the lock's own records of derivations,
 * then the graph's, then the store's .drv files.
 */
function cause(lock: LockFile, graph: BuildGraph, store: Store, locked: string, now: string): string {
  const fromStore = storeDrvReader(store);
  const read: DrvReader = (p) => graph.nodes.get(p)?.drv ?? lock.derivations[p]?.drv ?? fromStore(p);
  const steps = differenceSteps(read, locked, now);
  // The lock of an older version has no derivations in it, and its .drv files may not be here.
  if (steps.length === 1 && steps[0].input === undefined && !read(locked)) return `the lock does not record the locked derivation, and its .drv file is not in this store (make the lock again with \`store lock\` to have the cause named)`;
  return explainDifference(steps);
}

/** Before building: the same store directory, roots and derivation outputs. */
export function checkLockBefore(lock: LockFile, file: string, store: Store, graph: BuildGraph): void {
  const storeDir = store.storeDir;
  if (lock.storeDir !== storeDir) mismatch(file, `it was made for the store directory ${lock.storeDir}, this store is at ${storeDir}`);
  const locked = new Map(lock.roots.map((r) => [r.attr, r]));
  for (const r of graph.roots) {
    const l = locked.get(r.attr);
    if (!l) mismatch(file, `attribute '${r.attr}' is not in the lock`);
    if (l.drvPath !== r.drvPath) mismatch(file, `${r.attr ? `attribute '${r.attr}'` : 'the default export'} is ${r.drvPath}, the lock says ${l.drvPath}: ${cause(lock, graph, store, l.drvPath, r.drvPath)}`);
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
export function checkLockAfter(lock: LockFile, file: string, store: Store, graph: BuildGraph): void {
  for (const [drvPath] of graph.nodes) {
    for (const [o, l] of Object.entries(lock.derivations[drvPath]?.outputs ?? {})) {
      const got = store.queryPathInfo(l.path)?.narHash;
      if (got && l.narHash && got !== l.narHash) mismatch(file, `output '${o}' of ${drvPath} (${l.path}) has narHash ${got}, the lock says ${l.narHash}`);
    }
  }
}
