/** Store paths: `<storeDir>/<hash>-<name>`, hash = nix32(compress160(sha256(fingerprint))). */
import path from 'node:path';
import { StoreError } from '../errors.js';
import { nix32Encode, isNix32Char } from '../hash/nix32.js';
import { compressedSha256 } from '../hash/sha256.js';

export const HASH_PART_LENGTH = 32;
export const MAX_NAME_LENGTH = 211;
const NAME_RE = /^[A-Za-z0-9+\-._?=]+$/;

/** What kind of object a path holds; part of the fingerprint so that kinds never collide. */
export type PathType = 'text' | 'source' | `output:${string}`;

export function validateName(name: string, context = 'store path name'): void {
  // The common case costs one test and allocates nothing.
  if (name.length > 0 && name.length <= MAX_NAME_LENGTH && name.charCodeAt(0) !== 0x2e && NAME_RE.test(name)) return;
  const fail = (why: string): never => {
    throw new StoreError('INVALID_NAME', `invalid ${context} '${name}': ${why}`, {
      hint: 'names use only letters, digits and + - . _ ? =, at most 211 characters, and do not start with a dot',
    });
  };
  if (name.length === 0) fail('it is empty');
  if (name.length > MAX_NAME_LENGTH) fail(`it is ${name.length} characters long (at most ${MAX_NAME_LENGTH})`);
  if (name.startsWith('.')) fail('it starts with a dot');
  const bad = [...name].find((c) => !NAME_RE.test(c));
  fail(`character '${bad}' is not allowed`);
}

/** The fingerprint of Invariant 2: `<type>:sha256:<inner hex>:<storeDir>:<name>`. */
export function fingerprint(type: PathType, innerHex: string, storeDir: string, name: string): string {
  return `${type}:sha256:${innerHex}:${storeDir}:${name}`;
}

export function makeStorePath(type: PathType, innerHex: string, storeDir: string, name: string): string {
  validateName(name);
  const hash = nix32Encode(compressedSha256(fingerprint(type, innerHex, storeDir, name), 20));
  return `${storeDir}/${hash}-${name}`;
}

/** Type of a content-addressed path: sorted references (and `self`) are part of it. */
export function typeWithReferences(base: 'text' | 'source', references: readonly string[], hasSelfReference = false): PathType {
  let type = base;
  for (const ref of [...references].sort()) type += `:${ref}`;
  if (hasSelfReference) type += ':self';
  return type as PathType;
}

export interface ParsedStorePath {
  path: string;
  hashPart: string;
  name: string;
}

/** Split a store path into hash part and name, checking it lies directly in `storeDir`. */
export function parseStorePath(p: string, storeDir: string): ParsedStorePath {
  if (path.dirname(p) !== storeDir) {
    throw new StoreError('NOT_IN_STORE', `path '${p}' is not in the store ${storeDir}`);
  }
  const base = path.basename(p);
  // Only the normal spelling: no trailing slash, no '.' or empty components.
  if (p !== `${storeDir}/${base}`) {
    throw new StoreError('INVALID_PATH', `'${p}' is not a store path (expected ${storeDir}/<32-character hash>-<name>)`);
  }
  const hashPart = base.slice(0, HASH_PART_LENGTH);
  if (base.length < HASH_PART_LENGTH + 2 || base[HASH_PART_LENGTH] !== '-' || ![...hashPart].every((c) => isNix32Char(c.charCodeAt(0)))) {
    throw new StoreError('INVALID_PATH', `'${p}' is not a store path (expected ${storeDir}/<32-character hash>-<name>)`);
  }
  const name = base.slice(HASH_PART_LENGTH + 1);
  validateName(name);
  return { path: p, hashPart, name };
}

export function isStorePath(p: string, storeDir: string): boolean {
  try {
    parseStorePath(p, storeDir);
    return true;
  } catch {
    return false;
  }
}

export function hashPartOf(p: string): string {
  const slash = p.lastIndexOf('/');
  if (slash === p.length - 1) return path.basename(p).slice(0, HASH_PART_LENGTH);
  return p.slice(slash + 1, slash + 1 + HASH_PART_LENGTH);
}

/**
 * Resolve a user-given path (possibly a symlink such as ./result, or a path inside a store
 * object) to the store path that contains it.
 */
export function toStorePath(p: string, storeDir: string): string {
  const abs = path.resolve(p);
  const prefix = storeDir + '/';
  if (abs.startsWith(prefix)) {
    const rest = abs.slice(prefix.length);
    const first = rest.split('/')[0];
    return `${storeDir}/${first}`;
  }
  return abs;
}
