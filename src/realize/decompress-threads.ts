/**
 * Decompressing on other threads: the data archives of the packages that `builtin:unpack-deb`
 * extracts one after the other are decompressed on worker threads while this thread extracts,
 * each archive as a stream. Streams are started in the order they are asked for, each by the
 * first thread that is free; a thread sends at most WINDOW bytes that this side has not taken
 * yet (then waits), so memory stays bounded however large an archive is.
 */
import { Worker } from 'node:worker_threads';
import { Readable } from 'node:stream';
import { DecompressError, type Compression } from './decompress.js';

/** Bytes a thread may have sent ahead of what the reader has taken. */
export const WINDOW = 32 << 20;

/** What this side sends a thread. */
export type ToThread =
  | { type: 'start'; id: number; file: string; offset: number; size: number; compression: Compression }
  | { type: 'ack'; id: number; bytes: number }
  | { type: 'cancel'; id: number };

/** What a thread sends back. */
export type FromThread =
  | { type: 'data'; id: number; chunk: ArrayBuffer }
  | { type: 'end'; id: number }
  | { type: 'error'; id: number; message: string; decoder: boolean };

interface Open {
  stream: Readable;
  /** Bytes pushed while the stream's buffer was full, acknowledged when it is read. */
  unacked: number;
}

export class DecompressThreads {
  private readonly workers: Worker[];
  /** What each thread is decompressing. */
  private readonly busy = new Map<Worker, number>();
  /** Streams asked for and not started, in order. */
  private readonly pending: Array<Extract<ToThread, { type: 'start' }>> = [];
  private readonly open = new Map<number, Open>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(new URL('./decompress-worker.js', import.meta.url));
      w.on('message', (m: FromThread) => this.message(w, m));
      w.on('error', (e) => this.lost(w, e));
      w.on('exit', (code) => this.lost(w, new Error(`a decompressing thread stopped (exit code ${code})`)));
      return w;
    });
  }

  /** The decompressed bytes of a range of `file`, as a stream. */
  stream(file: string, offset: number, size: number, compression: Compression): Readable {
    const id = this.nextId++;
    const s: Open = {
      unacked: 0,
      stream: new Readable({
        highWaterMark: 1 << 20,
        read: () => {
          const w = this.workerOf(id);
          if (s.unacked > 0 && w) {
            w.postMessage({ type: 'ack', id, bytes: s.unacked } satisfies ToThread);
            s.unacked = 0;
          }
        },
        destroy: (err, cb) => {
          if (this.open.delete(id)) {
            const at = this.pending.findIndex((p) => p.id === id);
            if (at >= 0) this.pending.splice(at, 1);
            this.workerOf(id)?.postMessage({ type: 'cancel', id } satisfies ToThread);
          }
          cb(err);
        },
      }),
    };
    // A stream may fail before anything reads it (it is asked for ahead); its reader gets the
    // error when it reads, so the event itself needs no listener of its own.
    s.stream.on('error', () => {});
    if (this.failure) {
      s.stream.destroy(this.failure);
      return s.stream;
    }
    this.open.set(id, s);
    this.pending.push({ type: 'start', id, file, offset, size, compression });
    this.dispatch();
    return s.stream;
  }

  private workerOf(id: number): Worker | undefined {
    for (const [w, busyWith] of this.busy) if (busyWith === id) return w;
    return undefined;
  }

  /** Free threads take the streams asked for first. */
  private dispatch(): void {
    if (this.failure) return;
    for (const w of this.workers) {
      if (this.busy.has(w) || this.pending.length === 0) continue;
      const job = this.pending.shift()!;
      this.busy.set(w, job.id);
      w.postMessage(job satisfies ToThread);
    }
  }

  private message(worker: Worker, m: FromThread): void {
    if (m.type !== 'data') {
      // The thread is done with it: an end, an error, or the answer to a cancellation.
      if (this.busy.get(worker) === m.id) this.busy.delete(worker);
      this.dispatch();
    }
    const s = this.open.get(m.id);
    if (!s) return;
    if (m.type === 'data') {
      const buf = Buffer.from(m.chunk);
      if (s.stream.push(buf)) worker.postMessage({ type: 'ack', id: m.id, bytes: buf.length } satisfies ToThread);
      else s.unacked += buf.length;
    } else if (m.type === 'end') {
      this.open.delete(m.id);
      s.stream.push(null);
    } else {
      this.open.delete(m.id);
      s.stream.destroy(m.decoder ? new DecompressError(m.message) : new Error(m.message));
    }
  }

  /** A thread failed or stopped: every stream, started or not, fails with its error (no thread takes work any more). */
  private lost(_worker: Worker, err: Error): void {
    this.failure ??= err;
    this.pending.length = 0;
    this.busy.clear();
    for (const s of this.open.values()) s.stream.destroy(this.failure);
    this.open.clear();
  }

  async close(): Promise<void> {
    for (const s of this.open.values()) s.stream.destroy();
    this.open.clear();
    this.pending.length = 0;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
