import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { newStore, rejectsStoreError, exists, tmpDir } from '../helpers.js';
import { collectGarbage, deletePaths } from '../../src/gc/collect.js';
import { addOutLink } from '../../src/gc/roots.js';
import { addRelease } from '../../src/gc/releases.js';
import { LocalStore, type NewPathInfo } from '../../src/store/local-store.js';
import { makeStorePath } from '../../src/store/path.js';
import { sha256Hex } from '../../src/hash/sha256.js';
import { hashPath } from '../../src/archive/dump.js';
import { PathLocks } from '../../src/store/locks.js';
import { assertClean, countRows, gcroot, onDisk, placeDrv, put, registerDrv } from './helpers.js';
import { databaseOf } from '../../src/store/db.js';

/** A path whose name is not derived from its references, so that cycles can be registered. */
async function rawPath(store: LocalStore, name: string, refs: string[]): Promise<NewPathInfo> {
  const p = makeStorePath('output:out', sha256Hex(name), store.storeDir, name);
  fs.writeFileSync(p, `${name} ${refs.join(' ')}\n`, { mode: 0o444 });
  const nar = await hashPath(p);
  return { path: p, narHash: nar.narHash, narSize: nar.narSize, references: refs };
}

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

test('a rooted path and its runtime closure survive; build-only inputs are deleted, referrers first', async () => {
  const store = newStore();
  try {
    // As in Nix's dependencies.nix: top references input-2 (which references input-0), and
    // used input-1 only while building; top also refers to itself.
    const input0 = await put(store, 'input-0');
    const input1 = await put(store, 'input-1', [input0]);
    const input2 = await put(store, 'input-2', [input0]);
    const top = await put(store, 'top', [input2]);
    databaseOf(store).prepare('INSERT INTO Refs (referrer, reference) SELECT id, id FROM ValidPaths WHERE path = ?').run(top);
    gcroot(store, 'top', top);
    const r = await collectGarbage(store);
    assert.equal(r.deleted.map((d) => d.path), [input1]);
    assert.equal(store.allValidPaths(), [input0, input2, top].sort());
    assert.is(r.alive, 3);
    assert.is(r.valid, 4);
    assertClean(store);
  } finally {
    store.close();
  }
});

test('removing the root leaves the store empty: no paths, files, references or derivation outputs', async () => {
  const store = newStore();
  try {
    const a = await put(store, 'a');
    const b = await put(store, 'b', [a]);
    const drv = await placeDrv(store, 'c', [b]);
    const c = await put(store, 'c', [b], { deriver: drv.path });
    registerDrv(store, drv, { out: c });
    const link = gcroot(store, 'c', c);
    await collectGarbage(store);
    assert.equal(store.allValidPaths(), [a, b, c].sort());
    fs.rmSync(link);
    const r = await collectGarbage(store);
    assert.is(r.deleted.length, 3);
    assert.is(r.bytesFreed, r.deleted.reduce((n, d) => n + d.narSize, 0));
    assert.equal(onDisk(store), []);
    for (const t of ['ValidPaths', 'Refs', 'DerivationOutputs']) assert.is(countRows(store, t), 0, t);
  } finally {
    store.close();
  }
});

test('self-references and cycles between paths are deleted together, or kept together', async () => {
  const store = newStore();
  try {
    const leaf = await rawPath(store, 'leaf', []);
    const a = await rawPath(store, 'cycle-a', []);
    const b = await rawPath(store, 'cycle-b', []);
    const self = await rawPath(store, 'self', []);
    a.references = [b.path, leaf.path];
    b.references = [a.path, b.path];
    self.references = [self.path, a.path];
    store.registerValidPaths([leaf, a, b, self]);
    gcroot(store, 'a', a.path);
    let r = await collectGarbage(store);
    assert.equal(r.deleted.map((d) => d.path), [self.path]);
    assert.equal(store.allValidPaths(), [a.path, b.path, leaf.path].sort());
    fs.rmSync(path.join(store.layout.gcRootsDir, 'a'));
    r = await collectGarbage(store);
    assert.equal(new Set(r.deleted.slice(0, 2).map((d) => d.path)), new Set([a.path, b.path]), 'the cycle goes first, as one unit');
    assert.is(r.deleted[2].path, leaf.path);
    assert.equal(onDisk(store), []);
    assert.is(countRows(store, 'Refs'), 0);
  } finally {
    store.close();
  }
});

test('a 500-path reference chain is collected completely (no Refs rows left), with small batches', async () => {
  const store = newStore();
  try {
    const infos: NewPathInfo[] = [];
    for (let i = 0; i < 500; i++) infos.push(await rawPath(store, `chain-${i}`, i ? [makeStorePath('output:out', sha256Hex(`chain-${i - 1}`), store.storeDir, `chain-${i - 1}`)] : []));
    store.registerValidPaths(infos);
    const r = await collectGarbage(store, { batchSize: 7 });
    assert.is(r.deleted.length, 500);
    assert.is(r.deleted[0].path, infos[499].path, 'the top of the chain first');
    assert.is(countRows(store, 'Refs'), 0);
    assert.is(countRows(store, 'ValidPaths'), 0);
    assert.equal(onDisk(store), []);
  } finally {
    store.close();
  }
});

test('--dry-run lists exactly what a collection then deletes, and changes nothing', async () => {
  const store = newStore();
  try {
    const a = await put(store, 'a', [], { size: 3000 });
    const b = await put(store, 'b', [a]);
    const c = await put(store, 'c', [b]);
    const keep = await put(store, 'keep', [a]);
    gcroot(store, 'keep', keep);
    fs.writeFileSync(path.join(store.storeDir, 'stray'), 'junk');
    const before = onDisk(store);
    const dry = await collectGarbage(store, { dryRun: true });
    assert.equal(onDisk(store), before, 'nothing removed');
    assert.is(store.allValidPaths().length, 4);
    assert.equal(dry.deleted.map((d) => d.path), [c, b]);
    assert.is(dry.bytesFreed, dry.deleted.reduce((n, d) => n + d.narSize, 0));
    assert.equal(dry.junk.map((j) => j.path), [path.join(store.storeDir, 'stray')]);
    const real = await collectGarbage(store);
    assert.equal(real.deleted, dry.deleted);
    assert.is(real.bytesFreed, dry.bytesFreed);
    assert.equal(real.junk, dry.junk);
    assertClean(store);
  } finally {
    store.close();
  }
});

test('--max-freed stops once that much is freed, referrers first, leaving a consistent store', async () => {
  const store = newStore();
  try {
    const chain: string[] = [];
    for (let i = 0; i < 10; i++) chain.push(await put(store, `p${i}`, i ? [chain[i - 1]] : [], { size: 5000 }));
    const size = store.pathInfo(chain[9]).narSize;
    const r = await collectGarbage(store, { maxFreed: 2 * size + 1, batchSize: 1 });
    assert.equal(r.deleted.map((d) => d.path), [chain[9], chain[8], chain[7]]);
    assert.ok(r.bytesFreed >= 2 * size + 1);
    assertClean(store);
    const dry = await collectGarbage(store, { maxFreed: 1, dryRun: true });
    assert.equal(dry.deleted.map((d) => d.path), [chain[6]]);
    const rest = await collectGarbage(store);
    assert.is(rest.deleted.length, 7);
  } finally {
    store.close();
  }
});

test('stray files, temporary names of dead processes, stale locks and temporary roots are cleaned; live ones are left', async () => {
  const store = newStore();
  try {
    const a = await put(store, 'a');
    gcroot(store, 'a', a);
    const dead = deadPid();
    const junk = [
      path.join(store.storeDir, 'not-a-store-path'),
      path.join(store.storeDir, `${path.basename(a)}.lock`),
      path.join(store.storeDir, `.tmp-add-${dead}-0123456789ab`),
      makeStorePath('output:out', sha256Hex('unregistered'), store.storeDir, 'unregistered'),
    ];
    for (const j of junk) fs.mkdirSync(path.join(j, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(junk[2], 'sub', 'f'), 'x'.repeat(100));
    fs.chmodSync(path.join(junk[2], 'sub'), 0o555);
    // Being written right now by live processes: a temporary name, and an output being built.
    const writing = store.tempPath('add');
    fs.writeFileSync(writing, 'partial');
    const building = makeStorePath('output:out', sha256Hex('building'), store.storeDir, 'building');
    fs.writeFileSync(building, 'partial output');
    const locks = new PathLocks(databaseOf(store));
    assert.ok(locks.tryLock([building]).ok);
    databaseOf(store).prepare('INSERT INTO PathLocks (path, pid, procStart, acquired) VALUES (?, ?, ?, 0)').run(path.join(store.storeDir, 'stale-lock'), dead, '1');
    databaseOf(store).prepare('INSERT INTO TempRoots (pid, procStart, session, paths) VALUES (?, ?, 0, ?)').run(dead, '1', a);
    const r = await collectGarbage(store);
    assert.equal(r.junk.map((j) => j.path).sort(), [...junk].sort());
    assert.is(r.junkBytes, 100);
    assert.is(r.staleLocks, 1);
    assert.is(r.staleTempRoots, 1);
    for (const j of junk) assert.not.ok(exists(j), j);
    assert.ok(exists(writing) && exists(building) && exists(a));
    assert.is(countRows(store, 'PathLocks'), 1);
    locks.unlock([building]);
    fs.rmSync(writing);
    const again = await collectGarbage(store);
    assert.equal(again.junk.map((j) => j.path), [building], 'once unlocked, an unregistered output is junk');
    assertClean(store);
  } finally {
    store.close();
  }
});

test('out-links: moving or deleting the link is noticed, and the stale registration removed', async () => {
  const store = newStore();
  try {
    const dir = tmpDir('outlinks');
    const v1 = await put(store, 'v1');
    const v2 = await put(store, 'v2');
    const link = path.join(dir, 'result');
    addOutLink(store.layout, link, v1);
    await collectGarbage(store);
    assert.equal(store.allValidPaths(), [v1, v2].filter((p) => p === v1));
    addOutLink(store.layout, link, await put(store, 'v2'));
    await collectGarbage(store);
    assert.equal(store.allValidPaths(), [v2]);
    const auto = path.join(store.layout.gcRootsDir, 'auto');
    assert.is(fs.readdirSync(auto).length, 1);
    fs.renameSync(link, path.join(dir, 'moved'));
    await collectGarbage(store);
    assert.equal(store.allValidPaths(), []);
    assert.equal(fs.readdirSync(auto), [], 'the stale auto entry is gone');
  } finally {
    store.close();
  }
});

test('--keep-derivations keeps the .drv of live outputs; --keep-outputs keeps the outputs of live .drv files', async () => {
  const store = newStore();
  try {
    const depDrv = await placeDrv(store, 'dep', []);
    const dep = await put(store, 'dep', [], { deriver: depDrv.path });
    registerDrv(store, depDrv, { out: dep });
    const topDrv = await placeDrv(store, 'top', [depDrv.path]);
    const top = await put(store, 'top', [], { deriver: topDrv.path });
    registerDrv(store, topDrv, { out: top });
    gcroot(store, 'top', top);
    const plan = async (o: { keepDerivations?: boolean; keepOutputs?: boolean }) => (await collectGarbage(store, { ...o, dryRun: true })).deleted.map((d) => d.path).sort();
    assert.equal(await plan({}), [depDrv.path, dep, topDrv.path].sort(), 'by default only the runtime closure is kept');
    assert.equal(await plan({ keepDerivations: true }), [dep], 'the derivations are kept, the build-only output is not');
    assert.equal(await plan({ keepDerivations: true, keepOutputs: true }), [], 'both: the whole build closure is kept');
    assert.equal(await plan({ keepOutputs: true }), [depDrv.path, dep, topDrv.path].sort(), 'keep-outputs alone: no live .drv');
    gcroot(store, 'drv', topDrv.path);
    assert.equal(await plan({ keepOutputs: true }), [], 'a rooted .drv keeps its outputs and, through its inputs, theirs');
    assert.equal(await plan({}), [dep].sort(), 'without: the .drv and its input .drv stay, build outputs go');
  } finally {
    store.close();
  }
});

test('store delete: refuses a live path naming its root, and a path that dead paths refer to; deletes dead ones', async () => {
  const store = newStore();
  try {
    const base = await put(store, 'base');
    const app = await put(store, 'app', [base]);
    const dead1 = await put(store, 'dead1');
    const dead2 = await put(store, 'dead2', [dead1]);
    const link = gcroot(store, 'app', app);
    const e = await rejectsStoreError(deletePaths(store, [base]), 'STILL_REFERENCED');
    assert.match(e.message, `cannot delete '${base}': it is still alive`);
    assert.match(e.message, `kept by gcroot ${link}`);
    assert.match(e.message, app);
    const e2 = await rejectsStoreError(deletePaths(store, [dead1]), 'STILL_REFERENCED');
    assert.match(e2.message, `'${dead2}' refers to it`);
    const r = await deletePaths(store, [dead1], { alsoReferrers: true });
    assert.equal(r.deleted.map((d) => d.path), [dead2, dead1]);
    await rejectsStoreError(deletePaths(store, [dead1]), 'NOT_VALID');
    assert.equal(store.allValidPaths(), [app, base].sort());
    assertClean(store);
  } finally {
    store.close();
  }
});

test('a release row protects its paths in the database itself (foreign key), until it is removed', async () => {
  const store = newStore();
  try {
    const a = await put(store, 'a');
    addRelease(store, 'R1', [{ path: a, attr: '' }]);
    assert.throws(() => databaseOf(store).prepare('DELETE FROM ValidPaths WHERE path = ?').run(a), /FOREIGN KEY/);
    assert.is((await collectGarbage(store)).deleted.length, 0);
    databaseOf(store).prepare('DELETE FROM Releases WHERE name = ?').run('R1');
    assert.is((await collectGarbage(store)).deleted.length, 1);
  } finally {
    store.close();
  }
});

test.run();
