/** A thread of DecompressThreads (./decompress-threads.ts): decompresses the ranges it is sent, one at a time, and answers each (data, then an end or an error). */
import { parentPort } from 'node:worker_threads';
import { decompressedRange, DecompressError } from './decompress.js';
import { WINDOW, type FromThread, type ToThread } from './decompress-threads.js';

const port = parentPort!;

interface Job {
  start: Extract<ToThread, { type: 'start' }>;
  /** Bytes sent and not yet acknowledged. */
  unacked: number;
  cancelled: boolean;
  /** Called when an acknowledgement or a cancellation arrives. */
  wake?: () => void;
}

const jobs = new Map<number, Job>();
const queue: Job[] = [];
let running = false;

async function run(job: Job): Promise<void> {
  const { id, file, offset, size, compression } = job.start;
  if (job.cancelled) return;
  try {
    const source = await decompressedRange(file, offset, size, compression);
    try {
      for await (const c of source as AsyncIterable<Uint8Array>) {
        if (job.cancelled) return;
        // A copy this thread owns, handed over without another copy.
        const chunk = new Uint8Array(c).buffer as ArrayBuffer;
        job.unacked += chunk.byteLength;
        port.postMessage({ type: 'data', id, chunk } satisfies FromThread, [chunk]);
        while (job.unacked > WINDOW && !job.cancelled) await new Promise<void>((r) => (job.wake = r));
      }
    } finally {
      source.destroy();
    }
    if (!job.cancelled) port.postMessage({ type: 'end', id } satisfies FromThread);
  } catch (e) {
    if (!job.cancelled) port.postMessage({ type: 'error', id, message: e instanceof Error ? e.message : String(e), decoder: e instanceof DecompressError } satisfies FromThread);
  }
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (let job = queue.shift(); job; job = queue.shift()) {
      await run(job);
      jobs.delete(job.start.id);
      // A cancelled job is answered too, so that the thread is known to be free.
      if (job.cancelled) port.postMessage({ type: 'end', id: job.start.id } satisfies FromThread);
    }
  } finally {
    running = false;
  }
}

port.on('message', (m: ToThread) => {
  if (m.type === 'start') {
    const job: Job = { start: m, unacked: 0, cancelled: false };
    jobs.set(m.id, job);
    queue.push(job);
    void drain();
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'ack') job.unacked -= m.bytes;
  else job.cancelled = true;
  job.wake?.();
  job.wake = undefined;
});
