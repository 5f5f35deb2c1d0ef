/**
 * node:crypto, loaded on first use. Loading it costs ~3 ms of start-up, and a query such as
 * `store path-info` never hashes nor draws a random number: the modules that every command
 * loads (the store's, src/hash/sha256.ts) take it from here; the others import it as usual.
 */
import { createRequire } from 'node:module';

type Crypto = typeof import('node:crypto');
let loaded: Crypto | undefined;

export function nodeCrypto(): Crypto {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as Crypto);
}
