/**
 * `store optimise`: identical files of different store paths become hard links to one inode,
 * as Nix's `nix-store --optimise`. Each distinct file is kept once in `<store>/.links/`, named
 * by its sha256 (and `-x` when executable, since the mode belongs to the inode); a file whose
 * twin is there is replaced, by an atomic rename, with a link to it. Only files that are
 * canonical (mode 0444 or 0555, mtime 1) are linked, so the shared inode is canonical too, and
 * the contents are compared byte for byte before linking: a name is never trusted alone.
 * Files with no link left but the one in `.links` are removed by `store gc`
 * (removeUnusedLinks).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { canonicalMode, MODE_DIRECTORY, STORE_MTIME } from '../archive/canonical.js';
import { listTree } from '../archive/walk.js';
import { nix32Encode } from '../hash/nix32.js';
import type { Store } from './store.js';

export const LINKS_DIR = '.links';
const CHUNK = 1 << 20;

export interface OptimiseReport {
  /** Store paths looked at. */
  paths: number;
  /** Regular, non-empty files looked at. */
  files: number;
  /** Files replaced by a link to their twin in .links. */
  linked: number;
  /** Bytes whose last other link went: what the file system got back. */
  bytesSaved: number;
  /** Files left alone, and why (not canonical, a .links entry that does not hold what its name says). */
  skipped: Array<{ file: string; reason: string }>;
}

export function linksDir(store: Store): string {
  return path.join(store.storeDir, LINKS_DIR);
}

function sha256File(file: string): Buffer {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let n; (n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest();
}

/** Whether two files hold the same bytes (read side by side; sizes checked by the caller). */
export function sameContents(a: string, b: string): boolean {
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  try {
    const ba = Buffer.allocUnsafe(CHUNK);
    const bb = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const na = fs.readSync(fa, ba, 0, CHUNK, null);
      const nb = fs.readSync(fb, bb, 0, CHUNK, null);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (!ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

function isCanonical(st: fs.Stats, executable: boolean): boolean {
  return (st.mode & 0o7777) === canonicalMode('file', executable) && Math.floor(st.mtimeMs / 1000) === STORE_MTIME;
}

/** Replace `file` by a hard link to `target`, atomically (a link under a temporary name, renamed over it). */
function replaceWithLink(file: string, target: string, storeDir: string): void {
  const dir = path.dirname(file);
  const inObject = dir !== storeDir;
  // Directories of store objects are read-only (0555) and have mtime 1: both are put back.
  if (inObject) fs.chmodSync(dir, 0o755);
  const temp = path.join(dir, `.tmp-optimise-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    fs.linkSync(target, temp);
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
    if (inObject) {
      fs.chmodSync(dir, MODE_DIRECTORY);
      fs.lutimesSync(dir, STORE_MTIME, STORE_MTIME);
    }
  }
}

/**
 * Link identical files across `paths` (default: every valid path). The caller holds the
 * collector's lock, so no path is deleted meanwhile.
 */
export function optimiseStore(store: Store, opts: { paths?: readonly string[]; onProgress?: (done: number, total: number) => void } = {}): OptimiseReport {
  const links = linksDir(store);
  fs.mkdirSync(links, { recursive: true, mode: 0o755 });
  // Inodes already in .links: a file that is one of them needs no hashing.
  const linked = new Set<number>();
  for (const name of fs.readdirSync(links)) {
    try {
      linked.add(fs.lstatSync(path.join(links, name)).ino);
    } catch {
      /* removed meanwhile */
    }
  }
  const paths = opts.paths ?? store.allValidPaths();
  const report: OptimiseReport = { paths: 0, files: 0, linked: 0, bytesSaved: 0, skipped: [] };
  for (const p of paths) {
    let entries;
    try {
      entries = listTree(p);
    } catch (e) {
      report.skipped.push({ file: p, reason: `cannot be read: ${(e as Error).message}` });
      continue;
    }
    report.paths++;
    for (const e of entries) {
      if (e.type !== 'file' || e.size === 0) continue;
      report.files++;
      const st = fs.lstatSync(e.abs);
      if (linked.has(st.ino)) continue;
      if (!isCanonical(st, e.executable)) {
        report.skipped.push({ file: e.abs, reason: `not canonical (mode ${(st.mode & 0o7777).toString(8)}, mtime ${Math.floor(st.mtimeMs / 1000)})` });
        continue;
      }
      const key = nix32Encode(sha256File(e.abs)) + (e.executable ? '-x' : '');
      const twin = path.join(links, key);
      try {
        fs.linkSync(e.abs, twin);
        linked.add(st.ino);
        continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const tw = fs.lstatSync(twin);
      if (tw.ino === st.ino) continue;
      const same = tw.isFile() && tw.mode === st.mode && tw.size === st.size && Math.floor(tw.mtimeMs / 1000) === STORE_MTIME && sameContents(e.abs, twin);
      if (!same) {
        if (tw.nlink <= 1) {
          // No store file shares it: a damaged entry that nothing uses. This file takes its place.
          fs.rmSync(twin, { force: true });
          fs.linkSync(e.abs, twin);
          linked.add(st.ino);
        } else {
          report.skipped.push({ file: e.abs, reason: `${twin} does not hold the contents its name says (damaged?); run 'store verify --check-contents'` });
        }
        continue;
      }
      replaceWithLink(e.abs, twin, store.storeDir);
      report.linked++;
      // The old inode is gone once this was its only name.
      if (st.nlink === 1) report.bytesSaved += st.size;
    }
    opts.onProgress?.(report.paths, paths.length);
  }
  return report;
}

/** Remove the files of .links that no store file shares any more; returns how many and their bytes. */
export function removeUnusedLinks(store: Store): { removed: number; bytes: number } {
  const links = linksDir(store);
  let names: string[];
  try {
    names = fs.readdirSync(links);
  } catch {
    return { removed: 0, bytes: 0 };
  }
  let removed = 0;
  let bytes = 0;
  for (const name of names) {
    const p = path.join(links, name);
    try {
      const st = fs.lstatSync(p);
      if (st.nlink > 1) continue;
      fs.unlinkSync(p);
      removed++;
      bytes += st.size;
    } catch {
      /* gone meanwhile */
    }
  }
  return { removed, bytes };
}

/** Whether a store path has a file that shares its inode with another name (after `store optimise`). */
export function sharesFiles(p: string): boolean {
  try {
    return listTree(p).some((e) => e.type === 'file' && (e.links ?? 1) > 1);
  } catch {
    return false;
  }
}
