/** Opening the store database: pragmas, ordered migrations from store-schema/, write transactions. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';

export type DB = Database.Database;

/**
 * The database of each open store, for the store's own white-box tests (which inspect or
 * damage rows): a store's handle is private, and no folder above src/store/ may import this
 * module (test/store/layering.test.ts).
 */
const handles = new WeakMap<object, DB>();
export function attachDatabase(store: object, db: DB): void {
  handles.set(store, db);
}
export function databaseOf(store: object): DB {
  const db = handles.get(store);
  if (!db) throw new Error('databaseOf: not an open store');
  return db;
}

// Loaded with require (an ES import of a CommonJS package first scans its source for names),
// and given its addon's path (the 'bindings' package otherwise looks in a dozen places).
const require = createRequire(import.meta.url);
const Sqlite = require('better-sqlite3') as typeof Database;
let addonPath: string | null | undefined;
function nativeBinding(): string | undefined {
  if (addonPath === undefined) {
    try {
      addonPath = require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
    } catch {
      addonPath = null;
    }
  }
  return addonPath ?? undefined;
}

/** How long a writer waits for another before giving up (SQLite's busy handler). */
const BUSY_TIMEOUT_MS = 10 * 60 * 1000;

export const SCHEMA_DIR = fileURLToPath(new URL('../../../store-schema/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = SCHEMA_DIR): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => /^\d{3}-[a-z0-9-]+\.sql$/.test(f)).sort();
  return files.map((f, i) => {
    const version = Number(f.slice(0, 3));
    if (version !== i + 1) throw new StoreError('SCHEMA', `migration ${f} is out of sequence (expected ${String(i + 1).padStart(3, '0')}-…)`);
    return { version, name: f, sql: fs.readFileSync(path.join(dir, f), 'utf8') };
  });
}

/** Run `fn` in a write transaction taken up front (BEGIN IMMEDIATE), so it never fails half-way with SQLITE_BUSY. */
export function writeTx<T>(db: DB, fn: () => T): T {
  return db.transaction(fn).immediate();
}

function migrationCount(dir = SCHEMA_DIR): number {
  return fs.readdirSync(dir).filter((f) => /^\d{3}-[a-z0-9-]+\.sql$/.test(f)).length;
}

export function migrate(db: DB, given?: Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  // The files are read only when there is something to apply.
  const known = given?.length ?? migrationCount();
  if (current > known) {
    throw new StoreError('SCHEMA', `the store database has schema version ${current}, newer than this hepstore knows (${known})`, {
      hint: 'use a newer hepstore with this store',
    });
  }
  if (current === known) return;
  const migrations = given ?? loadMigrations();
  writeTx(db, () => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const v = db.pragma('user_version', { simple: true }) as number;
    for (const m of migrations.slice(v)) {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
  });
}

const BUSY_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_SNAPSHOT']);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Run `fn` again while SQLite reports that another connection holds the lock (bounded). */
export function retryWhileBusy<T>(fn: () => T, deadlineMs = BUSY_TIMEOUT_MS): T {
  const until = Date.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !BUSY_CODES.has(code) || Date.now() > until) throw err;
      Atomics.wait(sleeper, 0, 0, Math.min(100, 5 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
    }
  }
}

/** SQLite's answers for a file that is not a database, or a damaged one. */
const DAMAGED_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

export function isDamagedDatabaseError(err: unknown): boolean {
  return DAMAGED_CODES.has((err as { code?: string })?.code ?? '');
}

export function damagedDatabase(file: string, err: unknown): StoreError {
  return new StoreError('DATABASE', `the store database ${file} is not a SQLite database or is damaged (${(err as Error).message})`, {
    cause: err,
    hint: 'run `store verify --recover`: it moves the file aside and rebuilds the database from the objects in the store directory',
  });
}

function writable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

let uriConfigured = false;

/**
 * better-sqlite3 reads SQLITE_USE_URI once, when its addon is loaded by the first open; URI
 * file names are needed for `immutable=1` (a WAL database on a read-only file system).
 */
function newDatabase(file: string, given: Database.Options): DB {
  const addon = nativeBinding();
  const opts = addon ? { ...given, nativeBinding: addon } : given;
  if (uriConfigured) return new Sqlite(file, opts);
  const before = process.env.SQLITE_USE_URI;
  process.env.SQLITE_USE_URI = '1';
  try {
    return new Sqlite(file, opts);
  } finally {
    uriConfigured = true;
    if (before === undefined) delete process.env.SQLITE_USE_URI;
    else process.env.SQLITE_USE_URI = before;
  }
}

/**
 * Open a database for reading only: as it is, or, where SQLite cannot make the WAL's shared
 * memory file beside it (a read-only file system), as an immutable file.
 */
function openReadOnly(file: string): DB {
  try {
    const db = newDatabase(file, { readonly: true, fileMustExist: true });
    db.pragma('user_version');
    return db;
  } catch (err) {
    if (isDamagedDatabaseError(err)) throw err;
    const db = newDatabase(`file:${encodeURI(file).replace(/[?#]/g, encodeURIComponent)}?immutable=1`, { readonly: true, fileMustExist: true });
    db.pragma('user_version');
    return db;
  }
}

/**
 * Open the store database. It is opened read-only when asked, or when it (or its directory)
 * cannot be written: commands that only read then work on a read-only store.
 */
export function openDatabase(file: string, opts: { readonly?: boolean } = {}): DB {
  const dir = path.dirname(file);
  const exists = fs.existsSync(file);
  const readonly = opts.readonly || (exists && !(writable(file) && writable(dir)));
  if (!exists) {
    if (opts.readonly || (fs.existsSync(dir) && !writable(dir))) {
      throw new StoreError('DATABASE', `there is no store database at ${file}, and it cannot be created here (read-only)`, {
        hint: 'run the command where the store is writable; if the store directory holds objects, `store verify --recover` rebuilds the database',
      });
    }
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new StoreError('IO', `cannot create the directory of the store database ${dir}: ${(err as Error).message}`, { cause: err, hint: 'check the store root (--store or STORE_ROOT) and its permissions' });
    }
  }
  let db: DB;
  try {
    db = readonly ? openReadOnly(file) : newDatabase(file, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    if (isDamagedDatabaseError(err)) throw damagedDatabase(file, err);
    throw new StoreError('DATABASE', `cannot open the store database ${file}: ${(err as Error).message}`, { cause: err, hint: 'check that the file and its directory exist and are readable' });
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!readonly) {
      // Switching a new database to WAL needs it to itself; SQLite can answer "locked" here
      // without waiting, while another process does the same. Wait and try again.
      retryWhileBusy(() => db.pragma('journal_mode = WAL'));
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    if (!readonly) retryWhileBusy(() => migrate(db));
    else {
      const version = db.pragma('user_version', { simple: true }) as number;
      const known = loadMigrations().length;
      if (version !== known) {
        throw new StoreError('SCHEMA', `the store database ${file} has schema version ${version}, and this hepstore uses ${known}; it is read-only here, so it cannot be migrated`, {
          hint: version < known ? 'run any command once where the store is writable' : 'use a newer hepstore with this store',
        });
      }
    }
  } catch (err) {
    db.close();
    if (isDamagedDatabaseError(err)) throw damagedDatabase(file, err);
    throw err;
  }
  return db;
}
