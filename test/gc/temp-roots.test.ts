import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { newStore, exists, REPO, placeWithReferences } from '../helpers.js';
import { collectGarbage } from '../../src/gc/collect.js';
import { LocalStore } from '../../src/store/local-store.js';
import { PathLocks } from '../../src/store/locks.js';
import { makeStorePath } from '../../src/store/path.js';
import { sha256Hex } from '../../src/hash/sha256.js';
import { assertClean, countRows, gcroot, put } from './helpers.js';
import Database from 'better-sqlite3';
import { loadMigrations, migrate, databaseOf } from '../../src/store/db.js';
import { thisProcess } from '../../src/store/process.js';
import { findRoots } from '../../src/gc/roots.js';

test('temporary roots of another open store keep a dead path and its closure; closing releases them', async () => {
  const store = newStore();
  const other = new LocalStore(store.layout.root);
  try {
    const lib = await put(store, 'lib');
    const app = await put(store, 'app', [lib]);
    const junk = await put(store, 'junk');
    other.addTempRoots([app]);
    other.addTempRoots([app]); // already rooted: no second row
    assert.is(countRows(store, 'TempRoots'), 1);
    const r = await collectGarbage(store);
    assert.equal(r.deleted.map((d) => d.path), [junk]);
    assert.equal(store.allValidPaths(), [app, lib].sort());
    other.close();
    assert.is(countRows(store, 'TempRoots'), 0);
    assert.is((await collectGarbage(store)).deleted.length, 2);
  } finally {
    if (databaseOf(other).open) other.close();
    store.close();
  }
});

test('adding a path (store add, text) roots it temporarily in the adding process', async () => {
  const store = newStore();
  try {
    const text = await store.addTextToStore('note', 'hello\n', []);
    const rows = databaseOf(store).prepare('SELECT paths FROM TempRoots').pluck().all();
    assert.equal(rows, [text]);
    const other = new LocalStore(store.layout.root);
    try {
      assert.is((await collectGarbage(other)).deleted.length, 0);
    } finally {
      other.close();
    }
    store.releaseTempRoots();
    assert.is((await collectGarbage(store)).deleted.length, 1);
  } finally {
    store.close();
  }
});

test('temporary roots are released when the owning process exits, and ignored if it was killed', async () => {
  const store = newStore();
  try {
    const a = await put(store, 'a');
    const script = `import { LocalStore } from ${JSON.stringify(path.join(REPO, 'dist/src/store/local-store.js'))};
      const s = new LocalStore(process.argv[1]); s.addTempRoots([process.argv[2]]);
      if (process.argv[3] === 'kill') process.kill(process.pid, 'SIGKILL');`;
    let r = spawnSync(process.execPath, ['--input-type=module', '-e', script, store.layout.root, a, 'exit']);
    assert.is(r.status, 0, String(r.stderr));
    assert.is(countRows(store, 'TempRoots'), 0, 'released at exit');
    r = spawnSync(process.execPath, ['--input-type=module', '-e', script, store.layout.root, a, 'kill']);
    assert.is(r.signal, 'SIGKILL');
    assert.is(countRows(store, 'TempRoots'), 1, 'a killed owner leaves its row');
    const g = await collectGarbage(store);
    assert.equal(g.deleted.map((d) => d.path), [a], 'the dead owner does not keep it');
    assert.is(g.staleTempRoots, 1);
    assert.is(countRows(store, 'TempRoots'), 0);
  } finally {
    store.close();
  }
});

test('roots, references, temporary roots and build locks that appear during a collection are honoured', async () => {
  const store = newStore();
  const other = new LocalStore(store.layout.root);
  const locks = new PathLocks(databaseOf(other));
  try {
    const y = await put(store, 'y');
    const x = await put(store, 'x', [y]); // a new gcroot will point here
    const z = await put(store, 'z'); // a new path will refer to it
    const w = await put(store, 'w'); // a temporary root will appear
    const v = await put(store, 'v'); // a builder will lock it
    const u = await put(store, 'u'); // nothing: deleted
    const late = await placeWithReferences(other, 'new', { f: 'new' }, [z], { register: false });
    let step = 0;
    const r = await collectGarbage(store, {
      batchSize: 1,
      beforeBatch: () => {
        if (step++ > 0) return;
        gcroot(store, 'late', x);
        other.registerValidPaths([late]);
        other.addTempRoots([w]);
        assert.ok(locks.tryLock([v]).ok);
      },
    });
    assert.equal(r.deleted.map((d) => d.path), [u]);
    assert.equal(new Set(r.kept), new Set([x, y, z, w, v]));
    for (const p of [x, y, z, w, v]) assert.ok(store.isValid(p) && exists(p), p);
    assert.not.ok(exists(u));
  } finally {
    locks.releaseAll();
    other.close();
    store.close();
  }
});

test('an invalid path that a live process has rooted (it is rebuilding it) is not removed as junk', async () => {
  const store = newStore();
  const other = new LocalStore(store.layout.root);
  try {
    const p = makeStorePath('output:out', sha256Hex('rebuilding'), store.storeDir, 'rebuilding');
    other.addTempRoots([p]);
    fs.writeFileSync(p, 'half-built');
    let r = await collectGarbage(store);
    assert.equal(r.junk, []);
    assert.ok(exists(p));
    other.close();
    r = await collectGarbage(store);
    assert.equal(r.junk.map((j) => j.path), [p]);
    assertClean(store);
  } finally {
    if (databaseOf(other).open) other.close();
    store.close();
  }
});

test('two collections at once: the second waits for the first, and both leave the store consistent', async () => {
  const store = newStore();
  const other = new LocalStore(store.layout.root);
  try {
    const keep = await put(store, 'keep');
    gcroot(store, 'keep', keep);
    for (let i = 0; i < 40; i++) await put(store, `dead-${i}`);
    let waited = 0;
    const [a, b] = await Promise.all([collectGarbage(store, { batchSize: 3 }), collectGarbage(other, { batchSize: 3, onWait: () => waited++ })]);
    assert.is(a.deleted.length + b.deleted.length, 40);
    assert.is(waited, 1);
    assert.equal(store.allValidPaths(), [keep]);
    assertClean(store);
  } finally {
    other.close();
    store.close();
  }
});

test('a batch of temporary roots is one row; the collector keeps every path of it, and only those', async () => {
  const store = newStore();
  const other = new LocalStore(store.layout.root);
  try {
    const kept = [];
    for (let i = 0; i < 5; i++) kept.push(await put(store, `kept-${i}`));
    const dead = [];
    for (let i = 0; i < 3; i++) dead.push(await put(store, `dead-${i}`));
    const later = await put(store, 'later');
    // Not valid yet: being rebuilt by the other process, so no junk either.
    const building = makeStorePath('output:out', sha256Hex('batch-building'), store.storeDir, 'batch-building');
    fs.writeFileSync(building, 'half-built');
    other.addTempRoots([...kept, building, kept[0]]);
    other.addTempRoots([kept[1], later]); // only `later` is new: a second row with one path
    assert.is(countRows(store, 'TempRoots'), 2);
    assert.equal(databaseOf(store).prepare('SELECT paths FROM TempRoots ORDER BY id').pluck().all(), [[...kept, building].join('\n'), later]);
    const temp = findRoots(store).filter((r) => r.kind === 'temp');
    assert.equal(temp.map((r) => r.targets.sort()), [[...kept, building, later].sort()]);
    const r = await collectGarbage(store, { batchSize: 2 });
    assert.equal(r.deleted.map((d) => d.path).sort(), [...dead].sort());
    assert.equal(r.junk, []);
    assert.equal(store.allValidPaths(), [...kept, later].sort());
    assert.ok(exists(building));
    other.close();
    assert.is(countRows(store, 'TempRoots'), 0);
    const again = await collectGarbage(store);
    assert.equal(again.deleted.map((d) => d.path).sort(), [...kept, later].sort());
    assert.equal(again.junk.map((j) => j.path), [building]);
  } finally {
    if (databaseOf(other).open) other.close();
    store.close();
  }
});

test('upgrading a store keeps the temporary roots of processes that run meanwhile (one row per path becomes one row per owner)', async () => {
  const store = newStore();
  const file = store.layout.dbFile;
  const a = await put(store, 'a');
  const b = await put(store, 'b');
  const c = await put(store, 'c');
  store.close();
  const me = thisProcess();
  const all = loadMigrations();
  const upgrade = all.findIndex((m) => m.name === '004-temp-root-batches.sql');
  assert.ok(upgrade > 0);
  const db = new Database(file);
  try {
    // Back to the schema before it, with per-path rows of this (live) process and a dead one.
    db.exec('DROP TABLE TempRoots');
    db.exec(all.find((m) => m.name.startsWith('003-'))!.sql.split('-- Named releases')[0]);
    db.pragma(`user_version = ${upgrade}`);
    const ins = db.prepare('INSERT INTO TempRoots (path, pid, procStart, session) VALUES (?, ?, ?, ?)');
    ins.run(a, me.pid, me.start, 7);
    ins.run(b, me.pid, me.start, 7);
    ins.run(c, 999999999, '1', 1);
    migrate(db, all);
    assert.is(db.pragma('user_version', { simple: true }), all.length);
    const rows = db.prepare('SELECT pid, session, paths FROM TempRoots ORDER BY pid').all() as Array<{ pid: number; session: number; paths: string }>;
    assert.equal(rows.map((r) => [r.pid, r.session, r.paths.split('\n').sort()]), [
      [me.pid, 7, [a, b].sort()],
      [999999999, 1, [c]],
    ]);
  } finally {
    db.close();
  }
  const reopened = new LocalStore(store.layout.root);
  try {
    const r = await collectGarbage(reopened);
    assert.equal(r.deleted.map((d) => d.path), [c], 'the live rows still protect a and b');
    assert.is(r.staleTempRoots, 1);
  } finally {
    reopened.close();
  }
});

test.run();
