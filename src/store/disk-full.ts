/**
 * A full file system, wherever it is met: an ENOSPC or EDQUOT from a file operation, a
 * SQLITE_FULL from the database, possibly wrapped by the layers above. main.ts maps any error
 * through diskFullError() once, so no command checks for it itself; the builder adds
 * diskFullNote() to a build that failed while the disk was full (its builder only says so in
 * its log).
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { GC_RESERVE_FILE } from './reserve.js';

// SQLITE_IOERR_SHMSIZE: opening the database could not extend its shared-memory index (-shm).
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', 'SQLITE_IOERR_SHMSIZE']);
const FULL_TEXT = /\bENOSPC\b|\bEDQUOT\b|No space left on device|Disk quota exceeded|database or disk is full/;
/** Below this much free space after a failed build, the build probably failed for want of it. */
const NEARLY_FULL = 1 << 20;

/** Whether `err`, or an error it wraps (`cause`), says that a file system is full. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && FULL_CODES.has(code)) return true;
    if (typeof (e as Error).message === 'string' && FULL_TEXT.test((e as Error).message)) return true;
  }
  return false;
}

/** The file a full-disk error names (fs errors carry `path`), if any. */
function pathOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const p = (e as { path?: unknown }).path;
    if (typeof p === 'string' && path.isAbsolute(p)) return p;
  }
  return undefined;
}

/** The mount point of the file system holding `p` (from /proc/self/mountinfo), or undefined. */
export function mountPointOf(p: string): string | undefined {
  let real = path.resolve(p);
  for (;;) {
    try {
      real = fs.realpathSync(real);
      break;
    } catch {
      const up = path.dirname(real);
      if (up === real) break;
      real = up;
    }
  }
  let best: string | undefined;
  try {
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const field = line.split(' ')[4];
      if (!field) continue;
      const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      if ((real === mp || real.startsWith(mp.endsWith('/') ? mp : mp + '/')) && (!best || mp.length > best.length)) best = mp;
    }
  } catch {
    /* no /proc: name the directory instead */
  }
  return best;
}

function freeBytes(p: string): number | undefined {
  for (let q = path.resolve(p); ; q = path.dirname(q)) {
    try {
      const st = fs.statfsSync(q);
      return st.bavail * st.bsize;
    } catch {
      if (path.dirname(q) === q) return undefined;
    }
  }
}

function describe(where: string, storeRoot: string): string {
  const mp = mountPointOf(where);
  const free = freeBytes(where);
  const fsName = mp ? `the file system mounted at ${mp}` : `the file system holding ${where}`;
  const holds = where.startsWith(storeRoot + '/') || where === storeRoot ? `the store ${storeRoot}` : where;
  return `no space left on ${fsName} (holding ${holds}${free !== undefined ? `; ${free} bytes free now` : ''})`;
}

function hintFor(where: string, storeRoot: string): string {
  const mp = mountPointOf(where);
  const onStore = mountPointOf(storeRoot) === mp;
  const gc = `run 'store gc' (it works on a full disk: it first deletes the space kept for it in var/${GC_RESERVE_FILE}), remove old profile generations ('store profile delete-older-than 30d') and releases you no longer need, then collect again`;
  return onStore ? `free space on ${mp ?? where}: ${gc}; or delete other files there` : `free space on ${mp ?? where} (it is not the store's file system)`;
}

/**
 * `err` as a DISK_FULL StoreError that names the file system and says what to free, if it is
 * a full-disk error; otherwise `err` itself. A StoreError keeps its exit code (a build that
 * failed for want of space still exits 100).
 */
export function diskFullError(err: unknown, storeRoot: string): unknown {
  if (!isDiskFull(err) || (err instanceof StoreError && err.code === 'DISK_FULL')) return err;
  const where = pathOf(err) ?? storeRoot;
  const what = (err as Error)?.message ?? String(err);
  return new StoreError('DISK_FULL', `${describe(where, storeRoot)}: ${what}`, {
    hint: hintFor(where, storeRoot),
    cause: err,
    exitCode: err instanceof StoreError ? err.exitCode : 1,
  });
}

/**
 * For a build that failed: a line saying that the file system of `dir` is (nearly) full, and
 * the hint to give, or undefined when there is room.
 */
export function diskFullNote(dir: string, storeRoot: string): { note: string; hint: string } | undefined {
  const free = freeBytes(dir);
  if (free === undefined || free >= NEARLY_FULL) return undefined;
  return { note: `note: ${describe(dir, storeRoot)}: the build may have failed for want of space`, hint: hintFor(dir, storeRoot) };
}
