/**
 * A thread of packArchives (./export-threads.ts): packs the store path it is sent, hashes the
 * archive, and writes it at its offset of the bundle, never past narSize bytes (a path that
 * grew is reported by its hash and size, and the bundle is not used). It writes through a
 * descriptor of its own (the bundle opened again), closed only once no write of it is left
 * running, and answers only then: nothing it started can land in another file later, whatever
 * the other side does with its descriptor.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { packPathReusing } from '../archive/dump.js';
import { HashSink } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import type { FromThread, ToThread } from './export-threads.js';

const port = parentPort!;

/** Bytes gathered into one write (of several buffers), and the most that may be in writes not yet finished. */
const BATCH = 1 << 20;
const IN_FLIGHT = 8 << 20;
/** Written bytes are reported in steps of this many (a message costs more than a write). */
const REPORT = 8 << 20;

/** Write `bufs` at `pos`, all of them, with as few calls as the kernel allows. */
function writeAt(fd: number, bufs: Buffer[], pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (rest: Buffer[], at: number) => {
      if (rest.length === 0) return resolve();
      fs.writev(fd, rest, at, (err, n) => {
        if (err) return reject(err);
        // A short write: drop what was written, resume at the first byte that was not.
        let i = 0;
        let left = n;
        while (i < rest.length && left >= rest[i].length) left -= rest[i++].length;
        const next = rest.slice(i);
        if (left > 0) next[0] = next[0].subarray(left);
        step(next, at + n);
      });
    };
    step(bufs, pos);
  });
}

/** Set when the other side asks every thread to stop (another one failed). */
let stopping = false;

async function pack(id: number, bundleFd: number, path: string, offset: number, narSize: number): Promise<void> {
  const hash = new HashSink();
  let pos = offset;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let inFlight = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const writes = new Set<Promise<void>>();
  let unreported = 0;
  const report = (bytes: number, all = false) => {
    unreported += bytes;
    if (unreported > 0 && (all || unreported >= REPORT)) {
      port.postMessage({ type: 'progress', id, bytes: unreported } satisfies FromThread);
      unreported = 0;
    }
  };
  const fd = fs.openSync(`/proc/self/fd/${bundleFd}`, 'r+');
  try {
    // Read into reused buffers, each handed back once written; no reader thread (this is one).
    const { pack: archive, release } = packPathReusing(path, { readerThread: false });
    const flush = async () => {
      if (batchBytes === 0) return;
      const bufs = batch;
      const bytes = batchBytes;
      const at = pos;
      pos += bytes;
      inFlight += bytes;
      batch = [];
      batchBytes = 0;
      const w = writeAt(fd, bufs, at).then(
        () => {
          for (const b of bufs) release(b);
          inFlight -= bytes;
          report(bytes);
        },
        (e: Error) => {
          failure ??= e;
        },
      );
      const tracked = w.finally(() => {
        writes.delete(tracked);
        wake?.();
      });
      writes.add(tracked);
      while (inFlight >= IN_FLIGHT && !failure) await new Promise<void>((r) => (wake = r));
      if (failure) throw failure;
    };
    try {
      for await (const chunk of archive) {
        if (stopping) throw new Error('stopped');
        const c = chunk as Buffer;
        hash.update(c);
        if (hash.size > narSize) break;
        batch.push(c);
        batchBytes += c.length;
        if (batchBytes >= BATCH) await flush();
      }
      if (hash.size <= narSize) await flush();
    } finally {
      archive.destroy();
    }
  } finally {
    await Promise.allSettled([...writes]);
    fs.closeSync(fd);
  }
  if (failure) throw failure;
  report(0, true);
  port.postMessage({ type: 'done', id, narHash: toSRI(hash.digest()), size: hash.size } satisfies FromThread);
}

port.on('message', (m: ToThread) => {
  if (m.type === 'stop') {
    stopping = true;
    return;
  }
  pack(m.id, m.fd, m.job.path, m.job.offset, m.job.narSize).catch((e: NodeJS.ErrnoException) => {
    port.postMessage({ type: 'error', id: m.id, message: e.message, ...(e.code ? { code: e.code } : {}) } satisfies FromThread);
  });
});
