import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { exists, newStore, rejectsStoreError, tmpDir, walk, writeTree } from '../helpers.js';
import { hashPath } from '../../src/archive/dump.js';
import { makeStorePath, parseStorePath, typeWithReferences } from '../../src/store/path.js';
import { sha256Hex } from '../../src/hash/sha256.js';
import type { LocalStore } from '../../src/store/local-store.js';
import { databaseOf } from '../../src/store/db.js';

const rows = (store: LocalStore) => (databaseOf(store).prepare('SELECT count(*) AS n FROM ValidPaths').get() as { n: number }).n;

function sourceTree(dir: string) {
  return writeTree(dir, {
    'README.md': '# pkg\n',
    bin: { tool: { exec: '#!/bin/sh\necho tool\n' } },
    lib: { 'libx.so': 'ELF...', empty: {} },
    current: { link: 'lib' },
  });
}

/** Every entry of a store object is read-only (0444 / 0555) with mtime 1. */
function assertCanonicalOnDisk(p: string): void {
  for (const { path: q, st } of walk(p)) {
    if (st.isSymbolicLink()) {
      assert.is(st.mtimeMs, 1000, `${q} mtime`);
      continue;
    }
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) assert.is(mode, 0o555, `${q} mode ${mode.toString(8)}`);
    else assert.ok(mode === 0o444 || mode === 0o555, `${q} mode ${mode.toString(8)}`);
    assert.is(st.mtimeMs, 1000, `${q} mtime`);
  }
}

test('adding a file stores it by content and registers it', async () => {
  const store = newStore();
  try {
    const file = path.join(tmpDir('add-file'), 'hello.txt');
    fs.writeFileSync(file, 'hello\n');
    const p = await store.addToStore(file);
    const nar = await hashPath(file);
    assert.is(p, makeStorePath('source', nar.digest.toString('hex'), store.storeDir, 'hello.txt'));
    assert.is(parseStorePath(p, store.storeDir).name, 'hello.txt');
    assert.is(fs.readFileSync(p, 'utf8'), 'hello\n');
    const info = store.pathInfo(p);
    assert.is(info.narHash, nar.narHash);
    assert.is(info.narSize, nar.narSize);
    assert.equal(info.references, []);
    assert.is(info.ca, `nar:${nar.narHash}`);
    assert.ok(info.ultimate);
    assertCanonicalOnDisk(p);
    assert.is(fs.statSync(p).mode & 0o7777, 0o444);
  } finally {
    store.close();
  }
});

test('adding a tree keeps its shape, exec bits and links, read-only with mtime 1', async () => {
  const store = newStore();
  try {
    const src = sourceTree(path.join(tmpDir('add-tree'), 'pkg-1.0'));
    const p = await store.addToStore(src);
    assert.ok(p.endsWith('-pkg-1.0'));
    assert.is(store.pathInfo(p).narHash, (await hashPath(src)).narHash);
    assert.is((await hashPath(p)).narHash, store.pathInfo(p).narHash);
    assert.is(fs.statSync(path.join(p, 'bin/tool')).mode & 0o7777, 0o555);
    assert.is(fs.statSync(path.join(p, 'README.md')).mode & 0o7777, 0o444);
    assert.is(fs.readlinkSync(path.join(p, 'current')), 'lib');
    assert.ok(fs.statSync(path.join(p, 'lib/empty')).isDirectory());
    assertCanonicalOnDisk(p);
    // The source is left as it was.
    assert.is(fs.statSync(path.join(src, 'README.md')).mode & 0o200, 0o200);
  } finally {
    store.close();
  }
});

test('adding the same content twice returns the same path and changes nothing', async () => {
  const store = newStore();
  try {
    const src = sourceTree(path.join(tmpDir('twice'), 'pkg'));
    const p1 = await store.addToStore(src);
    const ino = fs.statSync(p1).ino;
    const info1 = store.pathInfo(p1);
    const p2 = await store.addToStore(src);
    // An identical copy elsewhere, made at another time, is the same content.
    const copy = sourceTree(path.join(tmpDir('twice-copy'), 'pkg'));
    const p3 = await store.addToStore(copy);
    assert.is(p2, p1);
    assert.is(p3, p1);
    assert.is(rows(store), 1);
    assert.is(fs.statSync(p1).ino, ino, 'the object was not replaced');
    assert.equal(store.pathInfo(p1), info1);
    assert.equal(fs.readdirSync(store.storeDir), [path.basename(p1)]);
  } finally {
    store.close();
  }
});

test('different names give different paths for the same content', async () => {
  const store = newStore();
  try {
    const src = sourceTree(path.join(tmpDir('names'), 'pkg'));
    const a = await store.addToStore(src);
    const b = await store.addToStore(src, 'other-name');
    assert.is.not(a, b);
    assert.ok(b.endsWith('-other-name'));
    assert.is(store.pathInfo(a).narHash, store.pathInfo(b).narHash);
    assert.is(rows(store), 2);
  } finally {
    store.close();
  }
});

test('a modified source gives a different path and leaves the old one intact', async () => {
  const store = newStore();
  try {
    const src = sourceTree(path.join(tmpDir('modified'), 'pkg'));
    const before = await store.addToStore(src);
    fs.appendFileSync(path.join(src, 'README.md'), 'more\n');
    const after = await store.addToStore(src);
    assert.is.not(after, before);
    fs.chmodSync(path.join(src, 'README.md'), 0o755);
    const exec = await store.addToStore(src);
    assert.ok(exec !== after && exec !== before, 'the exec bit changes the path');
    assert.is(fs.readFileSync(path.join(before, 'README.md'), 'utf8'), '# pkg\n');
    const report = await store.verify({ checkContents: true });
    assert.equal(report, { checked: 3, missing: [], modified: [] });
  } finally {
    store.close();
  }
});

test('a symlink can be added as itself', async () => {
  const store = newStore();
  try {
    const link = path.join(tmpDir('add-link'), 'link');
    fs.symlinkSync('/does/not/matter', link);
    const p = await store.addToStore(link);
    assert.ok(fs.lstatSync(p).isSymbolicLink());
    assert.is(fs.readlinkSync(p), '/does/not/matter');
    assert.equal((await store.verify({ checkContents: true })).modified, []);
  } finally {
    store.close();
  }
});

test('no temporary name is left behind after an add', async () => {
  const store = newStore();
  try {
    await store.addToStore(sourceTree(path.join(tmpDir('tmp-gone'), 'pkg')));
    const big = path.join(tmpDir('tmp-gone-big'), 'big');
    fs.writeFileSync(big, Buffer.alloc(1024 * 1024, 7));
    await store.addToStore(big);
    await store.addToStore(big);
    assert.equal(store.strayTemporaries(), []);
    assert.ok(fs.readdirSync(store.storeDir).every((f) => !f.startsWith('.')), fs.readdirSync(store.storeDir).join(' '));
  } finally {
    store.close();
  }
});

test('adding a nonexistent path is a clear error', async () => {
  const store = newStore();
  try {
    const missing = path.join(tmpDir('missing'), 'nope');
    const err = await rejectsStoreError(store.addToStore(missing), 'IO');
    assert.ok(err.message.includes(missing), err.message);
    assert.match(err.message, /does not exist/);
    assert.equal(fs.readdirSync(store.storeDir), []);
  } finally {
    store.close();
  }
});

test('a tree holding a fifo is refused and leaves nothing in the store', async () => {
  const store = newStore();
  try {
    const src = writeTree(path.join(tmpDir('fifo-add'), 'pkg'), { a: 'a', b: { c: 'c' } });
    execFileSync('mkfifo', [path.join(src, 'b', 'pipe')]);
    const err = await rejectsStoreError(store.addToStore(src), 'IO');
    assert.match(err.message, /b\/pipe/);
    assert.equal(fs.readdirSync(store.storeDir), []);
    assert.is(rows(store), 0);
  } finally {
    store.close();
  }
});

test('invalid names are refused before anything is copied', async () => {
  const store = newStore();
  try {
    const dir = tmpDir('bad-names');
    const hidden = writeTree(path.join(dir, '.hidden'), { a: 'a' });
    await rejectsStoreError(store.addToStore(hidden), 'INVALID_NAME');
    const spaced = writeTree(path.join(dir, 'with space'), { a: 'a' });
    await rejectsStoreError(store.addToStore(spaced), 'INVALID_NAME');
    await rejectsStoreError(store.addToStore(path.join(dir, 'with space'), 'ok/not'), 'INVALID_NAME');
    assert.equal(fs.readdirSync(store.storeDir), []);
  } finally {
    store.close();
  }
});

test('a stale unregistered object at the final path is replaced by the real one', async () => {
  const store = newStore();
  try {
    const src = sourceTree(path.join(tmpDir('stale'), 'pkg'));
    const nar = await hashPath(src);
    const expected = makeStorePath('source', nar.digest.toString('hex'), store.storeDir, 'pkg');
    // What a crash between rename and registration could leave (here: half a tree, read-only).
    writeTree(expected, { 'README.md': 'partial' });
    fs.chmodSync(path.join(expected, 'README.md'), 0o444);
    fs.chmodSync(expected, 0o555);
    assert.not.ok(store.isValid(expected));
    const p = await store.addToStore(src);
    assert.is(p, expected);
    assert.equal((await store.verify({ checkContents: true })).modified, []);
    assert.is(fs.readFileSync(path.join(p, 'README.md'), 'utf8'), '# pkg\n');
  } finally {
    store.close();
  }
});

test('text objects: the path depends on contents and references, the file is read-only', async () => {
  const store = newStore();
  try {
    const dep = await store.addToStore(writeTree(path.join(tmpDir('text'), 'dep'), { f: 'x' }));
    const a = await store.addTextToStore('thing.txt', `uses ${dep}\n`, [dep]);
    assert.is(a, makeStorePath(typeWithReferences('text', [dep]), sha256Hex(`uses ${dep}\n`), store.storeDir, 'thing.txt'));
    assert.is(await store.addTextToStore('thing.txt', `uses ${dep}\n`, [dep]), a);
    const b = await store.addTextToStore('thing.txt', `uses ${dep}\n`, []);
    assert.is.not(a, b);
    assert.equal(store.pathInfo(a).references, [dep]);
    assert.is(fs.readFileSync(a, 'utf8'), `uses ${dep}\n`);
    assert.is(fs.statSync(a).mode & 0o7777, 0o444);
    assert.is(fs.statSync(a).mtimeMs, 1000);
    await rejectsStoreError(store.addTextToStore('x.txt', 'x', [`${store.storeDir}/${'0'.repeat(32)}-ghost`]), 'NOT_VALID');
    assert.equal(store.strayTemporaries(), []);
    assert.not.ok(exists(makeStorePath(typeWithReferences('text', [`${store.storeDir}/${'0'.repeat(32)}-ghost`]), sha256Hex('x'), store.storeDir, 'x.txt')));
  } finally {
    store.close();
  }
});

test('validity of many paths at once: which are valid, and whether all are', async () => {
  const store = newStore();
  try {
    const dir = tmpDir('valid-many');
    const valid: string[] = [];
    for (let i = 0; i < 3; i++) {
      fs.writeFileSync(path.join(dir, `f${i}`), `file ${i}\n`);
      valid.push(await store.addToStore(path.join(dir, `f${i}`)));
    }
    const missing = makeStorePath('source', sha256Hex('never added'), store.storeDir, 'f0');
    assert.equal([...store.validPaths([...valid, missing])].sort(), [...valid].sort());
    assert.ok(store.allValid(valid));
    assert.ok(store.allValid([...valid, valid[0], valid[1]]), 'duplicates count once');
    assert.not.ok(store.allValid([...valid, missing]));
    assert.not.ok(store.allValid([missing, missing, missing]), 'three missing are not three valid');
    assert.ok(store.allValid([]));
    // More paths than one query takes.
    const many = Array.from({ length: 25000 }, (_, i) => valid[i % valid.length]);
    assert.ok(store.allValid(many));
    assert.not.ok(store.allValid([...many, missing]));
    assert.is(store.validPaths([...many, missing]).size, 3);
  } finally {
    store.close();
  }
});

test.run();
