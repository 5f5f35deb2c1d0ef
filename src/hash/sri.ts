import { createRequire } from 'node:module';
import type ssriModule from 'ssri';
import { StoreError } from '../errors.js';

// Loaded on first parse: most commands only ever format SRI strings.
let ssri: typeof ssriModule | undefined;
const loadSsri = () => (ssri ??= createRequire(import.meta.url)('ssri') as typeof ssriModule);

/** An SRI string for a sha256 digest: `sha256-<base64>`. */
export function toSRI(digest: Uint8Array): string {
  return `sha256-${Buffer.from(digest).toString('base64')}`;
}

/** Parse an SRI string with ssri and return its sha256 digest; anything else is refused. */
export function parseSRI(sri: string, what = 'hash'): Buffer {
  const parsed = loadSsri().parse(sri, { single: true }) as unknown as { algorithm: string; digest: string } | null;
  if (!parsed || !parsed.digest) {
    throw new StoreError('USAGE', `${what} '${sri}' is not an SRI string`, { hint: "write it as 'sha256-<base64>', e.g. what `store hash-path` prints" });
  }
  if (parsed.algorithm !== 'sha256') {
    throw new StoreError('USAGE', `${what} '${sri}' uses ${parsed.algorithm}; only sha256 is supported`);
  }
  const digest = Buffer.from(parsed.digest, 'base64');
  if (digest.length !== 32) throw new StoreError('USAGE', `${what} '${sri}' does not hold a 32-byte sha256 digest`);
  return digest;
}

export function sriToHex(sri: string): string {
  return parseSRI(sri).toString('hex');
}
