/** Small helpers shared by push and substitution: hashing taps, compression. */
import zlib from 'node:zlib';
import { Transform } from 'node:stream';
import { HashSink } from '../../hash/sha256.js';
import type { Compression } from './narinfo.js';

/** How far a transfer of store paths is (push, substitution, export, import): paths and bytes. */
export interface TransferProgress {
  donePaths: number;
  totalPaths: number;
  doneBytes: number;
  totalBytes: number;
}

/** A pass-through stream that hashes (and counts) what flows through it. */
export function hashTap(sink: HashSink, onBytes?: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sink.update(chunk);
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
}

export const EXTENSIONS: Record<Compression, string> = { none: '', gzip: '.gz', br: '.br' };

export function compressor(c: Compression): Transform | undefined {
  if (c === 'gzip') return zlib.createGzip({ level: 1, chunkSize: 1 << 20 });
  if (c === 'br') return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 }, chunkSize: 1 << 20 });
  return undefined;
}

export function decompressor(c: Compression): Transform | undefined {
  if (c === 'gzip') return zlib.createGunzip({ chunkSize: 1 << 20 });
  if (c === 'br') return zlib.createBrotliDecompress({ chunkSize: 1 << 20 });
  return undefined;
}

/**
 * The largest a compressed archive of `narSize` bytes can be: incompressible data grows by a
 * few bytes per block (zlib's deflateBound and brotli's bound are well inside this).
 */
export function maxFileSize(narSize: number, c: Compression): number {
  return c === 'none' ? narSize : narSize + Math.ceil(narSize / 256) + 4096;
}
