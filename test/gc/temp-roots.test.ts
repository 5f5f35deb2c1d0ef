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
    if (other.db.open) other.close();
    store.close();
  }
});

test('adding a path (store add, text) roots it temporarily in the adding process', async () => {
  const store = newStore();
  try {
    const text = await store.addTextToStore('note', 'hello\n', []);
    const rows = store.db.prepare('SELECT path FROM TempRoots').pluck().all();
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
  const locks = new PathLocks(other.db);
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
    if (other.db.open) other.close();
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

test.run();
