/**
 * The reference graph as the collector reads it: every row of ValidPaths, Refs and (for the
 * keep options) the derivers and DerivationOutputs, in one read transaction (one snapshot),
 * as a few bulk queries rather than one per path. src/gc/graph.ts builds its arrays from it.
 */
import type { DB } from './db.js';

/** The rows of ValidPaths as parallel arrays: row id, narSize, path. */
export interface PathRows {
  ids: number[];
  sizes: number[];
  paths: string[];
}

/** Read access to the database, valid only inside LocalStore.readSnapshot's callback. */
export interface ReferenceSnapshot {
  /** Every valid path with its row id and narSize. */
  paths(): PathRows;
  /** Call `add(referrer, reference)` (row ids) for every row of Refs; `maxId` bounds the ids. */
  forEachReference(maxId: number, add: (referrer: number, reference: number) => void): void;
  /** Call `fn(row id, deriver path)` for every valid path with a deriver. */
  forEachDeriver(fn: (id: number, deriver: string) => void): void;
  /** Call `fn(drv row id, output path)` for every row of DerivationOutputs. */
  forEachDerivationOutput(fn: (drv: number, path: string) => void): void;
}

/**
 * Rows of ValidPaths as (id, narSize, path): fetched as a few large strings rather than one
 * JavaScript array per row, which is several times faster for 100,000s of paths.
 */
function readPaths(db: DB, storeDir: string): PathRows {
  const ids: number[] = [];
  const sizes: number[] = [];
  const paths: string[] = [];
  if (/[\n\t]/.test(storeDir)) {
    for (const [id, p, size] of db.prepare('SELECT id, path, narSize FROM ValidPaths').raw().iterate() as Iterable<[number, string, number]>) {
      ids.push(id);
      sizes.push(size);
      paths.push(p);
    }
    return { ids, sizes, paths };
  }
  const chunk = db.prepare<[number, number], string | null>("SELECT group_concat(id || char(9) || narSize || char(9) || path, char(10)) FROM ValidPaths WHERE id >= ? AND id < ?").pluck();
  const maxId = (db.prepare('SELECT max(id) FROM ValidPaths').pluck().get() as number | null) ?? 0;
  const STEP = 200000;
  for (let lo = 0; lo <= maxId; lo += STEP) {
    const text = chunk.get(lo, lo + STEP);
    if (!text) continue;
    for (const line of text.split('\n')) {
      const t1 = line.indexOf('\t');
      const t2 = line.indexOf('\t', t1 + 1);
      ids.push(Number(line.slice(0, t1)));
      sizes.push(Number(line.slice(t1 + 1, t2)));
      paths.push(line.slice(t2 + 1));
    }
  }
  return { ids, sizes, paths };
}

function snapshotOf(db: DB, storeDir: string): ReferenceSnapshot {
  return {
    paths: () => readPaths(db, storeDir),
    forEachReference(maxId, add) {
      const M = maxId + 1;
      if (M * M < Number.MAX_SAFE_INTEGER) {
        // Each reference as one exact integer (referrer * M + reference): no array per row.
        for (const x of db.prepare('SELECT referrer * ? + reference FROM Refs').pluck().all(M) as number[]) {
          const a = Math.floor(x / M);
          add(a, x - a * M);
        }
      } else {
        for (const [a, b] of db.prepare('SELECT referrer, reference FROM Refs').raw().iterate() as Iterable<[number, number]>) add(a, b);
      }
    },
    forEachDeriver(fn) {
      for (const [id, deriver] of db.prepare('SELECT id, deriver FROM ValidPaths WHERE deriver IS NOT NULL').raw().iterate() as Iterable<[number, string]>) fn(id, deriver);
    },
    forEachDerivationOutput(fn) {
      for (const [drv, p] of db.prepare('SELECT drv, path FROM DerivationOutputs').raw().iterate() as Iterable<[number, string]>) fn(drv, p);
    },
  };
}

/** Run `fn` on one consistent snapshot of the reference graph (a read transaction). */
export function readSnapshot<T>(db: DB, storeDir: string, fn: (snap: ReferenceSnapshot) => T): T {
  return db.transaction(() => fn(snapshotOf(db, storeDir)))();
}
