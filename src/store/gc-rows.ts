/**
 * The rows the collector reads and deletes besides the reference graph: build locks and
 * temporary roots of processes (live or dead), the referrers of a batch of paths, and the
 * deletion of a batch's rows. Statements are prepared once per store; the collector calls
 * them inside LocalStore.withWriteLock, where its correctness needs them (src/gc/collect.ts).
 */
import type { Statement } from 'better-sqlite3';
import { writeTx, type DB } from './db.js';

export interface LockRow {
  path: string;
  pid: number;
  procStart: string;
}

export interface TempRootBatch {
  id: number;
  pid: number;
  start: string;
  /** Newline-separated store paths (see tempRootPaths in src/gc/roots.ts). */
  paths: string;
}

/** A reference between two rows of ValidPaths, by row id. */
export interface RefRow {
  reference: number;
  referrer: number;
}

export class GcRows {
  private readonly stmts: {
    locks: Statement<[string], LockRow>;
    referrers: Statement<[string], RefRow>;
    delRefs: Statement<[string]>;
    delPaths: Statement<[string]>;
    tempRoots: Statement<[], TempRootBatch>;
  };

  constructor(private readonly db: DB) {
    this.stmts = {
      locks: db.prepare<[string], LockRow>('SELECT path, pid, procStart FROM PathLocks WHERE path IN (SELECT value FROM json_each(?))'),
      referrers: db.prepare<[string], RefRow>('SELECT reference, referrer FROM Refs WHERE reference IN (SELECT value FROM json_each(?))'),
      delRefs: db.prepare<[string]>('DELETE FROM Refs WHERE referrer IN (SELECT value FROM json_each(?))'),
      delPaths: db.prepare<[string]>('DELETE FROM ValidPaths WHERE id IN (SELECT value FROM json_each(?))'),
      tempRoots: db.prepare<[], TempRootBatch>('SELECT id, pid, procStart AS start, paths FROM TempRoots ORDER BY pid, procStart, id'),
    };
  }

  /** Every batch of temporary roots (store-schema/004), whether its owner still runs or not. */
  tempRootBatches(): TempRootBatch[] {
    return this.stmts.tempRoots.all();
  }

  /** The PathLocks rows on any of `paths` (holders alive or not). */
  locksOn(paths: readonly string[]): LockRow[] {
    return this.stmts.locks.all(JSON.stringify(paths));
  }

  /** Every PathLocks row (holders alive or not), the collector's own lock included. */
  allLocks(): LockRow[] {
    return this.db.prepare('SELECT path, pid, procStart FROM PathLocks').all() as LockRow[];
  }

  /** The references to any of the rows `ids` (ValidPaths.id), self-references included. */
  referrersOf(ids: readonly number[]): RefRow[] {
    return this.stmts.referrers.all(JSON.stringify(ids));
  }

  /** Delete the rows `ids` of ValidPaths and their references: the paths become invalid. */
  invalidate(ids: readonly number[]): void {
    const json = JSON.stringify(ids);
    this.stmts.delRefs.run(json);
    this.stmts.delPaths.run(json);
  }

  /**
   * Delete, in one write transaction, the given lock rows and the temporary roots of the
   * given owners (processes that are gone). Returns how many lock rows went, and for each
   * owner whether any of its rows did.
   */
  removeDeadRows(locks: readonly LockRow[], owners: ReadonlyArray<{ pid: number; start: string }>): { locks: number; owners: boolean[] } {
    return writeTx(this.db, () => {
      let n = 0;
      const delLock = this.db.prepare('DELETE FROM PathLocks WHERE path = ? AND pid = ? AND procStart = ?');
      for (const l of locks) n += delLock.run(l.path, l.pid, l.procStart).changes;
      const delTemp = this.db.prepare('DELETE FROM TempRoots WHERE pid = ? AND procStart = ?');
      return { locks: n, owners: owners.map((o) => delTemp.run(o.pid, o.start).changes > 0) };
    });
  }
}
