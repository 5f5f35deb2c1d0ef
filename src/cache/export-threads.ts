/**
 * Writing a bundle's archives on several threads. In a bundle every archive's place is known
 * before any is written (each is preceded by its metadata and its length, narSize, from the
 * database), so when the bundle is a regular file each thread packs, hashes and writes whole
 * store paths at their own offsets, at the same time: the work that bounds an export (sha256
 * over every byte, as the archive is checked against the database) is spread over the cores,
 * and the file is byte for byte the one a single thread writes in order.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** A store path's archive, to write at `offset` of the file open as `fd`, `narSize` bytes long. */
export interface ArchiveJob {
  path: string;
  offset: number;
  narSize: number;
}

export type ToThread = { type: 'pack'; id: number; fd: number; job: ArchiveJob } | { type: 'stop' };

export type FromThread =
  | { type: 'progress'; id: number; bytes: number }
  | { type: 'done'; id: number; narHash: string; size: number }
  | { type: 'error'; id: number; message: string; code?: string };

/** What a thread found: the archive's hash and size (written only up to narSize). */
export interface Packed {
  narHash: string;
  size: number;
}

/** How many threads an export of `paths` archives of `bytes` in all is worth. */
export function exportThreads(paths: number, bytes: number): number {
  if (paths < 2 || bytes < 64 << 20) return 0;
  return Math.min(paths, Math.max(1, os.availableParallelism()), 4);
}

/**
 * Pack every job's path at its offset of `fd` on `threads` threads, largest first; resolves with
 * each path's hash and size in the order of `jobs`. The first failure (a write error such as
 * ENOSPC, an unreadable path, a thread that stops) stops the rest and is thrown.
 */
export async function packArchives(fd: number, jobs: readonly ArchiveJob[], threads: number, onBytes?: (bytes: number) => void, onPath?: () => void): Promise<Packed[]> {
  const results: Packed[] = new Array(jobs.length);
  const queue = jobs.map((_, i) => i).sort((a, b) => jobs[b].narSize - jobs[a].narSize || a - b);
  const workers: Worker[] = [];
  let failure: Error | undefined;
  await new Promise<void>((resolve) => {
    /** Threads still working on a path (a thread answers once its writes have all ended). */
    const busy = new Set<Worker>();
    const settle = () => {
      if (busy.size === 0 && (failure || queue.length === 0)) resolve();
    };
    const fail = (e: Error) => {
      if (!failure) {
        failure = e;
        // The others stop at their next chunk; they answer once their writes are over.
        for (const w of busy) w.postMessage({ type: 'stop' } satisfies ToThread);
      }
      settle();
    };
    const next = (w: Worker) => {
      const id = failure ? undefined : queue.shift();
      if (id === undefined) return;
      busy.add(w);
      w.postMessage({ type: 'pack', id, fd, job: jobs[id] } satisfies ToThread);
    };
    for (let i = 0; i < Math.min(threads, jobs.length); i++) {
      const w = new Worker(new URL('./export-worker.js', import.meta.url));
      workers.push(w);
      w.on('message', (m: FromThread) => {
        if (m.type === 'progress') {
          if (!failure) onBytes?.(m.bytes);
          return;
        }
        busy.delete(w);
        if (m.type === 'error') return fail(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
        results[m.id] = { narHash: m.narHash, size: m.size };
        if (!failure) onPath?.();
        next(w);
        settle();
      });
      // A thread that dies has no writes of its own left to wait for (its descriptor stays
      // open, so none can land elsewhere).
      const lost = (e: Error) => {
        busy.delete(w);
        fail(e);
      };
      w.on('error', lost);
      w.on('exit', (code) => lost(new Error(`an export thread stopped (exit code ${code})`)));
      next(w);
    }
    settle();
  });
  await Promise.all(workers.map((w) => w.removeAllListeners('exit').terminate()));
  if (failure) throw failure;
  return results;
}
