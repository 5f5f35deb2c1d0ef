/**
 * Restoring the archives of a bundle, which are byte ranges of one file, on several threads at
 * once: reading, hashing and writing each archive is CPU work, and creating files waits on
 * the file system. This thread restores archives too, so one worker fewer is started.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { StoreError, isStoreError, type ErrorCode } from '../errors.js';
import type { NarInfo } from './dump.js';
import { restoreArchiveFromFile } from './restore.js';

export interface RangeToRestore {
  file: string;
  start: number;
  length: number;
  /** Where to restore it; must not exist. */
  dest: string;
}

/** Below this many bytes in all, starting a thread costs more than it saves. */
const MIN_PARALLEL_BYTES = 32 << 20;
const MAX_THREADS = 4;
/** Ranges handed to a worker ahead, so that it need not wait for this (busy) thread. */
const AHEAD = 2;

export type SerialisedError = { message: string; storeCode?: ErrorCode; hint?: string; code?: string; errno?: number; syscall?: string; path?: string };

/** What a worker sends back for one range. */
export type RangeReply = { id: number; narHash: string; narSize: number; digest: Uint8Array } | { id: number; error: SerialisedError };

export function serialiseError(err: unknown): SerialisedError {
  if (isStoreError(err)) return { message: err.message, storeCode: err.code, hint: err.hint };
  const e = err as NodeJS.ErrnoException;
  return { message: e?.message ?? String(err), code: e?.code, errno: e?.errno, syscall: e?.syscall, path: e?.path };
}

/** The error a worker reported, rebuilt on this side (a StoreError keeps its code and hint). */
function rebuildError(e: SerialisedError): Error {
  if (e.storeCode) return new StoreError(e.storeCode, e.message, { hint: e.hint });
  const { message, storeCode: _s, hint: _h, ...props } = e;
  return Object.assign(new Error(message), props);
}

/**
 * Restore every range, on `threads` threads (default: the cores, at most 4, and only this one
 * when the ranges hold less than 32 MiB in all). Resolves once nothing runs any more, with one entry per range, in order:
 * its NarInfo, the Error it failed with, or undefined if it was not started because another
 * had failed. A failed restore removes what it wrote; whatever is at the other `dest`s is the
 * caller's to keep or remove.
 */
export async function restoreRanges(ranges: readonly RangeToRestore[], opts: { threads?: number; onDone?: (index: number) => void } = {}): Promise<Array<NarInfo | Error | undefined>> {
  const results = new Array<NarInfo | Error | undefined>(ranges.length).fill(undefined);
  const total = ranges.reduce((n, r) => n + r.length, 0);
  const threads = Math.min(opts.threads ?? (total < MIN_PARALLEL_BYTES ? 1 : Math.min(os.availableParallelism(), MAX_THREADS)), ranges.length);
  let next = 0;
  let failed = false;
  const here = (i: number) => {
    try {
      results[i] = restoreArchiveFromFile(ranges[i].file, ranges[i].start, ranges[i].length, ranges[i].dest);
      opts.onDone?.(i);
    } catch (e) {
      results[i] = e as Error;
      failed = true;
    }
  };
  if (threads <= 1) {
    while (!failed && next < ranges.length) here(next++);
    return results;
  }
  const workers = Array.from({ length: threads - 1 }, () => new Worker(new URL('./restore-worker.js', import.meta.url)));
  const run = (worker: Worker): Promise<void> =>
    new Promise((resolve) => {
      const held = new Set<number>();
      const top = () => {
        while (!failed && held.size < AHEAD && next < ranges.length) {
          const id = next++;
          held.add(id);
          worker.postMessage({ id, ...ranges[id] });
        }
        if (held.size === 0) resolve();
      };
      worker.on('message', (m: RangeReply) => {
        held.delete(m.id);
        if ('error' in m) {
          results[m.id] = rebuildError(m.error);
          failed = true;
        } else {
          results[m.id] = { narHash: m.narHash, narSize: m.narSize, digest: Buffer.from(m.digest) };
          opts.onDone?.(m.id);
        }
        top();
      });
      const lost = (err: Error) => {
        failed = true;
        // Its first range was being restored; any others were not started.
        const ids = [...held].sort((a, b) => a - b);
        if (ids.length) results[ids[0]] = err;
        held.clear();
        resolve();
      };
      worker.on('error', lost);
      worker.on('exit', (code) => {
        if (held.size) lost(new Error(`a restoring thread stopped (exit code ${code})`));
      });
      top();
    });
  try {
    const running = workers.map(run);
    // This thread takes ranges too, yielding between them so that replies are handled.
    while (!failed && next < ranges.length) {
      here(next++);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(running);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
