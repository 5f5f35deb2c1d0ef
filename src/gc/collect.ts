/**
 * Garbage collection.
 *
 * Liveness is computed in memory (src/gc/graph.ts) from the roots (src/gc/roots.ts). Dead
 * paths are deleted referrers first, a strongly connected component (a cycle) at a time, in
 * batches; for each batch:
 *
 *  1. One write transaction (Store.withWriteLock: the SQLite write lock orders it against every writer):
 *     re-read all roots — file roots, releases, live temporary roots — and mark whatever
 *     became reachable since the start; keep paths locked by a live builder and paths with a
 *     referrer outside the batch (a path registered meanwhile); then DELETE the rows of the
 *     rest. The database row is the commit point (Invariant 1): from here the paths are
 *     invalid.
 *  2. A second write transaction removes their files — unlinks a file or symlink, renames a
 *     directory to `.tmp-gc-<pid>-…` in the store directory — unless the path became valid
 *     again, or a live process holds a temporary root or a build lock on it (it is rebuilding
 *     it: the stale copy is its business). Under the write lock, so a writer that renames a
 *     new object into place and registers it in one transaction never loses it.
 *  3. The renamed trees are removed, outside any transaction.
 *
 * A process that relies on a path adds a temporary root BEFORE it checks that the path is
 * valid. Either its root is committed before step 1 (the collector sees it and keeps the path
 * and its closure) or after (the path is already invalid when the process looks, and it
 * rebuilds it). Temporary roots seen once stay in force for the whole collection; new
 * permanent roots (an out-link made just before a realize released its temporary roots) are
 * seen because step 1 re-reads the roots inside the transaction.
 *
 * A crash at any point leaves a consistent store: before step 1 commits nothing changed;
 * after it, an unregistered object or a `.tmp-gc-<dead pid>-…` tree remains, which the next
 * collection removes as junk (anything in the store directory that is not a valid path, not
 * locked or temporarily rooted by a live process, and not a temporary name of a live process).
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { removeTree } from '../archive/canonical.js';
import type { Store } from '../store/store.js';
import { isAlive, ownerOf, processStart } from '../store/process.js';
import { removeUnusedLinks } from '../store/optimise.js';
import { deletionOrder, loadGraph, markReachable, type GraphOptions, type StoreGraph } from './graph.js';
import { findRoots, tempRootBatches, tempRootOwners, tempRootPaths } from './roots.js';
import { withGcLock, GC_LOCK_KEY } from './lock.js';
import { explain, type Explanation } from './why.js';

export interface GcOptions extends GraphOptions {
  /** Work out what would be deleted, and change nothing. */
  dryRun?: boolean;
  /** Stop once at least this many bytes (narSize) are freed. */
  maxFreed?: number;
  /** Paths per deletion transaction (default 2000, or $HEPSTORE_GC_BATCH). */
  batchSize?: number;
  /** Called once if another collection holds the lock. */
  onWait?: (holder: number) => void;
  /** Paths deleted so far (and the bytes, narSize, they freed), of those to delete. */
  onProgress?: (deleted: number, total: number, bytesFreed: number) => void;
  /** Test hook: runs before each deletion batch's transaction. */
  beforeBatch?: (paths: string[]) => void;
}

export interface DeletedPath {
  path: string;
  narSize: number;
}

export interface Junk {
  path: string;
  bytes: number;
}

export interface GcResult {
  dryRun: boolean;
  /** Valid paths when the collection started, and how many of them were alive. */
  valid: number;
  alive: number;
  /** Deleted (or, in a dry run, to be deleted), referrers before references. */
  deleted: DeletedPath[];
  /** Sum of narSize of the deleted paths. */
  bytesFreed: number;
  /** Dead at the start, but kept because something began to need them meanwhile. */
  kept: string[];
  /** Stray entries of the store directory (not valid paths): leftovers of killed processes. */
  junk: Junk[];
  junkBytes: number;
  /** Build directories and staging files of processes that are gone (var/builds, var/tmp). */
  leftovers: Junk[];
  leftoverBytes: number;
  staleLocks: number;
  staleTempRoots: number;
  /** Files of `.links` (store optimise) that no store file shared any more, removed. */
  unusedLinks: number;
  unusedLinkBytes: number;
}

const TEMP_NAME = /^\.tmp-.*-(\d+)-[0-9a-f]+$/;

function batchSizeOf(opts: GcOptions): number {
  const env = Number(process.env.HEPSTORE_GC_BATCH);
  return Math.max(1, opts.batchSize ?? (Number.isInteger(env) && env > 0 ? env : 2000));
}

/** Apparent size of a tree (regular file sizes and symlink lengths), for junk. */
function treeBytes(p: string): number {
  let total = 0;
  const stack = [p];
  while (stack.length) {
    const q = stack.pop()!;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(q);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      try {
        for (const d of fs.readdirSync(q)) stack.push(path.join(q, d));
      } catch {
        /* unreadable: count what we can */
      }
    } else total += st.size;
  }
  return total;
}

/** The liveness state of one collection: the graph, the marks, and the roots seen so far. */
export class Collector {
  readonly g: StoreGraph;
  readonly live: Uint8Array;
  private readonly knownTargets = new Set<string>();

  constructor(
    readonly store: Store,
    readonly opts: GcOptions,
  ) {
    const roots = findRoots(store, { removeStale: !opts.dryRun });
    this.g = loadGraph(store, opts);
    this.live = new Uint8Array(this.g.size);
    this.markTargets(roots.flatMap((r) => r.targets));
  }

  private markTargets(targets: Iterable<string>): void {
    const from: number[] = [];
    for (const t of targets) {
      if (this.knownTargets.has(t)) continue;
      this.knownTargets.add(t);
      const i = this.g.index.get(t);
      if (i !== undefined) from.push(i);
    }
    if (from.length) markReachable(this.g, from, this.live);
  }

  /** Count of live paths. */
  aliveCount(): number {
    let n = 0;
    for (let i = 0; i < this.g.size; i++) n += this.live[i];
    return n;
  }

  /** Dead paths (or the dead among `only`), as components in deletion order. */
  plan(only?: Uint8Array): number[][] {
    const members = new Uint8Array(this.g.size);
    for (let i = 0; i < this.g.size; i++) members[i] = !this.live[i] && (!only || only[i]) ? 1 : 0;
    return deletionOrder(this.g, members);
  }

  /** Paths of `paths` that a live process holds a temporary root or a build lock on. */
  private heldByLiveProcess(paths: string[]): Set<string> {
    const held = new Set<string>();
    if (paths.length === 0) return held;
    const wanted = new Set(paths);
    for (const b of tempRootBatches(this.store)) {
      if (!isAlive({ pid: b.pid, start: b.start })) continue;
      let rooted = this.tempRootCache.get(b.id);
      if (!rooted) this.tempRootCache.set(b.id, (rooted = tempRootPaths(b)));
      for (const p of rooted) if (wanted.has(p)) held.add(p);
    }
    for (const r of this.store.pathLockRows(paths)) if (isAlive({ pid: r.pid, start: r.procStart })) held.add(r.path);
    return held;
  }

  /** Batches of temporary roots never change once written: each is split into paths once. */
  private readonly tempRootCache = new Map<number, string[]>();

  /**
   * Step 1 for one batch, in one write transaction: re-check, then invalidate. Returns the
   * indices whose rows were deleted; the others of the batch are now marked live.
   */
  invalidate(batch: number[]): number[] {
    const g = this.g;
    return this.store.withWriteLock(() => {
      // Roots made since the start (temporary ones included) and what they reach.
      this.markTargets(findRoots(this.store).flatMap((r) => r.targets));
      const pending = batch.filter((i) => !this.live[i]);
      if (pending.length === 0) return [];
      // Build locks of live processes (PathLocks rows of the batch; temporary roots were read above).
      const held = this.heldByLiveProcess(pending.map((i) => g.paths[i]));
      const keep: number[] = pending.filter((i) => held.has(g.paths[i]));
      // A referrer outside the batch (registered since the start, or kept): keep the reference.
      const inBatch = new Set(pending.map((i) => g.rowIds[i]));
      const indexOfRow = new Map(pending.map((i) => [g.rowIds[i], i]));
      for (const { reference, referrer } of this.store.referrersOfRows([...inBatch])) {
        if (referrer !== reference && !inBatch.has(referrer)) keep.push(indexOfRow.get(reference)!);
      }
      if (keep.length) markReachable(g, keep, this.live);
      const doomed = pending.filter((i) => !this.live[i]);
      if (doomed.length === 0) return [];
      this.store.invalidateRows(doomed.map((i) => g.rowIds[i]));
      return doomed;
    });
  }

  /**
   * Step 2, in one write transaction: remove the files of invalidated paths (or junk entries),
   * unless something needs them again. A file or symlink is unlinked at once; a directory is
   * renamed to a temporary name, which the caller removes after the transaction.
   * Returns the paths whose files went, and the temporary names still to remove.
   */
  removeFiles(paths: string[], junk = false): { removed: string[]; aside: string[] } {
    return this.store.withWriteLock(() => {
      const valid = this.store.validPaths(paths);
      const held = this.heldByLiveProcess(paths);
      const removed: string[] = [];
      const aside: string[] = [];
      for (const p of paths) {
        if (valid.has(p) || held.has(p)) continue;
        if (junk) {
          const m = TEMP_NAME.exec(path.basename(p));
          if (m && processStart(Number(m[1])) !== undefined) continue; // being written by a live process
        }
        let st: fs.Stats;
        try {
          st = fs.lstatSync(p);
        } catch {
          continue; // already gone
        }
        if (st.isDirectory()) {
          const tmp = this.store.tempPath('gc');
          fs.renameSync(p, tmp);
          aside.push(tmp);
        } else {
          fs.unlinkSync(p);
        }
        removed.push(p);
      }
      return { removed, aside };
    });
  }

  /** Entries of the store directory that are not valid paths and no live process is writing. */
  junkCandidates(deleted: ReadonlySet<string>): string[] {
    const g = this.g;
    const out: string[] = [];
    const prefix = this.store.storeDir + '/';
    for (const name of fs.readdirSync(this.store.storeDir)) {
      if (name === '.links') continue; // reserved for `store optimise`
      const p = prefix + name;
      const i = g.index.get(p);
      if (i !== undefined && !deleted.has(p)) continue; // valid (and we hold the GC lock)
      out.push(p);
    }
    if (out.length === 0) return out;
    // Read-only checks (the move re-checks under the write lock).
    const valid = this.store.validPaths(out);
    const held = this.heldByLiveProcess(out);
    return out.filter((p) => {
      if (valid.has(p) || held.has(p)) return false;
      const m = TEMP_NAME.exec(path.basename(p));
      return !(m && processStart(Number(m[1])) !== undefined);
    });
  }
}

/** Remove dead PathLocks and TempRoots rows. */
function cleanStaleRows(store: Store): { staleLocks: number; staleTempRoots: number } {
  let staleLocks = 0;
  let staleTempRoots = 0;
  const deadLocks = store.pathLockRows().filter((l) => l.path !== GC_LOCK_KEY && !isAlive({ pid: l.pid, start: l.procStart }));
  const deadOwners = tempRootOwners(store).dead;
  if (deadLocks.length || deadOwners.length) {
    const removed = store.removeDeadProcessRows(deadLocks, deadOwners);
    staleLocks = removed.locks;
    deadOwners.forEach((o, k) => {
      if (removed.owners[k]) staleTempRoots += o.paths;
    });
  }
  return { staleLocks, staleTempRoots };
}

function emptyResult(dryRun: boolean): GcResult {
  return { dryRun, valid: 0, alive: 0, deleted: [], bytesFreed: 0, kept: [], junk: [], junkBytes: 0, leftovers: [], leftoverBytes: 0, staleLocks: 0, staleTempRoots: 0, unusedLinks: 0, unusedLinkBytes: 0 };
}

/** Delete components in order, in batches, until done or `maxFreed` is reached. */
function sweep(c: Collector, components: number[][], opts: GcOptions, result: GcResult): Set<string> {
  const g = c.g;
  const max = opts.maxFreed ?? Infinity;
  const size = batchSizeOf(opts);
  const total = components.reduce((n, s) => n + s.length, 0);
  const deletedPaths = new Set<string>();
  let next = 0;
  while (next < components.length && result.bytesFreed < max) {
    const batch: number[] = [];
    let planned = result.bytesFreed;
    while (next < components.length && batch.length < size && planned < max) {
      for (const i of components[next++]) {
        batch.push(i);
        planned += g.narSize[i];
      }
    }
    opts.beforeBatch?.(batch.map((i) => g.paths[i]));
    const doomed = c.invalidate(batch);
    const gone = new Set(doomed);
    for (const i of batch) if (!gone.has(i)) result.kept.push(g.paths[i]);
    if (doomed.length === 0) continue;
    for (const i of doomed) {
      result.deleted.push({ path: g.paths[i], narSize: g.narSize[i] });
      result.bytesFreed += g.narSize[i];
      deletedPaths.add(g.paths[i]);
    }
    for (const tmp of c.removeFiles(doomed.map((i) => g.paths[i])).aside) removeTree(tmp);
    opts.onProgress?.(result.deleted.length, total, result.bytesFreed);
  }
  return deletedPaths;
}

function removeJunk(c: Collector, deleted: ReadonlySet<string>, result: GcResult, dryRun: boolean): void {
  const candidates = c.junkCandidates(deleted);
  if (dryRun) {
    for (const p of candidates) result.junk.push({ path: p, bytes: treeBytes(p) });
  } else {
    const sizes = new Map(candidates.map((p) => [p, treeBytes(p)]));
    const { removed, aside } = c.removeFiles(candidates, true);
    for (const tmp of aside) removeTree(tmp);
    for (const p of removed) result.junk.push({ path: p, bytes: sizes.get(p) ?? 0 });
  }
  result.junkBytes = result.junk.reduce((n, j) => n + j.bytes, 0);
}

/**
 * Build directories and staging files whose owner (named in them, src/store/process.ts) is
 * gone: a killed build's or push's. They are not store paths, so they go first, with no
 * database write (on a full disk they may be what fills it). Directories kept by --keep-failed
 * carry no owner and stay.
 */
function removeLeftovers(store: Store, result: GcResult, dryRun: boolean): void {
  for (const dir of [store.layout.buildsDir, store.layout.tmpDir]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const owner = ownerOf(name);
      if (!owner || isAlive(owner)) continue;
      const p = path.join(dir, name);
      const bytes = treeBytes(p);
      if (!dryRun) removeTree(p);
      result.leftovers.push({ path: p, bytes });
      result.leftoverBytes += bytes;
    }
  }
}

/** `store gc`: delete every valid path that no root keeps alive, and the junk. */
export async function collectGarbage(store: Store, opts: GcOptions = {}): Promise<GcResult> {
  // A lost database would make every object look dead (Invariant 6).
  store.assertDatabaseIntact(opts.dryRun ? 'plan a garbage collection' : 'collect garbage');
  return withGcLock(
    store,
    () => {
      store.assertDatabaseIntact(opts.dryRun ? 'plan a garbage collection' : 'collect garbage');
      const result = emptyResult(Boolean(opts.dryRun));
      removeLeftovers(store, result, Boolean(opts.dryRun));
      if (!opts.dryRun) Object.assign(result, cleanStaleRows(store));
      const c = new Collector(store, opts);
      result.valid = c.g.size;
      result.alive = c.aliveCount();
      const components = c.plan();
      let deleted = new Set<string>();
      if (opts.dryRun) {
        const max = opts.maxFreed ?? Infinity;
        for (const scc of components) {
          if (result.bytesFreed >= max) break;
          for (const i of scc) {
            result.deleted.push({ path: c.g.paths[i], narSize: c.g.narSize[i] });
            result.bytesFreed += c.g.narSize[i];
          }
        }
      } else {
        deleted = sweep(c, components, opts, result);
      }
      removeJunk(c, deleted, result, Boolean(opts.dryRun));
      if (!opts.dryRun) {
        const links = removeUnusedLinks(store);
        result.unusedLinks = links.removed;
        result.unusedLinkBytes = links.bytes;
      }
      return result;
    },
    opts.onWait,
    !opts.dryRun,
  );
}

export interface DeleteOptions extends GraphOptions {
  /** Also delete the (dead) paths that refer to the given ones. */
  alsoReferrers?: boolean;
  dryRun?: boolean;
  onWait?: (holder: number) => void;
}

/**
 * `store delete`: remove the given paths if nothing live needs them. A live path is refused,
 * naming the root that keeps it (as `store why` does); a path that dead paths still refer to
 * is refused unless `alsoReferrers`.
 */
export async function deletePaths(store: Store, paths: readonly string[], opts: DeleteOptions = {}): Promise<GcResult> {
  store.assertDatabaseIntact('delete store paths');
  return withGcLock(
    store,
    () => {
      store.assertDatabaseIntact('delete store paths');
      const c = new Collector(store, opts);
      const g = c.g;
      const want = new Uint8Array(g.size);
      const alive: Explanation[] = [];
      for (const p of paths) {
        const i = g.index.get(p);
        if (i === undefined) throw new StoreError('NOT_VALID', `path '${p}' is not valid in the store`, { hint: 'nothing to delete' });
        if (c.live[i]) alive.push(explain(store, p, { graph: g }));
        want[i] = 1;
      }
      if (alive.length) {
        const e = alive[0];
        const why = e.chains.length
          ? e.chains
              .slice(0, 3)
              .map((ch) => `  kept by ${ch.root.kind} ${ch.root.name}:\n${ch.chain.map((q) => `    ${q}`).join('\n')}`)
              .join('\n')
          : '';
        throw new StoreError('STILL_REFERENCED', `cannot delete '${e.path}': it is still alive\n${why}`, {
          hint: `remove the root first (see 'store why ${e.path}')${alive.length > 1 ? `; ${alive.length - 1} more of the given paths are alive too` : ''}`,
        });
      }
      // Dead referrers: deleted too, or in the way.
      const stack = [...paths].map((p) => g.index.get(p)!);
      while (stack.length) {
        const i = stack.pop()!;
        for (let k = g.referrers.start[i]; k < g.referrers.start[i + 1]; k++) {
          const r = g.referrers.list[k];
          if (want[r]) continue;
          if (!opts.alsoReferrers) {
            throw new StoreError('STILL_REFERENCED', `cannot delete '${g.paths[i]}': '${g.paths[r]}' refers to it`, {
              hint: `nothing live needs either; delete both, or pass --also-referrers`,
            });
          }
          want[r] = 1;
          stack.push(r);
        }
      }
      const result = emptyResult(Boolean(opts.dryRun));
      result.valid = g.size;
      result.alive = c.aliveCount();
      const components = c.plan(want);
      if (opts.dryRun) {
        for (const scc of components) for (const i of scc) result.deleted.push({ path: g.paths[i], narSize: g.narSize[i] });
        result.bytesFreed = result.deleted.reduce((n, d) => n + d.narSize, 0);
        return result;
      }
      sweep(c, components, {}, result);
      const links = removeUnusedLinks(store);
      result.unusedLinks = links.removed;
      result.unusedLinkBytes = links.bytes;
      if (result.kept.length) {
        throw new StoreError('STILL_REFERENCED', `cannot delete '${result.kept[0]}': it became alive while being deleted${result.deleted.length ? ` (${result.deleted.length} other paths were deleted)` : ''}`, {
          hint: `see 'store why ${result.kept[0]}'`,
        });
      }
      return result;
    },
    opts.onWait,
    !opts.dryRun,
  );
}
