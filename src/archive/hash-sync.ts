/**
 * Synchronous hashing of a path's canonical archive, for evaluation: `path("./src")` and
 * `derivation()` must know store paths without awaiting. Its headers are canonicalHeaderBytes,
 * tar-stream's packer framing with tar-stream's own encoder, so the bytes (and hash) are those
 * of `packPath`; a test pins the two together.
 */
import fs from 'node:fs';
import { HashSink } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { canonicalHeaderBytes } from './canonical.js';
import { listTree, type TreeEntry } from './walk.js';
import type { NarInfo } from './dump.js';

const ZEROS = Buffer.alloc(1024);
const CHUNK = 1 << 20;

function pad(sink: HashSink, size: number): void {
  const rest = size & 511;
  if (rest) sink.update(ZEROS.subarray(0, 512 - rest));
}

function writeHeader(sink: HashSink, e: TreeEntry): void {
  sink.update(canonicalHeaderBytes(e.name, e.type, e.type === 'file' ? e.size : 0, e.executable, e.target));
}

export function hashPathSync(root: string): NarInfo {
  const sink = new HashSink();
  let buf: Buffer | undefined;
  for (const e of listTree(root)) {
    writeHeader(sink, e);
    if (e.type !== 'file' || e.size === 0) continue;
    const fd = fs.openSync(e.abs, 'r');
    try {
      buf ??= Buffer.allocUnsafe(CHUNK);
      let total = 0;
      for (let n; (n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0; ) {
        total += n;
        sink.update(buf.subarray(0, n));
      }
      if (total !== e.size) throw new Error(`'${e.abs}' changed while it was being read`);
    } finally {
      fs.closeSync(fd);
    }
    pad(sink, e.size);
  }
  sink.update(ZEROS);
  const digest = sink.digest();
  return { narHash: toSRI(digest), narSize: sink.size, digest };
}
