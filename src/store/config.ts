/** The store's configuration file, `<root>/etc/hepstore.json`; every key is optional. */
import fs from 'node:fs';
import { StoreError } from '../errors.js';

export interface StoreConfig {
  /** Build in a bubblewrap sandbox when bwrap is installed (default true). */
  sandbox?: boolean;
  /** Host paths visible in the sandbox (as Nix's sandbox-paths); /bin/sh and its libraries by default. */
  sandboxPaths?: string[];
  /** Binary caches to substitute from, in order. */
  substituters?: string[];
  /** Public keys ("name:base64") whose signatures are trusted. */
  trustedPublicKeys?: string[];
  /** Secret key files used to sign what this store builds and pushes. */
  secretKeyFiles?: string[];
  /**
   * Refuse to evaluate or realize anything whose closure uses a host tool or a host program as
   * builder, as `--pure` does (default false).
   */
  pure?: boolean;
  /**
   * Bytes kept in var/gc-reserve for `store gc` to free on a full disk (as Nix's
   * gc-reserved-space; default 8 MiB, 0 for none).
   */
  gcReservedSpace?: number;
  /** Default for -j. */
  maxJobs?: number;
  /**
   * Where `mirror://NAME/…` URLs of fixed-output fetches point, tried in order, e.g.
   * { "debian": ["https://…/debian"] }. HEPSTORE_MIRROR_<NAME> (space-separated) adds to them.
   */
  mirrors?: Record<string, string[]>;
}

export function readStoreConfig(file: string): StoreConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as StoreConfig;
  } catch (e) {
    throw new StoreError('USAGE', `the store configuration ${file} is not valid JSON: ${(e as Error).message}`, { hint: 'fix or remove the file' });
  }
}
