/**
 * The data archive of a Debian package, decompressed as a stream: xz by xz-embedded compiled to
 * WebAssembly, zstd by fzstd, gzip by node:zlib. Used on this thread and on the threads of
 * ./decompress-threads.ts alike.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** The compressions of `data.tar*` read here, by suffix. */
export const COMPRESSIONS = ['', '.xz', '.gz', '.zst'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

const READ_CHUNK = 1 << 20;

/** A decoder's own complaint about its input (as opposed to a failure to read it). */
export class DecompressError extends Error {}

// The decoders are loaded when a package needs them, not with the builder.
async function xzStream(source: Readable): Promise<Readable> {
  const { XzReadableStream } = (await import('xz-decompress')).default;
  const web = new XzReadableStream(Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>);
}

async function zstdStream(): Promise<Transform> {
  const { Decompress: ZstdDecompress } = await import('fzstd');
  let push: ((chunk: Uint8Array) => void) | undefined;
  const z = new ZstdDecompress((chunk) => push?.(chunk));
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      push = (c) => this.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      try {
        z.push(chunk);
        cb();
      } catch (e) {
        cb(new DecompressError(`corrupt zstd data: ${(e as Error).message}`));
      }
    },
    flush(cb: TransformCallback) {
      push = (c) => this.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      try {
        z.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(new DecompressError(`truncated or corrupt zstd data: ${(e as Error).message}`));
      }
    },
  });
}

/** `from` piped into `to`, with the errors of `from` passed on. */
function chain(from: Readable, to: Transform): Readable {
  from.on('error', (e) => to.destroy(e));
  return from.pipe(to);
}

/** The bytes `offset`..`offset + size` of `file`, decompressed. */
export async function decompressedRange(file: string, offset: number, size: number, compression: Compression): Promise<Readable> {
  const raw = size === 0 ? Readable.from([]) : fs.createReadStream(file, { start: offset, end: offset + size - 1, highWaterMark: READ_CHUNK });
  switch (compression) {
    case '':
      return raw;
    case '.gz':
      return chain(raw, zlib.createGunzip({ chunkSize: 1 << 16 }));
    case '.zst':
      return chain(raw, await zstdStream());
    case '.xz':
      return xzStream(raw);
  }
}
