/**
 * Reading file bodies for the archive writer (dump.ts): buffers carved out of reusable arenas,
 * and exact reads that fail with a clear error when a file changes while it is read. The sizes
 * here are shared with the reader thread (reader-thread.ts).
 */
import fs from 'node:fs';
import { StoreError } from '../errors.js';

/** Largest read of a big file; bodies up to SMALL_FILE go to the packer as one buffer. */
export const CHUNK = 1 << 20;
export const SMALL_FILE = 256 * 1024;
/** Read buffers are carved out of arenas this big (a chunk fits in one). */
export const ARENA = 1 << 20;

export function changedError(abs: string): StoreError {
  return new StoreError('IO', `'${abs}' changed while it was being read`, { hint: 'retry once nothing writes to it' });
}

export function changed(abs: string): never {
  throw changedError(abs);
}

interface Arena {
  buf: ArrayBuffer;
  used: number;
  /** Slices handed out and not yet released. */
  refs: number;
  open: boolean;
}

/**
 * Read buffers carved out of reusable arenas. A consumer that is done with a chunk calls
 * `release`; an arena is reused once it is full and every slice of it has been released.
 * Slices that are never released only cost a fresh arena (nothing waits on them).
 */
export class ArenaPool {
  private readonly free: ArrayBuffer[] = [];
  private readonly owners = new WeakMap<ArrayBufferLike, Arena>();
  private cur: Arena | undefined;

  take(n: number): Buffer {
    let a = this.cur;
    if (a === undefined || a.used + n > a.buf.byteLength) {
      if (a !== undefined) {
        a.open = false;
        if (a.refs === 0) this.recycle(a);
      }
      const buf = this.free.pop() ?? (Buffer.allocUnsafeSlow(ARENA).buffer as ArrayBuffer);
      a = { buf, used: 0, refs: 0, open: true };
      this.owners.set(buf, a);
      this.cur = a;
    }
    const slice = Buffer.from(a.buf, a.used, n);
    a.used += n;
    a.refs++;
    return slice;
  }

  release(chunk: Uint8Array): void {
    const a = this.owners.get(chunk.buffer);
    if (a === undefined || a.refs === 0) return;
    if (--a.refs === 0) {
      if (!a.open) this.recycle(a);
      else if (a === this.cur) a.used = 0; // nothing of it is in use: start it over
    }
  }

  private recycle(a: Arena): void {
    this.owners.delete(a.buf);
    this.free.push(a.buf);
  }
}

export const EMPTY = Buffer.alloc(0);

/** Read `n` bytes at the current offset of `fd`; fewer means the file shrank. */
export function readExactly(fd: number, n: number, pool: ArenaPool | undefined, abs: string): Buffer {
  if (n === 0) return EMPTY;
  const buf = pool ? pool.take(n) : Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const r = fs.readSync(fd, buf, got, n - got, null);
    if (r === 0) changed(abs);
    got += r;
  }
  return buf;
}

/** Read `n` bytes at `pos` on the thread pool; fewer means the file shrank. */
export function readAt(fd: number, pos: number, n: number, pool: ArenaPool | undefined, abs: string): Promise<Buffer> {
  const buf = pool ? pool.take(n) : Buffer.allocUnsafe(n);
  return new Promise<Buffer>((resolve, reject) => {
    let got = 0;
    const more = (err: NodeJS.ErrnoException | null, r: number) => {
      if (err) return reject(err);
      if (r === 0) return reject(changedError(abs));
      got += r;
      if (got === n) resolve(buf);
      else fs.read(fd, buf, got, n - got, pos + got, more);
    };
    fs.read(fd, buf, 0, n, pos, more);
  });
}
