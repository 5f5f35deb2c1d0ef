/** A thread of DecompressThreads (./decompress-threads.ts): decompresses the range it is sent, and answers it (data, then an end or an error). */
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

/** Run a job; the thread gets one at a time (DecompressThreads gives work only to a free thread). */
async function take(job: Job): Promise<void> {
  await run(job);
  jobs.delete(job.start.id);
  // A cancelled job is answered too, so that the thread is known to be free.
  if (job.cancelled) port.postMessage({ type: 'end', id: job.start.id } satisfies FromThread);
}

port.on('message', (m: ToThread) => {
  if (m.type === 'start') {
    const job: Job = { start: m, unacked: 0, cancelled: false };
    jobs.set(m.id, job);
    void take(job);
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'ack') job.unacked -= m.bytes;
  else job.cancelled = true;
  job.wake?.();
  job.wake = undefined;
});
