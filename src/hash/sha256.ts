import type { Hash } from 'node:crypto';
import { nodeCrypto } from './crypto.js';
import { nix32Encode } from './nix32.js';

// One-shot hashing (crypto.hash) avoids a Hash object per call: evaluation hashes a few
// short strings for every derivation.
export function sha256(data: string | Uint8Array): Buffer {
  return nodeCrypto().hash('sha256', data as string, 'buffer') as unknown as Buffer;
}

export function sha256Hex(data: string | Uint8Array): string {
  return nodeCrypto().hash('sha256', data as string, 'hex');
}

/**
 * sha256 of a string, XOR-folded to `size` bytes (compressHash below). The digest is taken as
 * a one-byte-per-character string, which costs less than a Buffer per call: store paths are
 * made this way by the thousand during evaluation.
 */
export function compressedSha256(data: string, size: number): Uint8Array {
  const digest = nodeCrypto().hash('sha256', data, 'binary');
  const out = new Uint8Array(size);
  for (let i = 0; i < digest.length; i++) out[i % size] ^= digest.charCodeAt(i);
  return out;
}

/** XOR-fold a digest to `size` bytes, as Nix's compressHash does (160 bits for store paths). */
export function compressHash(digest: Uint8Array, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < digest.length; i++) out[i % size] ^= digest[i];
  return out;
}

/** A streaming sha256 that also counts bytes: the sink for archive dumps. */
export class HashSink {
  private readonly hash: Hash = nodeCrypto().createHash('sha256');
  size = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  digest(): Buffer {
    return this.hash.digest();
  }
}

export function sha256Nix32(data: string | Uint8Array): string {
  return nix32Encode(sha256(data));
}
