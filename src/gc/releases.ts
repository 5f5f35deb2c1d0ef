/**
 * Named releases: a release keeps its outputs alive (a GC root) until it is removed.
 * Deprecating one only marks it, with the date, so a librarian can see what is due to go.
 * Kept by the store (src/store/releases-db.ts); a release can only name valid paths.
 */
import { StoreError } from '../errors.js';
import type { Release, ReleaseOutput, Store } from '../store/store.js';

export type { Release, ReleaseOutput };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function validateReleaseName(name: string): void {
  if (!NAME_RE.test(name) || name.length > 200) {
    throw new StoreError('USAGE', `invalid release name '${name}'`, { hint: 'use letters, digits and . _ + -, starting with a letter or digit (e.g. CMSSW_14_2_0)' });
  }
}

function notFound(name: string): StoreError {
  return new StoreError('USAGE', `there is no release '${name}'`, { hint: "see 'store release list'" });
}

export function listReleases(store: Store): Release[] {
  return store.listReleases();
}

export function getRelease(store: Store, name: string): Release | undefined {
  return listReleases(store).find((r) => r.name === name);
}

/**
 * Record a release. The outputs must be valid (the caller holds temporary roots on them, so
 * a collection cannot take them before the release row protects them). Adding the same
 * release again with the same outputs is a no-op; with other outputs it is an error.
 */
export function addRelease(store: Store, name: string, outputs: ReleaseOutput[], source?: string): { created: boolean } {
  validateReleaseName(name);
  if (outputs.length === 0) throw new StoreError('USAGE', `release '${name}' would have no outputs`);
  return store.addRelease(name, outputs, source);
}

export function deprecateRelease(store: Store, name: string): Release {
  if (!store.deprecateRelease(name)) throw notFound(name);
  return getRelease(store, name)!;
}

export function removeRelease(store: Store, name: string): Release {
  const r = getRelease(store, name);
  if (!r) throw notFound(name);
  store.removeRelease(name);
  return r;
}
