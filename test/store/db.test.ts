import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expectStoreError, newStore, tmpDir } from '../helpers.js';
import { SCHEMA_DIR, loadMigrations, migrate, openDatabase, databaseOf } from '../../src/store/db.js';
import { LocalStore, type NewPathInfo } from '../../src/store/local-store.js';
import { makeStorePath } from '../../src/store/path.js';
import { sha256Hex } from '../../src/hash/sha256.js';
import { toSRI } from '../../src/hash/sri.js';
import { sha256 } from '../../src/hash/sha256.js';

const schemaFiles = () => fs.readdirSync(SCHEMA_DIR).filter((f) => /^\d{3}-.*\.sql$/.test(f));

/** A registration record for a made-up path (registration does not look at the disk). */
function info(store: LocalStore, name: string, references: string[] = []): NewPathInfo {
  return {
    path: makeStorePath('source', sha256Hex(name), store.storeDir, name),
    narHash: toSRI(sha256(`nar of ${name}`)),
    narSize: 1234,
    references,
  };
}

const count = (store: LocalStore, table: string) => (databaseOf(store).prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

test('a new store has every migration applied: user_version = number of schema files', () => {
  const files = schemaFiles();
  assert.ok(files.length >= 1);
  const store = newStore();
  try {
    assert.is(databaseOf(store).pragma('user_version', { simple: true }), files.length);
    const tables = databaseOf(store).prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => (r as { name: string }).name);
    for (const t of ['Meta', 'ValidPaths', 'Refs', 'DerivationOutputs']) assert.ok(tables.includes(t), `table ${t}`);
  } finally {
    store.close();
  }
});

test('the database runs in WAL mode with foreign keys on and a busy timeout', () => {
  const store = newStore();
  try {
    assert.is(databaseOf(store).pragma('journal_mode', { simple: true }), 'wal');
    assert.is(databaseOf(store).pragma('foreign_keys', { simple: true }), 1);
    const timeout = databaseOf(store).pragma('busy_timeout', { simple: true }) as number;
    assert.ok(timeout >= 5000, `busy_timeout is ${timeout} ms`);
    assert.is(databaseOf(store).pragma('synchronous', { simple: true }), 1, 'synchronous = NORMAL');
  } finally {
    store.close();
  }
});

test('reopening a store keeps its data and does not re-run migrations', () => {
  const root = path.join(tmpDir('reopen'), 'root');
  const a = new LocalStore(root);
  const rec = info(a, 'kept');
  a.registerValidPaths([rec]);
  a.close();
  const b = new LocalStore(root);
  try {
    assert.ok(b.isValid(rec.path));
    assert.is(databaseOf(b).pragma('user_version', { simple: true }), schemaFiles().length);
  } finally {
    b.close();
  }
});

function writeSchema(dir: string, files: Record<string, string>): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), sql);
  return dir;
}

test('migrations are applied in order, each once, and only the missing ones', () => {
  const dir = writeSchema(path.join(tmpDir('schema'), 'schema'), {
    // Each step depends on the previous one, so a wrong order fails.
    '001-first.sql': 'CREATE TABLE Log (step INTEGER NOT NULL);\nINSERT INTO Log VALUES (1);',
    '002-second.sql': 'ALTER TABLE Log ADD COLUMN note TEXT;\nINSERT INTO Log VALUES (2, (SELECT count(*) FROM Log));',
    '003-third.sql': "INSERT INTO Log VALUES (3, 'three');",
    'README.md': 'not a migration',
  });
  const all = loadMigrations(dir);
  assert.equal(all.map((m) => [m.version, m.name]), [
    [1, '001-first.sql'],
    [2, '002-second.sql'],
    [3, '003-third.sql'],
  ]);
  const db = new Database(path.join(tmpDir('mig'), 'x.sqlite'));
  try {
    migrate(db, all.slice(0, 1));
    assert.is(db.pragma('user_version', { simple: true }), 1);
    migrate(db, all);
    assert.is(db.pragma('user_version', { simple: true }), 3);
    migrate(db, all); // nothing left to do
    assert.equal(db.prepare('SELECT step FROM Log ORDER BY rowid').all(), [{ step: 1 }, { step: 2 }, { step: 3 }]);
  } finally {
    db.close();
  }
});

test('a gap in the migration numbers is refused', () => {
  const dir = writeSchema(path.join(tmpDir('gap'), 'schema'), { '001-a.sql': 'SELECT 1;', '003-c.sql': 'SELECT 1;' });
  const err = expectStoreError(() => loadMigrations(dir), 'SCHEMA');
  assert.match(err.message, /003-c\.sql/);
});

test('a failing migration leaves the database at the previous version', () => {
  const dir = writeSchema(path.join(tmpDir('failing'), 'schema'), {
    '001-ok.sql': 'CREATE TABLE T (x INTEGER);',
    '002-bad.sql': 'INSERT INTO T VALUES (1);\nINSERT INTO NoSuchTable VALUES (1);',
  });
  const db = new Database(path.join(tmpDir('failing-db'), 'x.sqlite'));
  try {
    assert.throws(() => migrate(db, loadMigrations(dir)), /NoSuchTable/);
    assert.is(db.pragma('user_version', { simple: true }), 0);
    assert.equal(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'T'").get(), { n: 0 });
  } finally {
    db.close();
  }
});

test('a database with a newer schema than this hepstore knows is refused', () => {
  const root = path.join(tmpDir('newer'), 'root');
  new LocalStore(root).close();
  const file = path.join(root, 'var', 'db', 'store.sqlite');
  const raw = new Database(file);
  raw.pragma(`user_version = ${schemaFiles().length + 1}`);
  raw.close();
  const err = expectStoreError(() => new LocalStore(root), 'SCHEMA');
  assert.match(err.message, new RegExp(`version ${schemaFiles().length + 1}`));
  expectStoreError(() => openDatabase(file), 'SCHEMA');
  // The refusal changed nothing.
  const check = new Database(file);
  assert.is(check.pragma('user_version', { simple: true }), schemaFiles().length + 1);
  check.close();
});

test('a database opened under a different store directory is refused with STORE_MISMATCH', () => {
  const base = tmpDir('moved');
  const root = path.join(base, 'root');
  const store = new LocalStore(root);
  store.registerValidPaths([info(store, 'x')]);
  store.close();
  const moved = path.join(base, 'elsewhere');
  fs.renameSync(root, moved);
  const err = expectStoreError(() => new LocalStore(moved), 'STORE_MISMATCH');
  assert.ok(err.message.includes(path.join(root, 'store')), err.message);
  assert.ok(err.message.includes(path.join(moved, 'store')), err.message);
  // Back at its original place it opens again.
  fs.renameSync(moved, root);
  new LocalStore(root).close();
});

test('a path that is still referenced cannot be deleted (ON DELETE RESTRICT)', () => {
  const store = newStore();
  try {
    const leaf = info(store, 'leaf');
    const top = info(store, 'top', [leaf.path]);
    store.registerValidPaths([leaf, top]);
    const del = databaseOf(store).prepare('DELETE FROM ValidPaths WHERE path = ?');
    assert.throws(() => del.run(leaf.path), /FOREIGN KEY/);
    assert.ok(store.isValid(leaf.path));
    // Deleting the referrer first is fine, and takes its Refs rows with it.
    del.run(top.path);
    assert.is(count(store, 'Refs'), 0);
    del.run(leaf.path);
    assert.not.ok(store.isValid(leaf.path));
  } finally {
    store.close();
  }
});

test('a self-reference does not block deletion', () => {
  const store = newStore();
  try {
    const self = info(store, 'self');
    self.references = [self.path];
    store.registerValidPaths([self]);
    assert.equal(store.pathInfo(self.path).references, [self.path]);
    assert.is(count(store, 'Refs'), 1);
    databaseOf(store).prepare('DELETE FROM ValidPaths WHERE path = ?').run(self.path);
    assert.not.ok(store.isValid(self.path));
    assert.is(count(store, 'Refs'), 0);
  } finally {
    store.close();
  }
});

test('a path with a self-reference that is also referenced by another path is still protected', () => {
  const store = newStore();
  try {
    const self = info(store, 'self2');
    self.references = [self.path];
    const user = info(store, 'user', [self.path]);
    store.registerValidPaths([self, user]);
    assert.throws(() => databaseOf(store).prepare('DELETE FROM ValidPaths WHERE path = ?').run(self.path), /FOREIGN KEY/);
    assert.ok(store.isValid(self.path));
    assert.equal(store.pathInfo(self.path).references, [self.path], 'the self-reference survives the refused delete');
  } finally {
    store.close();
  }
});

test('registering a path whose reference is not valid throws NOT_VALID and registers nothing', () => {
  const store = newStore();
  try {
    const ok = info(store, 'ok');
    const ghost = info(store, 'ghost');
    const bad = info(store, 'bad', [ok.path, ghost.path]);
    const before = count(store, 'ValidPaths');
    const err = expectStoreError(() => store.registerValidPaths([ok, bad]), 'NOT_VALID');
    assert.ok(err.message.includes(bad.path) && err.message.includes(ghost.path), err.message);
    assert.not.ok(store.isValid(ok.path), 'the whole batch was rolled back');
    assert.not.ok(store.isValid(bad.path));
    assert.is(count(store, 'ValidPaths'), before);
    assert.is(count(store, 'Refs'), 0);
    // The store is still usable afterwards.
    store.registerValidPaths([ok]);
    assert.ok(store.isValid(ok.path));
  } finally {
    store.close();
  }
});

test('a path with many references to valid paths (one statement for them): all registered; one that is not valid is named', () => {
  const store = newStore();
  try {
    const deps = Array.from({ length: 40 }, (_, i) => info(store, `dep-${i}`));
    store.registerValidPaths(deps);
    const inBatch = info(store, 'in-batch');
    const ghost = info(store, 'ghost');
    const refs = [...deps.map((d) => d.path), inBatch.path, deps[0].path];
    const top = info(store, 'top', refs);
    store.registerValidPaths([top, inBatch]);
    assert.equal(store.pathInfo(top.path).references, [...new Set(refs)].sort());
    assert.equal(store.queryClosure([top.path]), [...new Set([...refs, top.path])].sort());
    assert.equal(store.queryReferrers(deps[7].path), [top.path]);
    // Registered again (already valid): nothing changes.
    store.registerValidPaths([top]);
    assert.is(store.pathInfo(top.path).references.length, 41);
    const bad = info(store, 'bad', [...deps.slice(0, 20).map((d) => d.path), ghost.path, ...deps.slice(20).map((d) => d.path)]);
    const before = count(store, 'Refs');
    const err = expectStoreError(() => store.registerValidPaths([bad]), 'NOT_VALID');
    assert.ok(err.message.includes(bad.path) && err.message.includes(ghost.path), err.message);
    assert.not.ok(store.isValid(bad.path));
    assert.is(count(store, 'Refs'), before);
    expectStoreError(() => store.queryClosure([deps[0].path, ghost.path]), 'NOT_VALID');
  } finally {
    store.close();
  }
});

test('references may point to paths later in the same batch', () => {
  const store = newStore();
  try {
    const leaf = info(store, 'leaf');
    const mid = info(store, 'mid', [leaf.path]);
    const top = info(store, 'top', [mid.path, leaf.path]);
    store.registerValidPaths([top, mid, leaf]);
    assert.equal(store.pathInfo(top.path).references, [leaf.path, mid.path].sort());
    assert.equal(store.queryReferrers(leaf.path), [mid.path, top.path].sort());
    assert.equal(store.queryClosure([top.path]), [leaf.path, mid.path, top.path].sort());
    assert.equal(store.topoSortClosure([top.path]), [leaf.path, mid.path, top.path]);
  } finally {
    store.close();
  }
});

const openFds = () => fs.readdirSync('/proc/self/fd').length;

test('a refused store does not leak its database handle', () => {
  const base = tmpDir('leak');
  const root = path.join(base, 'root');
  new LocalStore(root).close();
  const moved = path.join(base, 'moved');
  fs.renameSync(root, moved);
  const before = openFds();
  for (let i = 0; i < 5; i++) expectStoreError(() => new LocalStore(moved), 'STORE_MISMATCH');
  assert.is(openFds(), before, 'STORE_MISMATCH left files open');
  const raw = new Database(path.join(moved, 'var', 'db', 'store.sqlite'));
  raw.pragma('user_version = 999');
  raw.close();
  for (let i = 0; i < 5; i++) expectStoreError(() => new LocalStore(moved), 'SCHEMA');
  assert.is(openFds(), before, 'SCHEMA left files open');
});

test.run();
