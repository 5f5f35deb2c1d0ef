/**
 * Named releases: a release keeps its outputs alive (a GC root) until it is removed.
 * Deprecating one only marks it, with the date, so a librarian can see what is due to go.
 * Kept in the Releases / ReleaseOutputs tables; a release can only name valid paths.
 */
import { StoreError } from '../errors.js';
import { writeTx } from '../store/db.js';
import type { LocalStore } from '../store/local-store.js';

export interface ReleaseOutput {
  path: string;
  drvPath?: string;
  attr: string;
}

export interface Release {
  name: string;
  source?: string;
  created: number;
  deprecated?: number;
  outputs: ReleaseOutput[];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function validateReleaseName(name: string): void {
  if (!NAME_RE.test(name) || name.length > 200) {
    throw new StoreError('USAGE', `invalid release name '${name}'`, { hint: 'use letters, digits and . _ + -, starting with a letter or digit (e.g. CMSSW_14_2_0)' });
  }
}

function notFound(name: string): StoreError {
  return new StoreError('USAGE', `there is no release '${name}'`, { hint: "see 'store release list'" });
}

export function listReleases(store: LocalStore): Release[] {
  const rows = store.db.prepare('SELECT name, source, created, deprecated FROM Releases ORDER BY created, name').all() as Array<{ name: string; source: string | null; created: number; deprecated: number | null }>;
  const outs = store.db.prepare('SELECT release, path, drvPath, attr FROM ReleaseOutputs ORDER BY release, attr, path').all() as Array<{ release: string; path: string; drvPath: string | null; attr: string }>;
  const byName = new Map<string, Release>();
  for (const r of rows) {
    byName.set(r.name, {
      name: r.name,
      ...(r.source !== null ? { source: r.source } : {}),
      created: r.created,
      ...(r.deprecated !== null ? { deprecated: r.deprecated } : {}),
      outputs: [],
    });
  }
  for (const o of outs) byName.get(o.release)?.outputs.push({ path: o.path, ...(o.drvPath !== null ? { drvPath: o.drvPath } : {}), attr: o.attr });
  return [...byName.values()];
}

export function getRelease(store: LocalStore, name: string): Release | undefined {
  return listReleases(store).find((r) => r.name === name);
}

/**
 * Record a release. The outputs must be valid (the caller holds temporary roots on them, so
 * a collection cannot take them before the release row protects them). Adding the same
 * release again with the same outputs is a no-op; with other outputs it is an error.
 */
export function addRelease(store: LocalStore, name: string, outputs: ReleaseOutput[], source?: string): { created: boolean } {
  validateReleaseName(name);
  if (outputs.length === 0) throw new StoreError('USAGE', `release '${name}' would have no outputs`);
  const db = store.db;
  return writeTx(db, () => {
    const existing = db.prepare('SELECT path FROM ReleaseOutputs WHERE release = ? ORDER BY path').pluck().all(name) as string[];
    const exists = db.prepare('SELECT 1 FROM Releases WHERE name = ?').get(name) !== undefined;
    if (exists) {
      const same = existing.join('\n') === [...new Set(outputs.map((o) => o.path))].sort().join('\n');
      if (same) return { created: false };
      throw new StoreError('USAGE', `release '${name}' already exists with other outputs`, { hint: `releases are immutable: 'store release rm ${name}' first, or choose another name` });
    }
    for (const o of outputs) {
      if (!store.isValid(o.path)) throw new StoreError('NOT_VALID', `cannot make release '${name}': '${o.path}' is not valid`);
    }
    db.prepare('INSERT INTO Releases (name, source, created, deprecated) VALUES (?, ?, ?, NULL)').run(name, source ?? null, Math.floor(Date.now() / 1000));
    const ins = db.prepare('INSERT OR IGNORE INTO ReleaseOutputs (release, path, drvPath, attr) VALUES (?, ?, ?, ?)');
    for (const o of outputs) ins.run(name, o.path, o.drvPath ?? null, o.attr);
    return { created: true };
  });
}

export function deprecateRelease(store: LocalStore, name: string): Release {
  writeTx(store.db, () => {
    const r = store.db.prepare('UPDATE Releases SET deprecated = coalesce(deprecated, ?) WHERE name = ?').run(Math.floor(Date.now() / 1000), name);
    if (r.changes === 0) throw notFound(name);
  });
  return getRelease(store, name)!;
}

export function removeRelease(store: LocalStore, name: string): Release {
  const r = getRelease(store, name);
  if (!r) throw notFound(name);
  writeTx(store.db, () => store.db.prepare('DELETE FROM Releases WHERE name = ?').run(name));
  return r;
}
