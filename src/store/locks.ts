/**
 * Locks on store paths (outputs being built), kept in the store database so that taking a
 * set of locks is one atomic step, and a lock whose holder died is recognised and taken over.
 */
import { writeTx, type DB } from './db.js';
import { isAlive, thisProcess } from './process.js';
import { lockPollDelay } from '../limit.js';

interface LockRow {
  path: string;
  pid: number;
  procStart: string;
}

export class PathLocks {
  private readonly held = new Set<string>();
  private readonly get;
  private readonly put;
  private readonly del;

  constructor(private readonly db: DB) {
    this.get = db.prepare<[string], LockRow>('SELECT path, pid, procStart FROM PathLocks WHERE path = ?');
    this.put = db.prepare('INSERT OR REPLACE INTO PathLocks (path, pid, procStart, acquired) VALUES (?, ?, ?, ?)');
    this.del = db.prepare('DELETE FROM PathLocks WHERE path = ? AND pid = ? AND procStart = ?');
  }

  /** Take all of `paths`, or none. Returns the pid of a live holder when one is in the way. */
  tryLock(paths: readonly string[]): { ok: true } | { ok: false; holder: number } {
    const me = thisProcess();
    return writeTx(this.db, () => {
      for (const p of paths) {
        const row = this.get.get(p);
        if (row && isAlive({ pid: row.pid, start: row.procStart })) return { ok: false as const, holder: row.pid };
      }
      const now = Math.floor(Date.now() / 1000);
      for (const p of paths) this.put.run(p, me.pid, me.start, now);
      for (const p of paths) this.held.add(p);
      return { ok: true as const };
    });
  }

  /**
   * Run `fn` holding `keys` (store paths, or names such as 'gc'), waiting while a live process
   * holds any of them; `onWait` is told the holder once. Released afterwards, also on error.
   */
  async withLock<T>(keys: readonly string[], fn: () => Promise<T> | T, onWait?: (holder: number) => void): Promise<T> {
    for (let tries = 0; ; tries++) {
      const got = this.tryLock(keys);
      if (got.ok) break;
      if (tries === 0) onWait?.(got.holder);
      await new Promise((r) => setTimeout(r, lockPollDelay(tries)));
    }
    try {
      return await fn();
    } finally {
      this.unlock(keys); // never throws: the first error stays the one reported
    }
  }

  /**
   * Release `paths`. Never throws: unlocking runs in cleanup (`finally`), where an error of its
   * own (SQLITE_FULL on a full disk) would hide the one being handled. A row it could not
   * delete stays in `held` for releaseAll to try again, and is stale, so ignored by everyone,
   * once this process exits (`store gc` removes it).
   */
  unlock(paths: readonly string[]): void {
    const me = thisProcess();
    try {
      writeTx(this.db, () => {
        for (const p of paths) this.del.run(p, me.pid, me.start);
      });
    } catch {
      return;
    }
    for (const p of paths) this.held.delete(p);
  }

  /** Release everything this process holds (on exit or error); never throws, as unlock. */
  releaseAll(): void {
    if (this.held.size) this.unlock([...this.held]);
  }

  /** Whether a live process other than this one holds `p`. */
  lockedByOther(p: string): boolean {
    const row = this.get.get(p);
    if (!row) return false;
    const me = thisProcess();
    if (row.pid === me.pid && row.procStart === me.start) return false;
    return isAlive({ pid: row.pid, start: row.procStart });
  }
}
