/**
 * The local store: objects under `<root>/store`, metadata in SQLite under `<root>/var`.
 * Content is written under a temporary name, canonicalised and hashed, renamed into place,
 * and only then registered with its references in one transaction (Invariant 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { StoreError } from '../errors.js';
import { pathExists, removeTree } from '../archive/canonical.js';
import { sha256, sha256Hex } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { makeStorePath, parseStorePath, typeWithReferences, validateName } from './path.js';
import { openDatabase, writeTx, type DB, retryWhileBusy } from './db.js';
import type { Statement } from 'better-sqlite3';
import { storeLayout, type StoreLayout } from './root.js';
import { thisProcess } from './process.js';
import { ensureGcReserve, releaseGcReserve } from './reserve.js';

export interface PathInfo {
  path: string;
  narHash: string;
  narSize: number;
  registrationTime: number;
  deriver?: string;
  ca?: string;
  sigs: string[];
  ultimate: boolean;
  references: string[];
}

export type NewPathInfo = Omit<PathInfo, 'registrationTime' | 'sigs' | 'ultimate'> & Partial<Pick<PathInfo, 'sigs' | 'ultimate'>> & {
  /** Output name → path, when registering a .drv. */
  derivationOutputs?: Record<string, string>;
};

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
/** Paths per validity query (one JSON array parameter each). */
const VALID_CHUNK = 10000;

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

export class LocalStore {
  readonly layout: StoreLayout;
  readonly storeDir: string;
  readonly db: DB;
  private readonly stmts;

  /**
   * `opts.gc`: opened to collect garbage, which may be on a full disk: the space reserved for it
   * (src/store/reserve.ts) is freed before the database is opened. Otherwise the reserve is
   * made (if missing) once the database is open.
   */
  constructor(root: string, opts: { gc?: boolean } = {}) {
    this.layout = storeLayout(path.resolve(root));
    this.storeDir = this.layout.storeDir;
    fs.mkdirSync(this.storeDir, { recursive: true });
    if (opts.gc) releaseGcReserve(this.layout);
    this.db = openDatabase(this.layout.dbFile);
    const db = this.db;
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
      deleteById: db.prepare('DELETE FROM ValidPaths WHERE id = ?'),
    };
    try {
      this.checkStoreDir();
    } catch (err) {
      db.close();
      throw err;
    }
    if (!opts.gc) ensureGcReserve(this.layout);
  }

  /** A database belongs to one store directory; its paths' hashes depend on it. */
  private checkStoreDir(): void {
    const recorded = this.stmts.getMeta.get('storeDir')?.value;
    if (recorded === undefined) {
      retryWhileBusy(() => writeTx(this.db, () => this.stmts.setMeta.run('storeDir', this.storeDir)));
      return;
    }
    if (recorded !== this.storeDir) {
      throw new StoreError('STORE_MISMATCH', `the database at ${this.layout.dbFile} belongs to the store directory ${recorded}, not ${this.storeDir}`, {
        hint: 'store paths include their store directory, so a store cannot be moved; open it at its original location',
      });
    }
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

  private validStmts?: { which: Statement<[string], string>; count: Statement<[string], number> };

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

  private validQueries() {
    return (this.validStmts ??= {
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
    const seen = new Set<string>();
    const stack = [...paths];
    while (stack.length) {
      const p = stack.pop()!;
      if (seen.has(p)) continue;
      const id = this.stmts.idOf.get(p)?.id;
      if (id === undefined) throw new StoreError('NOT_VALID', `path '${p}' is not valid in the store`);
      seen.add(p);
      for (const r of this.stmts.references.all(id)) if (!seen.has(r.path)) stack.push(r.path);
    }
    return [...seen].sort();
  }

  /** The closure in dependency order: every path after all of its references. */
  topoSortClosure(paths: readonly string[]): string[] {
    const closure = this.queryClosure(paths);
    const refs = new Map(closure.map((p) => [p, this.pathInfo(p).references.filter((r) => r !== p)]));
    const out: string[] = [];
    const state = new Map<string, 1 | 2>();
    const visit = (p: string, chain: string[]) => {
      const s = state.get(p);
      if (s === 2) return;
      if (s === 1) throw new StoreError('CYCLE', `cycle in the references: ${[...chain, p].join(' -> ')}`);
      state.set(p, 1);
      for (const r of refs.get(p)!) visit(r, [...chain, p]);
      state.set(p, 2);
      out.push(p);
    };
    for (const p of closure) visit(p, []);
    return out;
  }

  // ---- registration --------------------------------------------------------------------

  /** A fresh temporary name in the store directory, on the same file system as the final path. */
  tempPath(label: string): string {
    return path.join(this.storeDir, `${TEMP_PREFIX}${label}-${process.pid}-${randomBytes(6).toString('hex')}`);
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
      for (const ref of info.references) {
        const refId = ids.get(ref) ?? this.stmts.idOf.get(ref)?.id;
        if (refId === undefined) {
          throw new StoreError('NOT_VALID', `cannot register '${info.path}': its reference '${ref}' is not valid`, {
            hint: 'register (or import) the references first',
          });
        }
        this.stmts.insertRef.run(referrer, refId);
      }
      for (const [out, outPath] of Object.entries(info.derivationOutputs ?? {})) this.stmts.insertDrvOutput.run(referrer, out, outPath);
    }
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
  private readonly tempRootSession = randomBytes(4).readUInt32BE(0) >>> 1;
  private tempRootStmts?: { add: Statement<[number, string, number, string]>; release: Statement<[number, string, number]> };

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
    };
    try {
      this.tempRootStmts.add.run(me.pid, me.start, this.tempRootSession, fresh.join('\n'));
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
    this.tempRootStmts.release.run(me.pid, me.start, this.tempRootSession);
    this.tempRooted.clear();
  }

  // ---- verification --------------------------------------------------------------------

  async verify(opts: { checkContents?: boolean; paths?: readonly string[]; onProgress?: (done: number, total: number) => void } = {}): Promise<VerifyReport> {
    const paths = opts.paths ?? this.allValidPaths();
    const report: VerifyReport = { checked: 0, missing: [], modified: [] };
    for (const p of paths) {
      // A path that `store gc` invalidated since the listing is gone, not missing (GC: the
      // row goes first, then the files; so look again before reporting).
      const info = opts.paths ? this.pathInfo(p) : this.queryPathInfo(p);
      if (!info) continue;
      report.checked++;
      if (!pathExists(p)) {
        if (this.isValid(p)) report.missing.push(p);
      } else if (opts.checkContents) {
        const actual = await hashPath(p).catch((e) => {
          if (this.isValid(p)) throw e;
          return undefined;
        });
        if (actual && (actual.narHash !== info.narHash || actual.narSize !== info.narSize) && this.isValid(p)) {
          report.modified.push({ path: p, expected: info.narHash, actual: actual.narHash, expectedSize: info.narSize, actualSize: actual.narSize });
        }
      }
      opts.onProgress?.(report.checked, paths.length);
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

export interface VerifyReport {
  checked: number;
  missing: string[];
  modified: Array<{ path: string; expected: string; actual: string; expectedSize: number; actualSize: number }>;
}

/** Stores holding temporary roots, released when the process exits (a dead owner's rows are ignored anyway). */
const liveStores = new Set<LocalStore>();
process.on('exit', () => {
  for (const s of liveStores) {
    try {
      if (s.db.open) s.releaseTempRoots();
    } catch {
      /* harmless: rows of a dead process are ignored and cleaned by store gc */
    }
  }
});


export function openStore(root: string): LocalStore {
  return new LocalStore(root);
}
