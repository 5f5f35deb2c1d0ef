/**
 * Named releases in the store database (tables Releases, ReleaseOutputs): a release keeps
 * its outputs alive until it is removed, and can only name valid paths (the database refuses
 * to invalidate a path a release names). The policy around them lives in src/gc/releases.ts.
 */
import { StoreError } from '../errors.js';
import { writeTx, type DB } from './db.js';

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

/** One output of a release as a root: release name, creation, deprecation (or null), path. */
export type ReleaseRootRow = [name: string, created: number, deprecated: number | null, path: string];

export function listReleases(db: DB): Release[] {
  const rows = db.prepare('SELECT name, source, created, deprecated FROM Releases ORDER BY created, name').all() as Array<{ name: string; source: string | null; created: number; deprecated: number | null }>;
  const outs = db.prepare('SELECT release, path, drvPath, attr FROM ReleaseOutputs ORDER BY release, attr, path').all() as Array<{ release: string; path: string; drvPath: string | null; attr: string }>;
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

/** Every output of every release, by release name then path (the roots that releases make). */
export function releaseRootRows(db: DB): ReleaseRootRow[] {
  return db
    .prepare('SELECT r.name, r.created, r.deprecated, o.path FROM Releases r JOIN ReleaseOutputs o ON o.release = r.name ORDER BY r.name, o.path')
    .raw()
    .all() as ReleaseRootRow[];
}

/**
 * Record a release in one write transaction, its outputs checked valid inside it. The same
 * release again with the same outputs is a no-op; with other outputs it is an error.
 */
export function addRelease(db: DB, isValid: (p: string) => boolean, name: string, outputs: readonly ReleaseOutput[], source?: string): { created: boolean } {
  return writeTx(db, () => {
    const existing = db.prepare('SELECT path FROM ReleaseOutputs WHERE release = ? ORDER BY path').pluck().all(name) as string[];
    const exists = db.prepare('SELECT 1 FROM Releases WHERE name = ?').get(name) !== undefined;
    if (exists) {
      const same = existing.join('\n') === [...new Set(outputs.map((o) => o.path))].sort().join('\n');
      if (same) return { created: false };
      throw new StoreError('USAGE', `release '${name}' already exists with other outputs`, { hint: `releases are immutable: 'store release rm ${name}' first, or choose another name` });
    }
    for (const o of outputs) {
      if (!isValid(o.path)) throw new StoreError('NOT_VALID', `cannot make release '${name}': '${o.path}' is not valid`);
    }
    db.prepare('INSERT INTO Releases (name, source, created, deprecated) VALUES (?, ?, ?, NULL)').run(name, source ?? null, Math.floor(Date.now() / 1000));
    const ins = db.prepare('INSERT OR IGNORE INTO ReleaseOutputs (release, path, drvPath, attr) VALUES (?, ?, ?, ?)');
    for (const o of outputs) ins.run(name, o.path, o.drvPath ?? null, o.attr);
    return { created: true };
  });
}

/** Mark a release deprecated now (kept if it already is). False if there is no such release. */
export function deprecateRelease(db: DB, name: string): boolean {
  return writeTx(db, () => db.prepare('UPDATE Releases SET deprecated = coalesce(deprecated, ?) WHERE name = ?').run(Math.floor(Date.now() / 1000), name).changes > 0);
}

/** Remove a release (its outputs with it). False if there was no such release. */
export function removeRelease(db: DB, name: string): boolean {
  return writeTx(db, () => db.prepare('DELETE FROM Releases WHERE name = ?').run(name).changes > 0);
}
