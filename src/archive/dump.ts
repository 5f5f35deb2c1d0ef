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
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import tar from 'tar-stream';
import { ArenaPool, CHUNK, EMPTY, SMALL_FILE, changed, readAt, readExactly } from './read-buffers.js';
import { REC_CHUNK, REC_FILE, ReaderThread } from './reader-thread.js';
import { toSRI } from '../hash/sri.js';
import { canonicalHeader, canonicalMode, canonicaliseTree, STORE_MTIME } from './canonical.js';
import { entryPath, walkTree, type EntryType, type WalkEntry } from './walk.js';

type HeaderArgument = Parameters<tar.Pack['entry']>[0];

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
  /**
   * Whether a reader thread may take over reading a big tree (default true). A caller that is
   * itself one of several threads packing at once does better without: the cores are busy,
   * and each reader thread costs tens of ms of CPU to start.
   */
  readerThread?: boolean;
}

/** An entry to archive. Files get their size and exec bit from fstat when they are opened. */
type DumpEntry = WalkEntry;

function header(e: DumpEntry, size: number, executable: boolean): HeaderArgument {
  return canonicalHeader(e.name, e.type, size, executable, e.target);
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
    private readonly threads: boolean,
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
    if (!this.threads) return;
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
    // A pack destroyed by its consumer mid-entry fails this while nothing may be awaiting it
    // yet (the filler waiting for a read or a drain): not an unhandled rejection.
    finished.catch(ignore);
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
  const filler = new Filler(root, pack, opts.copyTo, recycle, opts.readerThread ?? true);
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

/**
 * The canonical archive of `root` with its bodies read into reused buffers: the consumer calls
 * `release` with every chunk once it is done with it (a chunk never released only costs a
 * fresh buffer).
 */
export function packPathReusing(root: string, opts: DumpOptions = {}): { pack: tar.Pack; release(chunk: Uint8Array): void } {
  const { pack, filler } = startPack(root, opts, true);
  return { pack, release: (chunk) => filler.release(chunk) };
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
