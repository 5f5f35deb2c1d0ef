/**
 * GC roots: everything that keeps store paths alive.
 *
 * - out-links: `./result` made by `store realize` is an indirect root, registered as
 *   `var/gcroots/auto/<hash>` → the link, so that moving or deleting the link is noticed (as in
 *   Nix). An auto entry whose link is gone or no longer points into the store is stale.
 * - gcroots: any other symlink under `var/gcroots/**`: into the store it is a direct root;
 *   elsewhere it is followed one level.
 * - profiles: generation links `var/profiles/**` `/<name>-N-link` → store path.
 * - releases: the ReleaseOutputs table.
 * - temporary roots: TempRoots rows of live processes (a realize or import in progress).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { StoreError } from '../errors.js';
import type { StoreLayout } from '../store/root.js';
import type { Store, TempRootBatch } from '../store/store.js';
import { toStorePath } from '../store/path.js';
import { isAlive } from '../store/process.js';

export type RootKind = 'out-link' | 'gcroot' | 'profile' | 'release' | 'temp';

export interface Root {
  kind: RootKind;
  /** What keeps the paths alive: the link, the profile generation link, the release name, or `pid N`. */
  name: string;
  /** The store paths it keeps alive directly. */
  targets: string[];
  /** When it was made (seconds since the epoch): the link's mtime, the release's creation. */
  time?: number;
  /** A release's deprecation time. */
  deprecated?: number;
}

/** Point `link` at `target` atomically (a new symlink renamed over the old one). */
export function replaceSymlink(target: string, link: string): void {
  const tmp = `${link}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

/** Make `link` point at `storePath` and register it as an indirect root. */
export function addOutLink(layout: StoreLayout, link: string, storePath: string): void {
  const abs = path.resolve(link);
  if (abs.startsWith(layout.storeDir + '/')) throw new StoreError('USAGE', `cannot put an out-link inside the store: ${abs}`);
  try {
    const st = fs.lstatSync(abs);
    if (!st.isSymbolicLink()) throw new StoreError('USAGE', `'${abs}' exists and is not a symlink; not replacing it with an out-link`, { hint: 'use --out-link PATH or remove it' });
  } catch (e) {
    if (e instanceof StoreError) throw e;
  }
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  replaceSymlink(storePath, abs);
  const auto = path.join(layout.gcRootsDir, 'auto');
  fs.mkdirSync(auto, { recursive: true });
  const name = createHash('sha256').update(abs).digest('hex').slice(0, 32);
  replaceSymlink(abs, path.join(auto, name));
}

function inStore(storeDir: string, p: string): boolean {
  return p.startsWith(storeDir + '/') && p.length > storeDir.length + 1;
}

function mtimeOf(p: string): number | undefined {
  try {
    return Math.floor(fs.lstatSync(p).mtimeMs / 1000);
  } catch {
    return undefined;
  }
}

function readLinkAbs(link: string): string | undefined {
  try {
    return path.resolve(path.dirname(link), fs.readlinkSync(link));
  } catch {
    return undefined;
  }
}

/** Symlinks below `dir` (recursively; symlinked directories are not followed). */
function symlinksUnder(dir: string, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const d of entries) {
    const p = path.join(dir, d.name);
    if (d.isSymbolicLink()) out.push(p);
    else if (d.isDirectory()) symlinksUnder(p, out);
  }
  return out;
}

export interface FindRootsOptions {
  /** Remove stale `gcroots/auto` entries (the collector does; reports do not). */
  removeStale?: boolean;
  /** Include temporary roots of live processes (default true). */
  temp?: boolean;
}

/** Roots on the file system: out-links, other gcroots, profile generations. */
export function fileRoots(layout: StoreLayout, opts: FindRootsOptions = {}): Root[] {
  const roots: Root[] = [];
  const auto = path.join(layout.gcRootsDir, 'auto') + '/';
  for (const link of symlinksUnder(layout.gcRootsDir)) {
    const target = readLinkAbs(link);
    if (target === undefined) continue;
    if (inStore(layout.storeDir, target)) {
      roots.push({ kind: 'gcroot', name: link, targets: [toStorePath(target, layout.storeDir)], time: mtimeOf(link) });
      continue;
    }
    // Indirect: follow one level.
    const second = readLinkAbs(target);
    if (second !== undefined && inStore(layout.storeDir, second)) {
      roots.push({ kind: link.startsWith(auto) ? 'out-link' : 'gcroot', name: target, targets: [toStorePath(second, layout.storeDir)], time: mtimeOf(target) });
    } else if (opts.removeStale && link.startsWith(auto)) {
      fs.rmSync(link, { force: true });
    }
  }
  for (const link of symlinksUnder(layout.profilesDir)) {
    const target = readLinkAbs(link);
    if (target !== undefined && inStore(layout.storeDir, target)) {
      roots.push({ kind: 'profile', name: link, targets: [toStorePath(target, layout.storeDir)], time: mtimeOf(link) });
    }
  }
  return roots;
}

export function releaseRoots(store: Store): Root[] {
  const rows = store.releaseRootRows();
  const byName = new Map<string, Root>();
  for (const [name, created, deprecated, p] of rows) {
    let r = byName.get(name);
    if (!r) byName.set(name, (r = { kind: 'release', name, targets: [], time: created, ...(deprecated !== null ? { deprecated } : {}) }));
    r.targets.push(p);
  }
  return [...byName.values()];
}

export type { TempRootBatch };

/** Every batch of temporary roots (store-schema/004), whether its owner still runs or not. */
export function tempRootBatches(store: Store): TempRootBatch[] {
  return store.tempRootBatches();
}

export function tempRootPaths(batch: TempRootBatch): string[] {
  return batch.paths === '' ? [] : batch.paths.split('\n');
}

/** Temporary roots grouped by owner, split into live and dead owners (with how many paths each held). */
export function tempRootOwners(store: Store): { live: Root[]; dead: Array<{ pid: number; start: string; paths: number }> } {
  const owners = new Map<string, { pid: number; start: string; paths: string[] }>();
  for (const b of tempRootBatches(store)) {
    const key = `${b.pid}:${b.start}`;
    let o = owners.get(key);
    if (!o) owners.set(key, (o = { pid: b.pid, start: b.start, paths: [] }));
    for (const p of tempRootPaths(b)) o.paths.push(p);
  }
  const live: Root[] = [];
  const dead: Array<{ pid: number; start: string; paths: number }> = [];
  for (const o of owners.values()) {
    if (isAlive({ pid: o.pid, start: o.start })) live.push({ kind: 'temp', name: `pid ${o.pid}`, targets: [...new Set(o.paths)] });
    else dead.push({ pid: o.pid, start: o.start, paths: new Set(o.paths).size });
  }
  return { live, dead };
}

/** Every root of the store. */
export function findRoots(store: Store, opts: FindRootsOptions = {}): Root[] {
  const roots = [...fileRoots(store.layout, opts), ...releaseRoots(store)];
  if (opts.temp ?? true) roots.push(...tempRootOwners(store).live);
  return roots;
}
