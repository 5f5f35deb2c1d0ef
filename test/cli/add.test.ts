import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { hashPath } from '../../src/archive/dump.js';
import { makeStorePath } from '../../src/store/path.js';

function freshRoot(): string {
  return path.join(tmpDir('cli-add'), 'root');
}

function validPaths(root: string): string[] {
  const store = new LocalStore(root);
  try {
    return store.allValidPaths();
  } finally {
    store.close();
  }
}

test('`store add FILE` and `store add DIR` print the content-addressed store paths', async () => {
  const root = freshRoot();
  const src = tmpDir('cli-add-src');
  const file = path.join(src, 'notes.txt');
  fs.writeFileSync(file, 'some notes\n');
  const dir = writeTree(path.join(src, 'tree'), { a: 'a\n', sub: { b: { exec: 'b' } }, l: { link: 'a' } });
  const res = runCli(['add', file, dir], { storeRoot: root });
  assert.is(res.status, 0, res.stderr);
  const printed = res.stdout.trim().split('\n');
  const storeDir = path.join(root, 'store');
  const expected = [
    makeStorePath('source', (await hashPath(file)).digest.toString('hex'), storeDir, 'notes.txt'),
    makeStorePath('source', (await hashPath(dir)).digest.toString('hex'), storeDir, 'tree'),
  ];
  assert.equal(printed, expected);
  assert.equal(validPaths(root), [...expected].sort());
  assert.is(fs.readFileSync(expected[0], 'utf8'), 'some notes\n');
  assert.is(fs.statSync(path.join(expected[1], 'sub/b')).mode & 0o777, 0o555);
});

test('`store add` twice prints the same path and registers one row', () => {
  const root = freshRoot();
  const dir = writeTree(path.join(tmpDir('cli-add-twice'), 'pkg'), { f: 'x' });
  const a = runCli(['add', dir], { storeRoot: root });
  const b = runCli(['add', dir], { storeRoot: root });
  assert.is(a.status, 0, a.stderr);
  assert.is(b.status, 0, b.stderr);
  assert.is(a.stdout, b.stdout);
  assert.equal(validPaths(root), [a.stdout.trim()]);
  assert.equal(fs.readdirSync(path.join(root, 'store')), [path.basename(a.stdout.trim())]);
});

test('`store add --name` gives another path for the same content; --store works as a flag', () => {
  const root = freshRoot();
  const dir = writeTree(path.join(tmpDir('cli-add-name'), 'pkg'), { f: 'x' });
  const a = runCli(['--store', root, 'add', dir]);
  const b = runCli(['add', dir, '--name', 'renamed-2.0', '--store', root]);
  assert.is(a.status, 0, a.stderr);
  assert.is(b.status, 0, b.stderr);
  assert.is.not(a.stdout, b.stdout);
  assert.match(b.stdout.trim(), /-renamed-2\.0$/);
  assert.is(validPaths(root).length, 2);
  const bad = runCli(['add', dir, '--name', 'bad name'], { storeRoot: root });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /invalid .*'bad name'/);
});

test('`store add` of a nonexistent path fails with a clear message and no stack trace', () => {
  const root = freshRoot();
  const missing = path.join(tmpDir('cli-add-missing'), 'does-not-exist');
  const res = runCli(['add', missing], { storeRoot: root });
  assert.is(res.status, 1);
  assert.is(res.stdout, '');
  assert.ok(res.stderr.includes(`error: cannot add '${missing}': it does not exist`), res.stderr);
  assert.not.match(res.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(fs.readdirSync(path.join(root, 'store')), []);
});

test('`store add` with no PATH is a usage error', () => {
  const res = runCli(['add'], { storeRoot: freshRoot() });
  assert.is(res.status, 1);
  assert.match(res.stderr, /needs at least one PATH/);
});

test.run();
