/** Opening the store database: pragmas, ordered migrations from store-schema/, write transactions. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';

export type DB = Database.Database;

// Loaded with require (an ES import of a CommonJS package first scans its source for names),
// and given its addon's path (the 'bindings' package otherwise looks in a dozen places).
const require = createRequire(import.meta.url);
const Sqlite = require('better-sqlite3') as typeof Database;
function nativeBinding(): string | undefined {
  try {
    return require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
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

export function openDatabase(file: string, opts: { readonly?: boolean } = {}): DB {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let db: DB;
  try {
    const addon = nativeBinding();
    db = new Sqlite(file, { timeout: BUSY_TIMEOUT_MS, readonly: opts.readonly ?? false, ...(addon ? { nativeBinding: addon } : {}) });
  } catch (err) {
    throw new StoreError('IO', `cannot open the store database ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!opts.readonly) {
      // Switching a new database to WAL needs it to itself; SQLite can answer "locked" here
      // without waiting, while another process does the same. Wait and try again.
      retryWhileBusy(() => db.pragma('journal_mode = WAL'));
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    if (!opts.readonly) retryWhileBusy(() => migrate(db));
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
