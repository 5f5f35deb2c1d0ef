/**
 * tar-stream's header codec, the one its packer and extractor use: its package exports do not
 * list it, so it is loaded by file. Synchronous hashing (hash-sync.ts) frames entries with its
 * encoder, and restoring (restore.ts) parses them with its decoder.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import type tar from 'tar-stream';

export interface TarHeaderCodec {
  encode(h: Record<string, unknown>): Buffer | null;
  encodePax(h: { name?: string; linkname?: string; pax?: unknown }): Buffer;
  /** null for an all-zero block; throws on a bad checksum or an unknown format. */
  decode(buf: Buffer, filenameEncoding: string, allowUnknownFormat: boolean): tar.Header | null;
  decodePax(buf: Buffer): Record<string, string>;
}

const require = createRequire(import.meta.url);
let codec: TarHeaderCodec | undefined;

/** Loaded on first use: evaluation imports hash-sync.ts, but most evaluations hash no path. */
export function tarHeaders(): TarHeaderCodec {
  return (codec ??= require(path.join(path.dirname(require.resolve('tar-stream')), 'headers.js')) as TarHeaderCodec);
}
