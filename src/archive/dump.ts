/**
 * Dump a path as a canonical tar archive (tar-stream's packer) and hash it in the same pass.
 * With `copyTo`, every byte read is also written to a copy of the tree (for `store add`).
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import tar from 'tar-stream';

type HeaderArgument = Parameters<tar.Pack['entry']>[0];
import { StoreError } from '../errors.js';
import { HashSink } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { ARCHIVE_MTIME, canonicalMode, canonicaliseTree } from './canonical.js';
import { entryPath, listTree, type TreeEntry } from './walk.js';

const CHUNK = 1 << 20;
/** Files up to this size are read whole and handed to the packer as one buffer. */
const SMALL_FILE = 256 * 1024;

export interface DumpOptions {
  /** Also copy the tree here (the directory must not exist); it is canonicalised at the end. */
  copyTo?: string;
}

function headerFor(e: TreeEntry): HeaderArgument {
  return {
    name: e.name,
    type: e.type,
    mode: canonicalMode(e.type, e.executable),
    size: e.type === 'file' ? e.size : 0,
    linkname: e.type === 'symlink' ? e.target : undefined,
    mtime: ARCHIVE_MTIME,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
  };
}

function changed(e: TreeEntry): never {
  throw new StoreError('IO', `'${e.abs}' changed while it was being read`, { hint: 'retry once nothing writes to it' });
}

function addEntry(pack: tar.Pack, header: HeaderArgument, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body === undefined) pack.entry(header, done);
    else pack.entry(header, body, done);
  });
}

async function writeLargeFile(pack: tar.Pack, e: TreeEntry, copyFd: number | undefined): Promise<void> {
  const fd = fs.openSync(e.abs, 'r');
  try {
    let done!: () => void;
    let failed!: (err: Error) => void;
    const finished = new Promise<void>((res, rej) => ((done = res), (failed = rej)));
    const stream = pack.entry(headerFor(e), (err) => (err ? failed(err) : done()));
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      total += n;
      if (total > e.size) changed(e);
      const chunk = buf.subarray(0, n);
      if (copyFd !== undefined) fs.writeSync(copyFd, chunk);
      if (!stream.write(chunk)) await new Promise<void>((r) => stream.once('drain', () => r()));
    }
    if (total !== e.size) changed(e);
    (stream as unknown as { end(): void }).end();
    await finished;
  } finally {
    fs.closeSync(fd);
  }
}

async function fill(pack: tar.Pack, entries: TreeEntry[], copyTo: string | undefined): Promise<void> {
  for (const e of entries) {
    const dest = copyTo === undefined ? undefined : entryPath(copyTo, e.name);
    if (e.type === 'directory') {
      if (dest !== undefined) fs.mkdirSync(dest, { mode: 0o755 });
      await addEntry(pack, headerFor(e));
    } else if (e.type === 'symlink') {
      if (dest !== undefined) fs.symlinkSync(e.target!, dest);
      await addEntry(pack, headerFor(e));
    } else if (e.size <= SMALL_FILE) {
      const body = fs.readFileSync(e.abs);
      if (body.length !== e.size) changed(e);
      if (dest !== undefined) fs.writeFileSync(dest, body, { mode: 0o644, flag: 'wx' });
      await addEntry(pack, headerFor(e), body);
    } else {
      const copyFd = dest === undefined ? undefined : fs.openSync(dest, 'wx', 0o644);
      try {
        await writeLargeFile(pack, e, copyFd);
      } finally {
        if (copyFd !== undefined) fs.closeSync(copyFd);
      }
    }
  }
  if (copyTo !== undefined) canonicaliseTree(copyTo, entries);
  pack.finalize();
}

/** The canonical archive of `root` as a readable stream. */
export function packPath(root: string, opts: DumpOptions = {}): tar.Pack {
  const entries = listTree(root);
  const pack = tar.pack();
  fill(pack, entries, opts.copyTo).catch((err) => pack.destroy(err));
  return pack;
}

export interface NarInfo {
  /** sha256 of the archive, as an SRI string. */
  narHash: string;
  narSize: number;
  digest: Buffer;
}

/** Hash the canonical archive of `root` without writing it anywhere. */
export async function hashPath(root: string, opts: DumpOptions = {}): Promise<NarInfo> {
  const sink = new HashSink();
  const pack = packPath(root, opts);
  for await (const chunk of pack) sink.update(chunk as Buffer);
  const digest = sink.digest();
  return { narHash: toSRI(digest), narSize: sink.size, digest };
}

/** Write the canonical archive of `root` to a stream. */
export async function dumpPath(root: string, out: Writable): Promise<void> {
  await pipeline(packPath(root), out);
}
