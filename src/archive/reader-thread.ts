/**
 * The archive writer's reader thread (dump.ts starts one once a tree turns out to have many
 * files): it opens, reads (and copies) the rest of the tree into arenas shared with the
 * writer, so that file-system calls overlap with packing and hashing on the main thread.
 */
import { Worker } from 'node:worker_threads';
import { STORE_MTIME } from './canonical.js';
import { childPrefix, type WalkEntry } from './walk.js';
import { ARENA, CHUNK, SMALL_FILE, changedError } from './read-buffers.js';

/** Arenas shared with the reader thread. */
const SHARED_ARENAS = 16;


/** Record kinds in the flat [kind, a, b, ...] arrays the reader thread posts (it writes them as literals). */
export const REC_FILE = 0; // a = size, b = 1 if executable
export const REC_CHUNK = 1; // a = offset in the shared arenas, b = length
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
export class ReaderThread {
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
  start(entries: readonly WalkEntry[]): void {
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
