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

export type ToThread = { type: 'pack'; id: number; fd: number; job: ArchiveJob };

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
  try {
    await new Promise<void>((resolve, reject) => {
      let left = jobs.length;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const next = (w: Worker) => {
        const id = queue.shift();
        if (id !== undefined) w.postMessage({ type: 'pack', id, fd, job: jobs[id] } satisfies ToThread);
      };
      if (left === 0) return resolve();
      for (let i = 0; i < Math.min(threads, jobs.length); i++) {
        const w = new Worker(new URL('./export-worker.js', import.meta.url));
        workers.push(w);
        w.on('message', (m: FromThread) => {
          if (failed) return;
          if (m.type === 'progress') onBytes?.(m.bytes);
          else if (m.type === 'error') fail(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
          else {
            results[m.id] = { narHash: m.narHash, size: m.size };
            onPath?.();
            if (--left === 0) resolve();
            else next(w);
          }
        });
        w.on('error', fail);
        w.on('exit', (code) => fail(new Error(`an export thread stopped (exit code ${code})`)));
        next(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
