/**
 * The local store: objects under `<root>/store`, metadata in SQLite under `<root>/var`.
 * Content is written under a temporary name, canonicalised and hashed, renamed into place,
 * and only then registered with its references in one transaction (Invariant 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { StoreError } from '../errors.js';
import { pathExists, removeTree } from '../archive/canonical.js';
import { nodeCrypto } from '../hash/crypto.js';
import { sha256, sha256Hex } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { makeStorePath, parseStorePath, typeWithReferences, validateName } from './path.js';
import { attachDatabase, databaseOf, isDamagedDatabaseError, openDatabase, writeTx, type DB, retryWhileBusy } from './db.js';
import { isNix32Char } from '../hash/nix32.js';
import type { Statement } from 'better-sqlite3';
import { storeLayout, type StoreLayout } from './root.js';
import { thisProcess } from './process.js';
import { ensureGcReserve, releaseGcReserve } from './reserve.js';
import { dependencyOrder, GraphCycle } from '../graph.js';
import type { PathLocks } from './locks.js';
import type { ReferenceSnapshot } from './gc-snapshot.js';
import type { GcRows, LockRow, RefRow, TempRootBatch } from './gc-rows.js';
import type { Release, ReleaseOutput, ReleaseRootRow } from './releases-db.js';
import type { NewPathInfo, PathInfo, Store, VerifyReport } from './store.js';

// The modules of path locks, the collector's rows and releases are loaded when first used
// (require of an ES module, Node.js 20.19 and later): a query such as `store path-info` needs
// none of them, and loading them cost it ~4 ms of its start-up.
const require = createRequire(import.meta.url);
const locksModule = () => require('./locks.js') as typeof import('./locks.js');
const snapshotModule = () => require('./gc-snapshot.js') as typeof import('./gc-snapshot.js');
const gcRowsModule = () => require('./gc-rows.js') as typeof import('./gc-rows.js');
const releasesModule = () => require('./releases-db.js') as typeof import('./releases-db.js');

export type { PathInfo, NewPathInfo, VerifyReport } from './store.js';

interface Row {
  id: number;
  path: string;
  narHash: string;
  narSize: number;
  registrationTime: number;
  deriver: string | null;
  ca: string | null;
  sigs: string;
  ultimate: number;
}

const TEMP_PREFIX = '.tmp-';
/** Set in Meta when a database was created (or recreated) beside a store directory holding objects. */
const NEEDS_RECOVERY = 'needsRecovery';

/** Whether a store directory entry is named like a store path (`<32 nix32 characters>-<name>`). */
function looksLikeStorePath(name: string): boolean {
  if (name.length < 34 || name.charCodeAt(32) !== 0x2d) return false;
  for (let i = 0; i < 32; i++) if (!isNix32Char(name.charCodeAt(i))) return false;
  return true;
}

export interface OpenOptions {
  /**
   * `store verify --recover`: a database file that is not a database (or is damaged) is moved
   * aside and a new one made, instead of refusing to open.
   */
  recover?: boolean;
  /** Opened to collect garbage, possibly on a full disk: the collector's reserve is freed first. */
  gc?: boolean;
}
/** Paths per validity query (one JSON array parameter each). */
const VALID_CHUNK = 10000;
/** From how many references to paths valid before (not registered in the same batch) a registration inserts them with one statement. */
const SET_REFERENCES = 16;

/** The archive writer (and tar-stream) is loaded only by the operations that hash a tree. */
async function hashPath(...args: Parameters<typeof import('../archive/dump.js').hashPath>) {
  return (await import('../archive/dump.js')).hashPath(...args);
}

function rowToInfo(row: Row, references: string[]): PathInfo {
  return {
    path: row.path,
    narHash: row.narHash,
    narSize: row.narSize,
    registrationTime: row.registrationTime,
    deriver: row.deriver ?? undefined,
    ca: row.ca ?? undefined,
    sigs: row.sigs ? row.sigs.split(' ') : [],
    ultimate: row.ultimate === 1,
    references,
  };
}

export class LocalStore implements Store {
  readonly layout: StoreLayout;
  readonly storeDir: string;
  /** The SQLite database: private to src/store/ (tests that inspect or damage rows use `databaseOf`, db.ts). */
  private readonly db: DB;
  /** The database could not be opened for writing (a read-only file system or permissions). */
  readonly readOnly: boolean;
  /** Where `recover` moved a database file that could not be read. */
  readonly movedAside?: string;
  private readonly stmts;

  /**
   * `opts.gc`: opened to collect garbage, which may be on a full disk: the space reserved for it
   * (src/store/reserve.ts) is freed before the database is opened. Otherwise the reserve is
   * made (if missing) once the database is open.
   */
  constructor(root: string, opts: OpenOptions = {}) {
    this.layout = storeLayout(path.resolve(root));
    this.storeDir = this.layout.storeDir;
    if (!fs.existsSync(this.storeDir)) {
      try {
        fs.mkdirSync(this.storeDir, { recursive: true });
      } catch (err) {
        throw new StoreError('IO', `cannot create the store directory ${this.storeDir}: ${(err as Error).message}`, { cause: err, hint: 'check the store root (--store or STORE_ROOT) and its permissions' });
      }
    }
    if (opts.gc) releaseGcReserve(this.layout);
    let db: DB;
    try {
      db = openDatabase(this.layout.dbFile);
    } catch (err) {
      if (!opts.recover || !isDamagedDatabaseError((err as Error).cause)) throw err;
      this.movedAside = `${this.layout.dbFile}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      for (const ext of ['', '-wal', '-shm']) if (fs.existsSync(this.layout.dbFile + ext)) fs.renameSync(this.layout.dbFile + ext, this.movedAside + ext);
      db = openDatabase(this.layout.dbFile);
    }
    this.db = db;
    attachDatabase(this, db);
    this.readOnly = db.readonly;
    this.stmts = {
      byPath: db.prepare<[string], Row>('SELECT * FROM ValidPaths WHERE path = ?'),
      idOf: db.prepare<[string], { id: number }>('SELECT id FROM ValidPaths WHERE path = ?'),
      references: db.prepare<[number], { path: string }>('SELECT v.path FROM Refs r JOIN ValidPaths v ON v.id = r.reference WHERE r.referrer = ? ORDER BY v.path'),
      referrers: db.prepare<[number], { path: string }>('SELECT v.path FROM Refs r JOIN ValidPaths v ON v.id = r.referrer WHERE r.reference = ? ORDER BY v.path'),
      insert: db.prepare(
        'INSERT INTO ValidPaths (path, narHash, narSize, registrationTime, deriver, ca, sigs, ultimate) VALUES (@path, @narHash, @narSize, @registrationTime, @deriver, @ca, @sigs, @ultimate)',
      ),
      insertRef: db.prepare('INSERT OR IGNORE INTO Refs (referrer, reference) VALUES (?, ?)'),
      insertDrvOutput: db.prepare('INSERT OR REPLACE INTO DerivationOutputs (drv, id, path) VALUES (?, ?, ?)'),
      allPaths: db.prepare<[], { path: string }>('SELECT path FROM ValidPaths ORDER BY path'),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM Meta WHERE key = ?'),
      setMeta: db.prepare('INSERT OR IGNORE INTO Meta (key, value) VALUES (?, ?)'),
      deleteMeta: db.prepare('DELETE FROM Meta WHERE key = ?'),
      deleteById: db.prepare('DELETE FROM ValidPaths WHERE id = ?'),
    };
    try {
      this.checkStoreDir();
    } catch (err) {
      db.close();
      throw err;
    }
    if (!opts.gc && !this.readOnly) ensureGcReserve(this.layout);
  }

  /** A database belongs to one store directory; its paths' hashes depend on it. */
  private checkStoreDir(): void {
    const recorded = this.stmts.getMeta.get('storeDir')?.value;
    if (recorded === undefined) {
      if (this.readOnly) return;
      // A new database. If the store directory already holds objects, the database was lost
      // (deleted, truncated): they are not garbage, and nothing may be deleted until
      // `store verify --recover` has registered them (Invariant 6).
      retryWhileBusy(() =>
        writeTx(this.db, () => {
          if (this.stmts.getMeta.get('storeDir') !== undefined) return;
          this.stmts.setMeta.run('storeDir', this.storeDir);
          const objects = this.storeObjects().length;
          if (objects) this.stmts.setMeta.run(NEEDS_RECOVERY, `the database ${this.layout.dbFile} was created when the store directory already held ${objects} objects`);
        }),
      );
      return;
    }
    if (recorded !== this.storeDir) {
      throw new StoreError('STORE_MISMATCH', `the database at ${this.layout.dbFile} belongs to the store directory ${recorded}, not ${this.storeDir}`, {
        hint: 'store paths include their store directory, so a store cannot be moved; open it at its original location',
      });
    }
  }

  /** Entries of the store directory named like store paths, valid or not. */
  storeObjects(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.storeDir);
    } catch {
      return [];
    }
    return names.filter(looksLikeStorePath).sort().map((n) => `${this.storeDir}/${n}`);
  }

  /**
   * Why the database cannot be trusted to list every path of the store, or undefined: it was
   * created (empty) beside a store directory that already held objects, and
   * `store verify --recover` has not registered them yet. (An empty database beside objects
   * is not enough to tell: a store whose paths were all collected may hold an unregistered
   * object that a running build is about to replace.)
   */
  databaseLoss(): string | undefined {
    return this.stmts.getMeta.get(NEEDS_RECOVERY)?.value;
  }

  /** Refuse `action` (anything that deletes objects) while the database may have been lost. */
  assertDatabaseIntact(action: string): void {
    const why = this.databaseLoss();
    if (why === undefined) return;
    throw new StoreError('DATABASE', `refusing to ${action}: ${why}, so it cannot tell what is alive`, {
      hint: 'run `store verify --recover` to register the objects on disk again; nothing is deleted until then',
    });
  }

  /**
   * `store verify --recover`: register objects found on disk, all in one transaction, and
   * clear the mark of a lost database.
   */
  registerRecovered(infos: readonly NewPathInfo[]): void {
    writeTx(this.db, () => {
      this.registerInTx(infos);
      this.stmts.deleteMeta.run(NEEDS_RECOVERY);
    });
  }

  /**
   * Never throws for the temporary roots: it runs in cleanup, where it must not hide the error
   * being reported (on a full disk even a DELETE can fail), and the rows of a process that has
   * exited are ignored by every reader and removed by `store gc`.
   */
  close(): void {
    try {
      if (this.db.open) this.releaseTempRoots();
    } catch {
      /* see above */
    }
    this.db.close();
  }

  // ---- queries -------------------------------------------------------------------------

  parse(p: string) {
    return parseStorePath(p, this.storeDir);
  }

  isValid(p: string): boolean {
    return this.stmts.idOf.get(p) !== undefined;
  }

  private validStmts?: { which: Statement<[string], string>; count: Statement<[string], number>; countWithDeriver: Statement<[string], number> };

  /** The valid paths among `paths`, in one query per few thousand paths. */
  validPaths(paths: readonly string[]): Set<string> {
    const { which } = this.validQueries();
    const out = new Set<string>();
    for (let i = 0; i < paths.length; i += VALID_CHUNK) for (const p of which.all(JSON.stringify(paths.slice(i, i + VALID_CHUNK)))) out.add(p);
    return out;
  }

  /** Whether every one of `paths` is valid: a count, so no row is read back. */
  allValid(paths: readonly string[]): boolean {
    const { count } = this.validQueries();
    const distinct = [...new Set(paths)];
    let n = 0;
    for (let i = 0; i < distinct.length; i += VALID_CHUNK) n += count.get(JSON.stringify(distinct.slice(i, i + VALID_CHUNK)))!;
    return n === distinct.length;
  }

  /**
   * Whether every one of `paths` is valid and has a valid deriver (.drv file): one count. A
   * valid .drv's closure holds the .drv files of all its inputs, so an evaluation whose
   * outputs all pass has every .drv file of its graph in the store (or an equal one).
   */
  allValidWithDerivers(paths: readonly string[]): boolean {
    const { countWithDeriver } = this.validQueries();
    const distinct = [...new Set(paths)];
    let n = 0;
    for (let i = 0; i < distinct.length; i += VALID_CHUNK) n += countWithDeriver.get(JSON.stringify(distinct.slice(i, i + VALID_CHUNK)))!;
    return n === distinct.length;
  }

  private closureStmt?: Statement<[string], string>;
  private refStmts?: { count: Statement<[string], number>; insert: Statement<[number, string]> };

  private validQueries() {
    return (this.validStmts ??= {
      countWithDeriver: this.db
        .prepare<[string], number>('SELECT count(*) FROM json_each(?) j JOIN ValidPaths v ON v.path = j.value WHERE v.deriver IS NOT NULL AND EXISTS (SELECT 1 FROM ValidPaths d WHERE d.path = v.deriver)')
        .pluck(),
      which: this.db.prepare<[string], string>('SELECT path FROM ValidPaths WHERE path IN (SELECT value FROM json_each(?))').pluck(),
      count: this.db.prepare<[string], number>('SELECT count(*) FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM ValidPaths v WHERE v.path = j.value)').pluck(),
    });
  }

  queryPathInfo(p: string): PathInfo | undefined {
    const row = this.stmts.byPath.get(p);
    if (!row) return undefined;
    return rowToInfo(row, this.stmts.references.all(row.id).map((r) => r.path));
  }

  /** Like queryPathInfo, but an invalid path is an error that names it. */
  pathInfo(p: string): PathInfo {
    const info = this.queryPathInfo(p);
    if (!info) throw new StoreError('NOT_VALID', `path '${p}' is not valid in the store`, { hint: 'it was never added, or it was garbage-collected' });
    return info;
  }

  queryReferrers(p: string): string[] {
    const id = this.stmts.idOf.get(p)?.id;
    return id === undefined ? [] : this.stmts.referrers.all(id).map((r) => r.path);
  }

  allValidPaths(): string[] {
    return this.stmts.allPaths.all().map((r) => r.path);
  }

  /** The closure of `paths` under references, sorted. Every path must be valid. */
  queryClosure(paths: readonly string[]): string[] {
    if (paths.length === 0) return [];
    // One recursive query (a build's input closure can be thousands of paths; two queries a
    // path were most of what a build cost with that many inputs).
    const closure = (this.closureStmt ??= this.db
      .prepare<[string], string>(
        `WITH RECURSIVE c(id) AS (
           SELECT v.id FROM json_each(?) j JOIN ValidPaths v ON v.path = j.value
           UNION SELECT r.reference FROM Refs r JOIN c ON r.referrer = c.id
         ) SELECT v.path FROM c JOIN ValidPaths v ON v.id = c.id ORDER BY v.path`,
      )
      .pluck()).all(JSON.stringify(paths));
    // Every valid path is in its own closure: one that is not there is not valid.
    const found = new Set(closure);
    for (const p of paths) if (!found.has(p)) throw new StoreError('NOT_VALID', `path '${p}' is not valid in the store`);
    return closure;
  }

  /** The closure in dependency order: every path after all of its references. */
  topoSortClosure(paths: readonly string[]): string[] {
    const closure = this.queryClosure(paths);
    const refs = new Map(closure.map((p) => [p, this.pathInfo(p).references.filter((r) => r !== p)]));
    try {
      return dependencyOrder(closure, (p) => refs.get(p)!);
    } catch (e) {
      if (e instanceof GraphCycle) throw new StoreError('CYCLE', `cycle in the references: ${e.cycle.join(' -> ')}`);
      throw e;
    }
  }

  // ---- registration --------------------------------------------------------------------

  /** A fresh temporary name in the store directory, on the same file system as the final path. */
  tempPath(label: string): string {
    return path.join(this.storeDir, `${TEMP_PREFIX}${label}-${process.pid}-${nodeCrypto().randomBytes(6).toString('hex')}`);
  }

  /**
   * Register paths that are already complete on disk, with their references, in one
   * transaction. References must be valid or registered in the same batch.
   */
  registerValidPaths(infos: readonly NewPathInfo[]): void {
    writeTx(this.db, () => this.registerInTx(infos));
  }

  private registerInTx(infos: readonly NewPathInfo[]): void {
    const now = Math.floor(Date.now() / 1000);
    const ids = new Map<string, number>();
    for (const info of infos) {
      const existing = this.stmts.idOf.get(info.path)?.id;
      if (existing !== undefined) {
        ids.set(info.path, existing);
        continue;
      }
      const res = this.stmts.insert.run({
        path: info.path,
        narHash: info.narHash,
        narSize: info.narSize,
        registrationTime: now,
        deriver: info.deriver ?? null,
        ca: info.ca ?? null,
        sigs: (info.sigs ?? []).join(' '),
        ultimate: info.ultimate ? 1 : 0,
      });
      ids.set(info.path, Number(res.lastInsertRowid));
    }
    for (const info of infos) {
      const referrer = ids.get(info.path)!;
      // References within the batch one by one; those already valid in one statement (a
      // derivation can have thousands).
      const outside: string[] = [];
      for (const ref of info.references) {
        const refId = ids.get(ref);
        if (refId === undefined) outside.push(ref);
        else this.stmts.insertRef.run(referrer, refId);
      }
      if (outside.length > SET_REFERENCES) {
        const distinct = [...new Set(outside)];
        const refs = (this.refStmts ??= {
          count: this.db.prepare<[string], number>('SELECT count(*) FROM json_each(?) j JOIN ValidPaths v ON v.path = j.value').pluck(),
          insert: this.db.prepare<[number, string]>('INSERT OR IGNORE INTO Refs (referrer, reference) SELECT ?, v.id FROM json_each(?) j JOIN ValidPaths v ON v.path = j.value'),
        });
        const json = JSON.stringify(distinct);
        if (refs.count.get(json) !== distinct.length) this.invalidReference(info.path, distinct);
        refs.insert.run(referrer, json);
      } else {
        for (const ref of outside) {
          const refId = this.stmts.idOf.get(ref)?.id;
          if (refId === undefined) this.invalidReference(info.path, [ref]);
          this.stmts.insertRef.run(referrer, refId);
        }
      }
      for (const [out, outPath] of Object.entries(info.derivationOutputs ?? {})) this.stmts.insertDrvOutput.run(referrer, out, outPath);
    }
  }

  /** The error for a path registered with a reference that is not valid: the first of `refs` that is not. */
  private invalidReference(p: string, refs: readonly string[]): never {
    const ref = refs.find((r) => this.stmts.idOf.get(r) === undefined) ?? refs[0];
    throw new StoreError('NOT_VALID', `cannot register '${p}': its reference '${ref}' is not valid`, {
      hint: 'register (or import) the references first',
    });
  }

  /**
   * Move a complete, canonical object from `temp` to `info.path` and register it, as one
   * step under the database write lock: if the path became valid meanwhile the temporary
   * copy is dropped; a stale unregistered object at the final name is replaced.
   */
  commitPath(temp: string, info: NewPathInfo): void {
    try {
      writeTx(this.db, () => {
        if (this.isValid(info.path)) return;
        if (pathExists(info.path)) removeTree(info.path);
        fs.renameSync(temp, info.path);
        try {
          this.registerInTx([info]);
        } catch (err) {
          // The transaction rolls back; do not leave an unregistered object at the final name.
          removeTree(info.path);
          throw err;
        }
      });
    } finally {
      removeTree(temp);
    }
  }

  /**
   * commitPath for many objects at once (an import): every object is moved into place and
   * registered in one transaction, so either all of them become valid or none does.
   */
  commitPaths(items: ReadonlyArray<{ temp: string; info: NewPathInfo }>): void {
    try {
      writeTx(this.db, () => {
        const todo = items.filter((i) => !this.isValid(i.info.path));
        const moved: string[] = [];
        try {
          for (const { temp, info } of todo) {
            if (pathExists(info.path)) removeTree(info.path);
            fs.renameSync(temp, info.path);
            moved.push(info.path);
          }
          this.registerInTx(todo.map((i) => i.info));
        } catch (err) {
          for (const p of moved) removeTree(p);
          throw err;
        }
      });
    } finally {
      for (const { temp } of items) removeTree(temp);
    }
  }

  /**
   * Remove whatever of `paths` is not valid, under the write lock (so that nothing another
   * process moves into place and registers meanwhile is lost): the outputs of a build that
   * could not be registered. Needs no free space: the transaction writes nothing.
   */
  removeUnregistered(paths: readonly string[]): void {
    writeTx(this.db, () => {
      for (const p of paths) if (!this.isValid(p) && pathExists(p)) removeTree(p);
    });
  }

  /**
   * Put a verified copy (`temp`, already canonical, with the recorded narHash) in place of a
   * valid path's damaged contents (`store verify --repair`). Under the write lock, so no
   * other process sees the path half replaced while it could change its row.
   */
  replaceValidPath(temp: string, p: string, narHash: string): void {
    try {
      writeTx(this.db, () => {
        const info = this.pathInfo(p);
        if (info.narHash !== narHash) throw new StoreError('HASH_MISMATCH', `cannot repair '${p}': the copy has narHash ${narHash}, the database says ${info.narHash}`);
        if (pathExists(p)) removeTree(p);
        fs.renameSync(temp, p);
      });
    } finally {
      removeTree(temp);
    }
  }

  /**
   * Record valid paths as made by this store (`ultimate`): a text object (a .drv) that its own
   * evaluation wrote out byte for byte, after a copy came in by import or substitution.
   */
  markUltimate(paths: readonly string[]): void {
    if (paths.length === 0) return;
    const stmt = this.db.prepare<[string]>('UPDATE ValidPaths SET ultimate = 1 WHERE ultimate = 0 AND path IN (SELECT value FROM json_each(?))');
    for (let i = 0; i < paths.length; i += VALID_CHUNK) stmt.run(JSON.stringify(paths.slice(i, i + VALID_CHUNK)));
  }

  /** Replace the signatures recorded for a valid path (`store sign`). */
  setSignatures(p: string, sigs: readonly string[]): void {
    const res = this.db.prepare('UPDATE ValidPaths SET sigs = ? WHERE path = ?').run(sigs.join(' '), p);
    if (res.changes === 0) throw new StoreError('NOT_VALID', `path '${p}' is not valid in the store`);
  }

  /** `store add`: copy a file or tree into the store by content. Adding it twice gives the same path. */
  async addToStore(src: string, name = path.basename(path.resolve(src))): Promise<string> {
    validateName(name, `name for '${src}'`);
    const abs = path.resolve(src);
    try {
      fs.lstatSync(abs);
    } catch {
      throw new StoreError('IO', `cannot add '${src}': it does not exist`);
    }
    const temp = this.tempPath('add');
    try {
      const nar = await hashPath(abs, { copyTo: temp });
      const storePath = makeStorePath('source', nar.digest.toString('hex'), this.storeDir, name);
      this.addTempRoots([storePath]);
      if (!this.isValid(storePath)) {
        this.commitPath(temp, { path: storePath, narHash: nar.narHash, narSize: nar.narSize, references: [], ca: `nar:${nar.narHash}`, ultimate: true });
      }
      return storePath;
    } finally {
      removeTree(temp);
    }
  }

  /** Add a text file (e.g. a .drv) whose references are known; its path depends on them. */
  async addTextToStore(name: string, text: string, references: readonly string[]): Promise<string> {
    const storePath = makeStorePath(typeWithReferences('text', references), sha256Hex(text), this.storeDir, name);
    this.addTempRoots([storePath]);
    if (this.isValid(storePath)) return storePath;
    const temp = this.tempPath('text');
    try {
      fs.writeFileSync(temp, text, { mode: 0o644 });
      const nar = await hashPath(temp);
      fs.chmodSync(temp, 0o444);
      fs.utimesSync(temp, 1, 1);
      this.commitPath(temp, { path: storePath, narHash: nar.narHash, narSize: nar.narSize, references: [...references], ca: `text:${toSRI(sha256(text))}`, ultimate: true });
    } finally {
      removeTree(temp);
    }
    return storePath;
  }

  // ---- temporary GC roots (see src/gc) -----------------------------------------------------

  private tempRooted = new Set<string>();
  /** Made with the first temporary root: the statements, and this store object's session (a random number). */
  private tempRootStmts?: { add: Statement<[number, string, number, string]>; release: Statement<[number, string, number]>; session: number };

  /**
   * Keep `paths` alive for as long as this process runs (or until close()), whether they are
   * valid yet or not. Call it BEFORE checking that a path is valid and relying on it: the
   * collector re-reads temporary roots in the same write transaction that deletes a path,
   * so either it sees the root and keeps the path, or the path is already invalid when the
   * caller looks. One row for the whole batch (store-schema/004); paths already rooted cost
   * nothing.
   */
  addTempRoots(paths: Iterable<string>): void {
    const fresh: string[] = [];
    for (const p of paths) {
      if (this.tempRooted.has(p)) continue;
      this.tempRooted.add(p);
      fresh.push(p);
    }
    if (fresh.length === 0) return;
    const me = thisProcess();
    this.tempRootStmts ??= {
      add: this.db.prepare<[number, string, number, string]>('INSERT INTO TempRoots (pid, procStart, session, paths) VALUES (?, ?, ?, ?)'),
      release: this.db.prepare<[number, string, number]>('DELETE FROM TempRoots WHERE pid = ? AND procStart = ? AND session = ?'),
      session: nodeCrypto().randomBytes(4).readUInt32BE(0) >>> 1,
    };
    try {
      this.tempRootStmts.add.run(me.pid, me.start, this.tempRootStmts.session, fresh.join('\n'));
    } catch (err) {
      for (const p of fresh) this.tempRooted.delete(p);
      throw err;
    }
    liveStores.add(this);
  }

  /** Drop the temporary roots taken through this store object (done by close(), and at exit). */
  releaseTempRoots(): void {
    liveStores.delete(this);
    if (this.tempRooted.size === 0 || !this.tempRootStmts) return;
    const me = thisProcess();
    this.tempRootStmts.release.run(me.pid, me.start, this.tempRootStmts.session);
    this.tempRooted.clear();
  }

  // ---- locks and the collector (see src/gc) -------------------------------------------

  /**
   * Run `fn` holding the database's write lock, in one write transaction taken up front:
   * every other writer (a registration, a temporary root, a lock) is ordered before or after
   * it. The collector re-reads roots and deletes rows, and removes files, under it.
   */
  withWriteLock<T>(fn: () => T): T {
    return writeTx(this.db, fn);
  }

  /** A new set of path locks held by this process (each set releases only its own). */
  pathLocks(): PathLocks {
    return new (locksModule().PathLocks)(this.db);
  }

  /** Run `fn` on one consistent snapshot of the reference graph (one read transaction). */
  readSnapshot<T>(fn: (snap: ReferenceSnapshot) => T): T {
    return snapshotModule().readSnapshot(this.db, this.storeDir, fn);
  }

  private gcRowsCache?: GcRows;
  private get gcRows(): GcRows {
    return (this.gcRowsCache ??= new (gcRowsModule().GcRows)(this.db));
  }

  /** Every batch of temporary roots, whether its owner still runs or not. */
  tempRootBatches(): TempRootBatch[] {
    return this.gcRows.tempRootBatches();
  }

  /** The build locks on any of `paths`; without `paths`, every lock (holders alive or not). */
  pathLockRows(paths?: readonly string[]): LockRow[] {
    return paths ? this.gcRows.locksOn(paths) : this.gcRows.allLocks();
  }

  /** References to any of the rows `ids` (ValidPaths ids, as StoreGraph.rowIds holds them). */
  referrersOfRows(ids: readonly number[]): RefRow[] {
    return this.gcRows.referrersOf(ids);
  }

  /**
   * Delete the rows `ids` and their references: the paths are invalid from here (the
   * collector's commit point; call it inside withWriteLock, after re-checking the roots).
   */
  invalidateRows(ids: readonly number[]): void {
    this.gcRows.invalidate(ids);
  }

  /** Delete lock rows and the temporary roots of owners that are gone (one write transaction). */
  removeDeadProcessRows(locks: readonly LockRow[], owners: ReadonlyArray<{ pid: number; start: string }>): { locks: number; owners: boolean[] } {
    return this.gcRows.removeDeadRows(locks, owners);
  }

  /** The valid derivations (.drv paths) recorded as having `p` as an output. */
  queryValidDerivers(p: string): string[] {
    return this.db
      .prepare<[string], { path: string }>('SELECT v.path FROM DerivationOutputs d JOIN ValidPaths v ON v.id = d.drv WHERE d.path = ?')
      .all(p)
      .map((r) => r.path);
  }

  // ---- releases (see src/gc/releases.ts) -------------------------------------------------

  listReleases(): Release[] {
    return releasesModule().listReleases(this.db);
  }

  releaseRootRows(): ReleaseRootRow[] {
    return releasesModule().releaseRootRows(this.db);
  }

  /** Record a release whose outputs are valid (checked in the same transaction). */
  addRelease(name: string, outputs: readonly ReleaseOutput[], source?: string): { created: boolean } {
    return releasesModule().addRelease(this.db, (p) => this.isValid(p), name, outputs, source);
  }

  /** False if there is no release `name`. */
  deprecateRelease(name: string): boolean {
    return releasesModule().deprecateRelease(this.db, name);
  }

  /** False if there is no release `name`. */
  removeRelease(name: string): boolean {
    return releasesModule().removeRelease(this.db, name);
  }

  // ---- verification --------------------------------------------------------------------

  async verify(opts: { checkContents?: boolean; paths?: readonly string[]; onProgress?: (done: number, total: number, bytes: number) => void } = {}): Promise<VerifyReport> {
    const paths = opts.paths ?? this.allValidPaths();
    const report: VerifyReport = { checked: 0, missing: [], modified: [] };
    let bytes = 0; // narSize of the paths checked (re-hashed, with checkContents)
    for (const p of paths) {
      // A path that `store gc` invalidated since the listing is gone, not missing (GC: the
      // row goes first, then the files; so look again before reporting).
      const info = opts.paths ? this.pathInfo(p) : this.queryPathInfo(p);
      if (!info) continue;
      report.checked++;
      if (!pathExists(p)) {
        if (this.isValid(p)) report.missing.push(p);
      } else if (opts.checkContents) {
        // A path that cannot be archived (a name that is not valid UTF-8, a device file, no
        // permission) is reported, and the others are still checked.
        const actual = await hashPath(p).catch((e: unknown) => {
          if (this.isValid(p)) (report.unreadable ??= []).push({ path: p, error: (e as Error)?.message ?? String(e) });
          return undefined;
        });
        if (actual && (actual.narHash !== info.narHash || actual.narSize !== info.narSize) && this.isValid(p)) {
          report.modified.push({ path: p, expected: info.narHash, actual: actual.narHash, expectedSize: info.narSize, actualSize: actual.narSize });
        }
      }
      bytes += info.narSize;
      opts.onProgress?.(report.checked, paths.length, bytes);
    }
    return report;
  }

  /** Temporary objects left in the store directory by killed processes. */
  strayTemporaries(): string[] {
    return fs
      .readdirSync(this.storeDir)
      .filter((f) => f.startsWith(TEMP_PREFIX))
      .map((f) => path.join(this.storeDir, f));
  }
}


/** Stores holding temporary roots, released when the process exits (a dead owner's rows are ignored anyway). */
const liveStores = new Set<LocalStore>();
process.on('exit', () => {
  for (const s of liveStores) {
    try {
      if (databaseOf(s).open) s.releaseTempRoots();
    } catch {
      /* harmless: rows of a dead process are ignored and cleaned by store gc */
    }
  }
});


export function openStore(root: string): LocalStore {
  return new LocalStore(root);
}
