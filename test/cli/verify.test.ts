import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { placeWithReferences, runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { makeWritable, removeTree } from '../../src/archive/canonical.js';

async function populated(): Promise<{ root: string; a: string; b: string; c: string }> {
  const root = path.join(tmpDir('verify'), 'root');
  const store = new LocalStore(root);
  try {
    const a = await store.addToStore(writeTree(path.join(tmpDir('v-a'), 'a'), { bin: { x: { exec: 'x' } }, share: { doc: 'doc' } }));
    const b = await store.addToStore(writeTree(path.join(tmpDir('v-b'), 'b'), { only: 'b' }));
    const c = (await placeWithReferences(store, 'c', { ref: a }, [a])).path;
    return { root, a, b, c };
  } finally {
    store.close();
  }
}

test('verify on a clean store exits 0, with and without --check-contents', async () => {
  const { root } = await populated();
  const plain = runCli(['verify'], { storeRoot: root });
  assert.is(plain.status, 0, plain.stderr);
  assert.match(plain.stderr, /checked 3 paths: 0 missing, 0 modified/);
  const deep = runCli(['verify', '--check-contents'], { storeRoot: root });
  assert.is(deep.status, 0, deep.stderr);
  assert.match(deep.stderr, /checked the contents of 3 paths: 0 missing, 0 modified/);
  const json = runCli(['verify', '--check-contents', '--json'], { storeRoot: root });
  assert.is(json.status, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout), { ok: true, checked: 3, missing: [], modified: [] });
});

test('a file deleted inside a store object is reported as modified by --check-contents', async () => {
  const { root, a, b } = await populated();
  makeWritable(a);
  fs.unlinkSync(path.join(a, 'share', 'doc'));
  const res = runCli(['verify', '--check-contents'], { storeRoot: root });
  assert.is(res.status, 1);
  assert.ok(res.stderr.includes(`path '${a}' was modified`), res.stderr);
  assert.not.ok(res.stderr.includes(`'${b}'`), 'only the modified path is named');
  assert.match(res.stderr, /0 missing, 1 modified/);
  const json = JSON.parse(runCli(['verify', '--check-contents', '--json'], { storeRoot: root }).stdout);
  assert.is(json.ok, false);
  assert.equal(json.modified.map((m: { path: string }) => m.path), [a]);
  assert.ok(json.modified[0].actualSize < json.modified[0].expectedSize);
  // Without --check-contents nothing is re-hashed, so the change goes unnoticed.
  const plain = runCli(['verify'], { storeRoot: root });
  assert.is(plain.status, 0, plain.stderr);
});

test('a changed exec bit or changed contents is caught too', async () => {
  const { root, a, b } = await populated();
  fs.chmodSync(path.join(a, 'bin', 'x'), 0o444);
  fs.chmodSync(path.join(b, 'only'), 0o644);
  fs.writeFileSync(path.join(b, 'only'), 'B');
  const res = runCli(['verify', '--check-contents', '--json'], { storeRoot: root });
  assert.is(res.status, 1);
  assert.equal(JSON.parse(res.stdout).modified.map((m: { path: string }) => m.path).sort(), [a, b].sort());
});

test('an object removed entirely is reported missing, with or without --check-contents', async () => {
  const { root, b } = await populated();
  removeTree(b);
  for (const args of [['verify'], ['verify', '--check-contents']]) {
    const res = runCli(args, { storeRoot: root });
    assert.is(res.status, 1, args.join(' '));
    assert.ok(res.stderr.includes(`path '${b}' is missing from disk`), res.stderr);
    assert.match(res.stderr, /1 missing, 0 modified/);
  }
});

test('verify without --check-contents does not re-hash', async () => {
  const { root, a, b } = await populated();
  // Replace a file by a directory: any hashing would see it; an existence check does not.
  makeWritable(a);
  fs.unlinkSync(path.join(a, 'share', 'doc'));
  fs.mkdirSync(path.join(a, 'share', 'doc'));
  removeTree(b);
  const res = runCli(['verify', '--json'], { storeRoot: root });
  assert.is(res.status, 1);
  assert.equal(JSON.parse(res.stdout), { ok: false, checked: 3, missing: [b], modified: [] });
});

test('verify PATH checks the closure of PATH only', async () => {
  const { root, a, b, c } = await populated();
  removeTree(b);
  const res = runCli(['verify', '--check-contents', '--json', c], { storeRoot: root });
  assert.is(res.status, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout), { ok: true, checked: 2, missing: [], modified: [] });
  makeWritable(a);
  fs.writeFileSync(path.join(a, 'extra'), 'new file');
  const bad = runCli(['verify', '--check-contents', '--json', c], { storeRoot: root });
  assert.is(bad.status, 1);
  assert.equal(JSON.parse(bad.stdout).modified.map((m: { path: string }) => m.path), [a]);
});

test('a path that cannot be read back (a name that is not valid UTF-8) is reported, and the paths after it are still checked', async () => {
  const root = path.join(tmpDir('verify'), 'root');
  const store = new LocalStore(root);
  const made: string[] = [];
  try {
    for (const n of ['one', 'two', 'three']) made.push(await store.addToStore(writeTree(path.join(tmpDir('v-n'), n), { f: n })));
  } finally {
    store.close();
  }
  const sorted = [...made].sort();
  const [, middle, last] = sorted;
  makeWritable(middle);
  fs.writeFileSync(Buffer.from(`${middle}/bad-\xff-name`, 'latin1') as unknown as string, 'x');
  makeWritable(last);
  fs.writeFileSync(path.join(last, 'f'), 'changed');
  const res = runCli(['verify', '--check-contents'], { storeRoot: root });
  assert.is(res.status, 1);
  assert.ok(res.stderr.includes(`path '${middle}' cannot be read`), res.stderr);
  assert.match(res.stderr, /not valid UTF-8/);
  assert.ok(res.stderr.includes(`path '${last}' was modified`), `the path after it is still checked: ${res.stderr}`);
  assert.match(res.stderr, /checked the contents of 3 paths: 0 missing, 1 modified, 1 unreadable/);
  const json = JSON.parse(runCli(['verify', '--check-contents', '--json'], { storeRoot: root }).stdout);
  assert.equal(json.unreadable.map((u: { path: string }) => u.path), [middle]);
  assert.equal(json.modified.map((m: { path: string }) => m.path), [last]);
});

test.run();
