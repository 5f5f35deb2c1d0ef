/**
 * Dump a path as a canonical tar archive (tar-stream's packer) and hash it in the same pass.
 * With `copyTo`, every byte read is also written to a copy of the tree (for `store add`).
 *
 * How it stays near the speed of sha256 itself (bench/hash.ts measures it):
 * - the walk reads directory entry types; files are stat'ed through the descriptor they are
 *   read with, so there is no lstat per entry;
 * - entries are queued on the packer without a promise round-trip each;
 * - bodies are read into reused arenas that the consumer hands back, not fresh buffers;
 * - big files are read ahead on the thread pool while the previous chunk is packed;
 * - once a tree turns out to have many files, a reader thread takes over opening, reading
 *   (and copying) the rest into shared arenas, so that file-system calls overlap with
 *   packing and hashing on this thread.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import tar from 'tar-stream';

type HeaderArgument = Parameters<tar.Pack['entry']>[0];
import { StoreError } from '../errors.js';
import { toSRI } from '../hash/sri.js';
import { ARCHIVE_MTIME, canonicalHeader, canonicalMode, canonicaliseTree, STORE_MTIME } from './canonical.js';
import { childPrefix, entryPath, walkTree, type EntryType, type WalkEntry } from './walk.js';

/** Largest read of a big file; bodies up to SMALL_FILE go to the packer as one buffer. */
const CHUNK = 1 << 20;
const SMALL_FILE = 256 * 1024;
/** Read buffers are carved out of arenas this big (a chunk fits in one). */
const ARENA = 1 << 20;
/** Arenas shared with the reader thread. */
const SHARED_ARENAS = 16;
/** Queue entries on the packer until this many bytes or entries wait to be consumed. */
const IN_FLIGHT_BYTES = 4 << 20;
const IN_FLIGHT_ENTRIES = 1024;
/**
 * A reader thread takes a while to start (tens of ms), so it is started during the walk once
 * a tree has this many files, or once this many bytes have been read here; entries are read
 * here until it is ready.
 */
const THREAD_FOR_FILES = 4000;
const THREAD_AFTER_BYTES = 16 << 20;

export interface DumpOptions {
  /** Also copy the tree here (the directory must not exist); it is canonicalised at the end. */
  copyTo?: string;
}

/** An entry to archive. Files get their size and exec bit from fstat when they are opened. */
type DumpEntry = WalkEntry;

function header(e: DumpEntry, size: number, executable: boolean): HeaderArgument {
  return canonicalHeader(e.name, e.type, size, executable, e.target);
}

function changedError(abs: string): StoreError {
  return new StoreError('IO', `'${abs}' changed while it was being read`, { hint: 'retry once nothing writes to it' });
}

function changed(abs: string): never {
  throw changedError(abs);
}

// ---- reading on this thread -----------------------------------------------------------------

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
class ArenaPool {
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

const EMPTY = Buffer.alloc(0);

/** Read `n` bytes at the current offset of `fd`; fewer means the file shrank. */
function readExactly(fd: number, n: number, pool: ArenaPool | undefined, abs: string): Buffer {
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
function readAt(fd: number, pos: number, n: number, pool: ArenaPool | undefined, abs: string): Promise<Buffer> {
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

// ---- the reader thread ----------------------------------------------------------------------

/** Record kinds in the flat [kind, a, b, ...] arrays the reader thread posts (it writes them as literals). */
const REC_FILE = 0; // a = size, b = 1 if executable
const REC_CHUNK = 1; // a = offset in the shared arenas, b = length
/** Control words after the per-arena counters. */
const CTRL_READY = SHARED_ARENAS;
const CTRL_ABORT = SHARED_ARENAS + 1;

interface ReaderData {
  root: string;
  copyTo: string | undefined;
  /** childPrefix() of root and copyTo. */
  rootPrefix: string;
  copyToPrefix: string | undefined;
  data: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  arena: number;
  arenas: number;
  chunk: number;
  smallFile: number;
  storeMtime: number;
}

/** The entries to read, from the hand-over on. */
interface ReaderWork {
  /** Entry names joined by NUL, their types as one letter each (f, d, l), symlink targets by index. */
  names: string;
  types: string;
  targets: Record<number, string>;
}

type ReaderMessage = { recs: number[] } | { end: true } | { error: { message: string; changed: boolean; code?: string; errno?: number; syscall?: string; path?: string } };

/**
 * The reader thread's program, run from its source text (it may use nothing from this module).
 * It waits for the entries to work on, then reads every file among them in order into the
 * shared arenas, posting a FILE record and CHUNK records for each; with `copyTo` it also
 * makes the copy of every entry from there on. Arena k may be refilled once ctrl[k] (chunks
 * placed minus chunks released) is back at zero.
 */
function readerThread(wt: typeof import('node:worker_threads'), fs: typeof import('node:fs')): void {
  const port = wt.parentPort!;
  const d = wt.workerData as ReaderData;
  const ctrl = new Int32Array(d.ctrl);
  const data = new Uint8Array(d.data);
  const one = new Uint8Array(1);
  const READY = d.arenas;
  const ABORT = d.arenas + 1;
  let out: number[] = [];
  const flush = () => {
    if (out.length) port.postMessage({ recs: out });
    out = [];
  };
  let k = 0;
  let used = 0;
  let placed = 0;
  const space = (n: number): number => {
    if (used + n > d.arena) {
      Atomics.add(ctrl, k, placed);
      k = (k + 1) % d.arenas;
      used = 0;
      placed = 0;
      for (;;) {
        const v = Atomics.load(ctrl, k);
        if (v === 0) break;
        if (Atomics.load(ctrl, ABORT) !== 0) throw new Error('aborted');
        flush(); // what is already read lets the other side go on and release
        Atomics.wait(ctrl, k, v, 200);
      }
    }
    const off = k * d.arena + used;
    used += n;
    placed++;
    return off;
  };
  class Changed extends Error {}
  const run = (w: ReaderWork) => {
    const names = w.names.split('\0');
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const type = w.types[i];
      const abs = name === '.' ? d.root : d.rootPrefix + name.slice(2);
      const dest = d.copyTo === undefined ? undefined : name === '.' ? d.copyTo : d.copyToPrefix + name.slice(2);
      if (type === 'd') {
        if (dest !== undefined) fs.mkdirSync(dest, { mode: 0o755 });
        continue;
      }
      if (type === 'l') {
        if (dest !== undefined) fs.symlinkSync(w.targets[i], dest);
        continue;
      }
      const fd = fs.openSync(abs, 'r');
      let copyFd: number | undefined;
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) throw new Changed(abs);
        const size = st.size;
        const executable = (st.mode & 0o111) !== 0;
        out.push(0, size, executable ? 1 : 0);
        if (dest !== undefined) copyFd = fs.openSync(dest, 'wx', 0o644);
        for (let pos = 0; pos < size; ) {
          const n = size <= d.smallFile ? size : Math.min(d.chunk, size - pos);
          const off = space(n);
          for (let got = 0; got < n; ) {
            const r = fs.readSync(fd, data, off + got, n - got, pos + got);
            if (r === 0) throw new Changed(abs);
            got += r;
          }
          if (copyFd !== undefined) fs.writeSync(copyFd, data, off, n);
          out.push(1, off, n);
          pos += n;
          if (n > d.smallFile) flush();
        }
        if (size > d.smallFile && fs.readSync(fd, one, 0, 1, size) !== 0) throw new Changed(abs);
        if (copyFd !== undefined) {
          fs.fchmodSync(copyFd, executable ? 0o555 : 0o444);
          fs.futimesSync(copyFd, d.storeMtime, d.storeMtime);
        }
      } finally {
        fs.closeSync(fd);
        if (copyFd !== undefined) fs.closeSync(copyFd);
      }
      if (out.length >= 96) flush();
    }
    flush();
    port.postMessage({ end: true });
  };
  // Listening keeps the thread alive until it is terminated, after its last message is read.
  port.on('message', (w: ReaderWork) => {
    try {
      run(w);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (Atomics.load(ctrl, ABORT) !== 0) return;
      port.postMessage({ error: { message: e.message, changed: e instanceof Changed, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } });
    }
  });
  Atomics.store(ctrl, READY, 1);
}

const READER_SOURCE = `(${readerThread.toString()})(require('node:worker_threads'), require('node:fs'));`;

/** This side of the reader thread: its records, in order, and the release of arenas. */
class ReaderThread {
  readonly data = new SharedArrayBuffer(SHARED_ARENAS * ARENA);
  private readonly ctrl = new Int32Array(new SharedArrayBuffer((SHARED_ARENAS + 2) * 4));
  private readonly worker: Worker;
  private recs: number[] = [];
  private at = 0;
  private readonly queued: number[][] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private ended = false;
  private stopped = false;

  constructor(root: string, copyTo: string | undefined) {
    const workerData: ReaderData = {
      root,
      copyTo,
      rootPrefix: childPrefix(root),
      copyToPrefix: copyTo === undefined ? undefined : childPrefix(copyTo),
      data: this.data,
      ctrl: this.ctrl.buffer as SharedArrayBuffer,
      arena: ARENA,
      arenas: SHARED_ARENAS,
      chunk: CHUNK,
      smallFile: SMALL_FILE,
      storeMtime: STORE_MTIME,
    };
    this.worker = new Worker(READER_SOURCE, { eval: true, workerData });
    this.worker.on('message', (m: ReaderMessage) => {
      if ('recs' in m) this.queued.push(m.recs);
      else if ('end' in m) this.ended = true;
      else {
        // A file-system error keeps its code, syscall and path, as it would have here.
        const { message, changed, ...props } = m.error;
        this.failure = changed ? changedError(message) : Object.assign(new Error(message), props);
      }
      this.wakeUp();
    });
    this.worker.on('error', (err) => {
      this.failure ??= err;
      this.wakeUp();
    });
    this.worker.on('exit', (code) => {
      if (!this.stopped) this.failure ??= new Error(`the archive reader thread stopped (exit code ${code})`);
      this.wakeUp();
    });
  }

  get ready(): boolean {
    return Atomics.load(this.ctrl, CTRL_READY) === 1;
  }

  /** Hand over these entries (the rest of the tree, in order). */
  start(entries: readonly DumpEntry[]): void {
    const work: ReaderWork = { names: entries.map((e) => e.name).join('\0'), types: '', targets: {} };
    entries.forEach((e, i) => {
      work.types += e.type === 'file' ? 'f' : e.type === 'directory' ? 'd' : 'l';
      if (e.type === 'symlink') work.targets[i] = e.target!;
    });
    this.worker.postMessage(work);
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Position in `recs` of the next record, or -1 if none has arrived yet. */
  take(): number {
    if (this.at === this.recs.length) {
      const next = this.queued.shift();
      if (next === undefined) return -1;
      this.recs = next;
      this.at = 0;
    }
    const p = this.at;
    this.at += 3;
    return p;
  }

  get records(): readonly number[] {
    return this.recs;
  }

  /** Wait for the next record. */
  async next(): Promise<number> {
    for (;;) {
      const p = this.take();
      if (p >= 0) return p;
      if (this.failure) throw this.failure;
      if (this.ended) throw new Error('the archive reader thread ended early');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Wait until the thread has done everything (copies included). */
  async finished(): Promise<void> {
    while (!this.ended) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  chunk(off: number, len: number): Buffer {
    return Buffer.from(this.data, off, len);
  }

  release(chunk: Uint8Array): boolean {
    if (chunk.buffer !== this.data) return false;
    const k = (chunk.byteOffset / ARENA) | 0;
    if (Atomics.sub(this.ctrl, k, 1) === 1) Atomics.notify(this.ctrl, k);
    return true;
  }

  stop(): void {
    this.stopped = true;
    Atomics.store(this.ctrl, CTRL_ABORT, 1);
    for (let k = 0; k < SHARED_ARENAS; k++) Atomics.notify(this.ctrl, k);
    void this.worker.terminate();
  }
}

// ---- packing --------------------------------------------------------------------------------

const ignore = () => {};

/**
 * An entry's stream reports failures through the pack (and its callback). Queued entries are
 * destroyed with the pack's error when it fails; without a listener that would throw.
 */
function quiet<T extends { on(event: 'error', f: () => void): unknown }>(entry: T): T {
  entry.on('error', ignore);
  return entry;
}

class Filler {
  private bytesQueued = 0;
  private entriesQueued = 0;
  private readonly copyDirsAndLinks: Array<{ name: string; type: EntryType; executable: boolean }> = [];
  private readonly pool: ArenaPool | undefined;
  private thread: ReaderThread | undefined;
  private bytesHere = 0;

  /**
   * `recycle`: the consumer calls `release` for every chunk it is done with, so buffers can be
   * reused. Without it every body is a buffer of its own.
   */
  constructor(
    private readonly root: string,
    private readonly pack: tar.Pack,
    private readonly copyTo: string | undefined,
    private readonly recycle: boolean,
  ) {
    this.pool = recycle ? new ArenaPool() : undefined;
  }

  release(chunk: Uint8Array): void {
    if (this.thread?.release(chunk)) return;
    this.pool?.release(chunk);
  }

  /** Queue a whole entry; every so often wait until the consumer has caught up. */
  private async add(h: HeaderArgument, body: Buffer | undefined): Promise<void> {
    this.bytesQueued += 512 + (body?.length ?? 0);
    if (++this.entriesQueued < IN_FLIGHT_ENTRIES && this.bytesQueued < IN_FLIGHT_BYTES) {
      quiet(body === undefined ? this.pack.entry(h) : this.pack.entry(h, body));
      return;
    }
    this.bytesQueued = 0;
    this.entriesQueued = 0;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      quiet(body === undefined ? this.pack.entry(h, done) : this.pack.entry(h, body, done));
    });
  }

  /** Start the reader thread now (it is handed work once it is ready). */
  startThread(): void {
    this.thread ??= new ReaderThread(this.root, this.copyTo);
  }

  stopThread(): void {
    this.thread?.stop();
  }

  async run(entries: DumpEntry[]): Promise<void> {
    try {
      let handedOver = entries.length;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (this.thread !== undefined && handedOver === entries.length && this.thread.ready) {
          handedOver = i;
          this.thread.start(entries.slice(i));
        }
        const here = i < handedOver;
        if (e.type === 'file') {
          if (here) await this.file(e);
          else await this.fileFromThread(e);
          if (this.bytesHere > THREAD_AFTER_BYTES && i + 1 < entries.length) this.startThread();
          continue;
        }
        if (this.copyTo !== undefined) {
          if (here) {
            const dest = entryPath(this.copyTo, e.name);
            if (e.type === 'directory') fs.mkdirSync(dest, { mode: 0o755 });
            else fs.symlinkSync(e.target!, dest);
          }
          this.copyDirsAndLinks.push({ name: e.name, type: e.type, executable: false });
        }
        await this.add(header(e, 0, false), undefined);
      }
      if (this.thread !== undefined && handedOver < entries.length) await this.thread.finished();
    } finally {
      this.stopThread();
    }
    // Files were made canonical through their descriptors; directories last, children first.
    if (this.copyTo !== undefined) canonicaliseTree(this.copyTo, this.copyDirsAndLinks);
    this.pack.finalize();
  }

  private async file(e: DumpEntry): Promise<void> {
    const dest = this.copyTo === undefined ? undefined : entryPath(this.copyTo, e.name);
    const fd = fs.openSync(e.abs, 'r');
    let copyFd: number | undefined;
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) changed(e.abs);
      const size = st.size;
      const executable = (st.mode & 0o111) !== 0;
      this.bytesHere += size;
      if (dest !== undefined) copyFd = fs.openSync(dest, 'wx', 0o644);
      if (size <= SMALL_FILE) {
        const body = readExactly(fd, size, this.pool, e.abs);
        if (copyFd !== undefined && size > 0) fs.writeSync(copyFd, body);
        await this.add(header(e, size, executable), body);
      } else {
        await this.largeFile(e, fd, size, executable, copyFd);
      }
      if (copyFd !== undefined) {
        fs.fchmodSync(copyFd, canonicalMode('file', executable));
        fs.futimesSync(copyFd, STORE_MTIME, STORE_MTIME);
      }
    } finally {
      fs.closeSync(fd);
      if (copyFd !== undefined) fs.closeSync(copyFd);
    }
  }

  private entryStream(h: HeaderArgument): { stream: ReturnType<tar.Pack['entry']>; finished: Promise<void> } {
    let done!: () => void;
    let failed!: (err: Error) => void;
    const finished = new Promise<void>((res, rej) => ((done = res), (failed = rej)));
    const stream = quiet(this.pack.entry(h, (err) => (err ? failed(err) : done())));
    return { stream, finished };
  }

  private async endStream(stream: { end(): void }, finished: Promise<void>): Promise<void> {
    stream.end();
    await finished;
    this.bytesQueued = 0;
    this.entriesQueued = 0;
  }

  private async largeFile(e: DumpEntry, fd: number, size: number, executable: boolean, copyFd: number | undefined): Promise<void> {
    const { stream, finished } = this.entryStream(header(e, size, executable));
    // The next chunk is read on the thread pool while this one is packed (and copied).
    let next: Promise<Buffer> | undefined = readAt(fd, 0, Math.min(CHUNK, size), this.pool, e.abs);
    try {
      for (let pos = 0; pos < size; ) {
        const chunk: Buffer = await next!;
        pos += chunk.length;
        next = pos < size ? readAt(fd, pos, Math.min(CHUNK, size - pos), this.pool, e.abs) : undefined;
        if (copyFd !== undefined) fs.writeSync(copyFd, chunk);
        if (!stream.write(chunk)) await new Promise<void>((r) => stream.once('drain', () => r()));
      }
    } finally {
      // Never leave a read running on a descriptor that is about to be closed.
      if (next !== undefined) await next.catch(() => {});
    }
    // It must end where fstat said it does.
    if (fs.readSync(fd, Buffer.allocUnsafe(1), 0, 1, size) !== 0) changed(e.abs);
    await this.endStream(stream as unknown as { end(): void }, finished);
  }

  /** A body the reader thread has read (and copied): a view of the shared arenas, or a copy of it. */
  private body(t: ReaderThread, off: number, len: number): Buffer {
    const view = t.chunk(off, len);
    if (this.recycle) return view;
    const own = Buffer.from(view);
    t.release(view);
    return own;
  }

  private async fileFromThread(e: DumpEntry): Promise<void> {
    const t = this.thread!;
    let p = t.take();
    if (p < 0) p = await t.next();
    let r = t.records;
    if (r[p] !== REC_FILE) outOfStep(e);
    const size = r[p + 1];
    const executable = r[p + 2] === 1;
    if (size <= SMALL_FILE) {
      let body: Buffer = EMPTY;
      if (size > 0) {
        p = t.take();
        if (p < 0) p = await t.next();
        r = t.records;
        if (r[p] !== REC_CHUNK || r[p + 2] !== size) outOfStep(e);
        body = this.body(t, r[p + 1], size);
      }
      await this.add(header(e, size, executable), body);
      return;
    }
    const { stream, finished } = this.entryStream(header(e, size, executable));
    for (let pos = 0; pos < size; ) {
      p = t.take();
      if (p < 0) p = await t.next();
      r = t.records;
      if (r[p] !== REC_CHUNK) outOfStep(e);
      const chunk = this.body(t, r[p + 1], r[p + 2]);
      pos += chunk.length;
      if (!stream.write(chunk)) await new Promise<void>((res) => stream.once('drain', () => res()));
    }
    await this.endStream(stream as unknown as { end(): void }, finished);
  }
}

function outOfStep(e: DumpEntry): never {
  throw new Error(`internal error: the archive reader thread is out of step at '${e.abs}'`);
}

function startPack(root: string, opts: DumpOptions, recycle: boolean): { pack: tar.Pack; filler: Filler } {
  const pack = tar.pack();
  const filler = new Filler(root, pack, opts.copyTo, recycle);
  let entries: DumpEntry[];
  try {
    entries = walkTree(root, { at: THREAD_FOR_FILES, call: () => filler.startThread() });
  } catch (err) {
    filler.stopThread();
    throw err;
  }
  filler.run(entries).catch((err) => pack.destroy(err));
  return { pack, filler };
}

/** The canonical archive of `root` as a readable stream. */
export function packPath(root: string, opts: DumpOptions = {}): tar.Pack {
  return startPack(root, opts, false).pack;
}

export interface NarInfo {
  /** sha256 of the archive, as an SRI string. */
  narHash: string;
  narSize: number;
  digest: Buffer;
}

/** Hash the canonical archive of `root` without writing it anywhere. */
export async function hashPath(root: string, opts: DumpOptions = {}): Promise<NarInfo> {
  const hash = createHash('sha256');
  let size = 0;
  const { pack, filler } = startPack(root, opts, true);
  await new Promise<void>((resolve, reject) => {
    pack.on('data', (data) => {
      const chunk = data as Buffer;
      hash.update(chunk);
      size += chunk.length;
      filler.release(chunk);
    });
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const digest = hash.digest();
  return { narHash: toSRI(digest), narSize: size, digest };
}

/** Write the canonical archive of `root` to a stream. */
export async function dumpPath(root: string, out: Writable): Promise<void> {
  await pipeline(packPath(root), out);
}
