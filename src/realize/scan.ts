/**
 * Reference scanning: one linear pass over an output's archive, finding every run of 32
 * nix32 characters and looking it up among the hash parts of the candidate paths.
 */
import { NIX32_ALPHABET } from '../hash/nix32.js';
import { HashSink } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { packPath } from '../archive/dump.js';
import { HASH_PART_LENGTH, hashPartOf } from '../store/path.js';

const IS_NIX32 = new Uint8Array(256);
for (const c of NIX32_ALPHABET) IS_NIX32[c.charCodeAt(0)] = 1;

export class ReferenceScanner {
  private readonly byHash = new Map<string, string>();
  readonly found = new Set<string>();
  /** Trailing nix32 characters of the previous chunk (at most 31). */
  private tail = '';

  constructor(candidates: Iterable<string>) {
    for (const p of candidates) this.byHash.set(hashPartOf(p), p);
  }

  update(chunk: Uint8Array): void {
    if (this.byHash.size === 0 || this.found.size === this.byHash.size) return;
    let run = this.tail.length;
    for (let i = 0; i < chunk.length; i++) {
      if (IS_NIX32[chunk[i]]) {
        run++;
        if (run >= HASH_PART_LENGTH) {
          const start = i - HASH_PART_LENGTH + 1;
          const s = start >= 0 ? Buffer.from(chunk.buffer, chunk.byteOffset + start, HASH_PART_LENGTH).toString('latin1') : this.tail.slice(this.tail.length + start) + Buffer.from(chunk.buffer, chunk.byteOffset, i + 1).toString('latin1');
          const p = this.byHash.get(s);
          if (p) this.found.add(p);
        }
      } else {
        run = 0;
      }
    }
    const keep = Math.min(run, HASH_PART_LENGTH - 1);
    if (keep === 0) this.tail = '';
    else {
      const from = Math.max(chunk.length - keep, 0);
      this.tail = (this.tail + Buffer.from(chunk.buffer, chunk.byteOffset + from, chunk.length - from).toString('latin1')).slice(-keep);
    }
  }
}

/** Hash an output's canonical archive and find its references in the same pass. */
export async function hashAndScan(location: string, candidates: Iterable<string>): Promise<{ narHash: string; narSize: number; digest: Buffer; references: string[] }> {
  const sink = new HashSink();
  const scanner = new ReferenceScanner(candidates);
  for await (const chunk of packPath(location)) {
    sink.update(chunk as Buffer);
    scanner.update(chunk as Buffer);
  }
  const digest = sink.digest();
  return { narHash: toSRI(digest), narSize: sink.size, digest, references: [...scanner.found].sort() };
}
