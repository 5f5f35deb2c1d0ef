import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { placeWithReferences, pseudoRandomBytes, runCli, tmpDir, walk } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { nix32Encode } from '../../src/hash/nix32.js';

const SHARED = pseudoRandomBytes(3 * 1048576, 'shared'); // 3 MiB, in both a and b
const SMALL = Buffer.from('the same small file\n');

/**
 * a and b share lib/big.so (3 MiB), share/small.txt and an executable bin/tool; c has a file of
 * the same size as big.so but other bytes, and the same bytes as bin/tool without the
 * executable bit.
 */
async function store() {
  const root = path.join(tmpDir('opt'), 'root');
  const s = new LocalStore(root);
  try {
    const tool = '#!/bin/sh\necho tool\n';
    const a = await placeWithReferences(s, 'a-1', { lib: { 'big.so': SHARED }, share: { 'small.txt': SMALL }, bin: { tool: { exec: tool } }, empty: '' }, []);
    const b = await placeWithReferences(s, 'b-1', { lib: { 'big.so': SHARED }, share: { 'small.txt': SMALL, 'own.txt': 'b only' }, bin: { tool: { exec: tool } }, empty: '' }, []);
    const other = Buffer.from(SHARED);
    other[1000] ^= 1;
    const c = await placeWithReferences(s, 'c-1', { lib: { 'big.so': other }, 'tool-copy': tool }, []);
    return { root, a: a.path, b: b.path, c: c.path };
  } finally {
    s.close();
  }
}

const ino = (p: string) => fs.lstatSync(p).ino;

function canonical(root: string): string[] {
  const bad: string[] = [];
  for (const { path: p, st } of walk(path.join(root, 'store'))) {
    if (p === path.join(root, 'store') || p.includes('/.links') || p.endsWith('/var') || !/\/store\/[0-9a-z]{32}-/.test(p)) continue;
    if (st.isSymbolicLink()) continue;
    const want = st.isDirectory() ? 0o555 : st.mode & 0o111 ? 0o555 : 0o444;
    if ((st.mode & 0o7777) !== want || Math.floor(st.mtimeMs / 1000) !== 1) bad.push(`${p} ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs}`);
  }
  return bad;
}

test('optimise links identical files, never files that differ in a byte or in the executable bit, and reports the space saved', async () => {
  const c = await store();
  assert.equal(canonical(c.root), []);
  const res = runCli(['optimise'], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const saved = SHARED.length + SMALL.length + '#!/bin/sh\necho tool\n'.length;
  assert.is(res.stdout, `${(saved / 1048576).toFixed(2)} MiB saved by hard-linking 3 files (9 files in 3 paths looked at)\n`);
  assert.is(ino(path.join(c.a, 'lib/big.so')), ino(path.join(c.b, 'lib/big.so')));
  assert.is(ino(path.join(c.a, 'share/small.txt')), ino(path.join(c.b, 'share/small.txt')));
  assert.is(ino(path.join(c.a, 'bin/tool')), ino(path.join(c.b, 'bin/tool')));
  assert.is.not(ino(path.join(c.c, 'lib/big.so')), ino(path.join(c.a, 'lib/big.so')));
  assert.is.not(ino(path.join(c.c, 'tool-copy')), ino(path.join(c.a, 'bin/tool')));
  assert.is.not(ino(path.join(c.a, 'empty')), ino(path.join(c.b, 'empty')));
  // Each shared inode has its name in .links: its sha256, and -x for the executable one.
  const links = path.join(c.root, 'store', '.links');
  const key = nix32Encode(createHash('sha256').update(SHARED).digest());
  assert.is(ino(path.join(links, key)), ino(path.join(c.a, 'lib/big.so')));
  assert.is(fs.lstatSync(path.join(c.a, 'lib/big.so')).nlink, 3);
  assert.ok(fs.existsSync(path.join(links, nix32Encode(createHash('sha256').update('#!/bin/sh\necho tool\n').digest()) + '-x')));
  // Still canonical, and every path still has its narHash.
  assert.equal(canonical(c.root), []);
  const verify = runCli(['verify', '--check-contents'], { storeRoot: c.root });
  assert.is(verify.status, 0, verify.stderr);
  assert.match(verify.stderr, 'checked the contents of 3 paths: 0 missing, 0 modified');
  // A second run has nothing left to do; with one path it says "1 path", not "1 paths".
  const again = runCli(['optimise', '--json'], { storeRoot: c.root });
  assert.is(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout), { paths: 3, files: 9, linked: 0, bytesSaved: 0, skipped: [] });
});

test('optimise compares contents: a .links entry whose name matches but whose bytes differ is never linked to', async () => {
  const c = await store();
  const links = path.join(c.root, 'store', '.links');
  fs.mkdirSync(links);
  // What a hash collision (or a damaged entry) would look like: SHARED's name, other bytes,
  // used by another file so that it cannot simply be replaced.
  const key = nix32Encode(createHash('sha256').update(SHARED).digest());
  const impostor = Buffer.from(SHARED);
  impostor[5] ^= 0xff;
  const elsewhere = path.join(tmpDir('opt-impostor'), 'f');
  fs.writeFileSync(elsewhere, impostor, { mode: 0o444 });
  fs.utimesSync(elsewhere, 1, 1);
  const sameFs = path.join(links, 'holder');
  fs.copyFileSync(elsewhere, sameFs);
  fs.chmodSync(sameFs, 0o444);
  fs.utimesSync(sameFs, 1, 1);
  fs.linkSync(sameFs, path.join(links, key));
  const res = runCli(['optimise', '--json'], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout);
  assert.is(r.linked, 2);
  assert.equal(r.skipped.map((s: { file: string }) => s.file).sort(), [path.join(c.a, 'lib/big.so'), path.join(c.b, 'lib/big.so')].sort());
  assert.match(r.skipped[0].reason, 'does not hold the contents its name says');
  assert.ok(fs.readFileSync(path.join(c.a, 'lib/big.so')).equals(SHARED));
  assert.is.not(ino(path.join(c.a, 'lib/big.so')), ino(path.join(links, key)));
  assert.is(runCli(['verify', '--check-contents'], { storeRoot: c.root }).status, 0);
  // Once nothing else holds the damaged entry, the next run puts the right file in its place.
  fs.unlinkSync(sameFs);
  const next = JSON.parse(runCli(['optimise', '--json'], { storeRoot: c.root }).stdout);
  assert.is(next.linked, 1);
  assert.is(ino(path.join(c.a, 'lib/big.so')), ino(path.join(c.b, 'lib/big.so')));
  assert.ok(fs.readFileSync(path.join(links, key)).equals(SHARED));
});

test('verify --check-contents reports every path that shares a corrupted inode; gc removes links no path shares', async () => {
  const c = await store();
  assert.is(runCli(['optimise'], { storeRoot: c.root }).status, 0);
  const shared = path.join(c.a, 'share/small.txt');
  fs.chmodSync(shared, 0o644);
  fs.writeFileSync(shared, 'the same small filE\n');
  fs.chmodSync(shared, 0o444);
  fs.utimesSync(shared, 1, 1);
  assert.is(fs.readFileSync(path.join(c.b, 'share/small.txt'), 'utf8'), 'the same small filE\n');
  const res = runCli(['verify', '--check-contents', '--json'], { storeRoot: c.root });
  assert.is(res.status, 1);
  const report = JSON.parse(res.stdout);
  assert.equal(report.modified.map((m: { path: string }) => m.path).sort(), [c.a, c.b].sort());
  const text = runCli(['verify', '--check-contents'], { storeRoot: c.root });
  assert.is(text.status, 1);
  assert.match(text.stderr, `path '${c.a}' was modified!`);
  assert.match(text.stderr, `path '${c.b}' was modified!`);
  assert.match(text.stderr, "note: 2 modified paths share files with other paths (hard links of 'store optimise')");
  // One .links entry per distinct file: a's three (shared with b), b's own, c's two.
  assert.is(fs.readdirSync(path.join(c.root, 'store', '.links')).length, 6);
  // gc: with every path gone (no roots), no entry is shared any more.
  const gc = runCli(['gc'], { storeRoot: c.root });
  assert.is(gc.status, 0, gc.stderr);
  assert.match(gc.stdout, 'deleted 3 paths');
  assert.match(gc.stdout, 'removed 6 files of .links that no path shares any more');
  assert.equal(fs.readdirSync(path.join(c.root, 'store', '.links')), []);
});

test('store delete of one path removes only the .links files no other path shares', async () => {
  const c = await store();
  assert.is(runCli(['optimise'], { storeRoot: c.root }).status, 0);
  const links = path.join(c.root, 'store', '.links');
  assert.is(fs.readdirSync(links).length, 6);
  const del = runCli(['delete', c.b], { storeRoot: c.root });
  assert.is(del.status, 0, del.stderr);
  // b's own file is gone from .links; what it shared with a stays, now with two names.
  assert.is(fs.readdirSync(links).length, 5);
  assert.not.ok(fs.readdirSync(links).includes(nix32Encode(createHash('sha256').update('b only').digest())));
  assert.is(fs.lstatSync(path.join(c.a, 'lib/big.so')).nlink, 2);
  assert.is(runCli(['verify', '--check-contents'], { storeRoot: c.root }).status, 0);
});

test('optimise leaves files that are not canonical alone, and takes no arguments', async () => {
  const c = await store();
  const f = path.join(c.b, 'share/small.txt');
  fs.utimesSync(f, 5, 5);
  const res = runCli(['optimise'], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  assert.match(res.stderr, `warning: not linking ${f}: not canonical (mode 444, mtime 5)`);
  assert.match(res.stdout, 'hard-linking 2 files');
  assert.is.not(ino(f), ino(path.join(c.a, 'share/small.txt')));
  const bad = runCli(['optimise', c.a], { storeRoot: c.root });
  assert.is(bad.status, 1);
  assert.is(bad.stderr, 'error: store optimise takes no arguments\n');
});

test('optimise on a store of one path says "1 path" and "1 file"', async () => {
  const root = path.join(tmpDir('opt1'), 'root');
  const s = new LocalStore(root);
  try {
    await placeWithReferences(s, 'one', { 'x.txt': 'x', 'y.txt': 'x' }, []);
  } finally {
    s.close();
  }
  const res = runCli(['optimise'], { storeRoot: root });
  assert.is(res.status, 0, res.stderr);
  assert.is(res.stdout, '0.00 MiB saved by hard-linking 1 file (2 files in 1 path looked at)\n');
});

test.run();
