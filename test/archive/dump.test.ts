import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { CLI, collect, exists, golden, pseudoRandomBytes, rejectsStoreError, runCli, tmpDir, writeTree } from '../helpers.js';
import { hashPath, packPath } from '../../src/archive/dump.js';
import { restoreArchive } from '../../src/archive/restore.js';
import { sha256 } from '../../src/hash/sha256.js';
import { toSRI } from '../../src/hash/sri.js';

interface Listed {
  name: string;
  type: string;
  mode: number;
  size: number;
  linkname: string | null;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  body: Buffer;
}

/** Parse an archive with tar-stream (independently of restore.ts). */
async function listArchive(bytes: Buffer): Promise<Listed[]> {
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract);
  const out: Listed[] = [];
  for await (const entry of extract) {
    const h = entry.header;
    const body = await collect(entry);
    out.push({ name: h.name, type: h.type, mode: h.mode, size: h.size, linkname: h.linkname, mtime: h.mtime.getTime(), uid: h.uid, gid: h.gid, uname: h.uname, gname: h.gname, body });
  }
  return out;
}

const dump = (p: string) => collect(packPath(p));

/**
 * The small fixture tree: files, an executable, symlinks, nested and empty directories, an
 * empty file, and names whose order depends on '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < '0'.
 */
function smallTree(dir: string): string {
  writeTree(dir, {
    a: { b: 'inside a\n', c: { deep: 'deep file\n' } },
    'a-b': 'dash\n',
    'a.c': 'dot\n',
    a0: 'zero\n',
    bin: { run: { exec: '#!/bin/sh\necho hello\n' } },
    'empty-dir': {},
    'empty-file': '',
    link: { link: 'a/b' },
    'abs-link': { link: '/nonexistent/target' },
  });
  return dir;
}

test('the archive of the small fixture tree matches the golden bytes', async () => {
  const root = smallTree(path.join(tmpDir('golden'), 'tree'));
  const bytes = await dump(root);
  assert.ok(golden('archive-small-tree.tar', bytes).equals(bytes), 'archive bytes differ from test/fixtures/golden/archive-small-tree.tar');
  const nar = await hashPath(root);
  assert.is(nar.narHash, toSRI(sha256(bytes)));
  assert.is(nar.narSize, bytes.length);
  assert.is(nar.narHash, golden('archive-small-tree.narhash', nar.narHash + '\n').toString().trim());
});

test('the archive lists entries in byte order with canonical headers', async () => {
  const root = smallTree(path.join(tmpDir('order'), 'tree'));
  const entries = await listArchive(await dump(root));
  assert.equal(
    entries.map((e) => e.name),
    ['.', './a', './a-b', './a.c', './a/b', './a/c', './a/c/deep', './a0', './abs-link', './bin', './bin/run', './empty-dir', './empty-file', './link'],
  );
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const e of entries) {
    assert.is(e.mtime, 0, `${e.name} mtime`);
    assert.is(e.uid, 0);
    assert.is(e.gid, 0);
    assert.is(e.uname, '');
    assert.is(e.gname, '');
  }
  assert.is(byName.get('.')!.type, 'directory');
  assert.is(byName.get('.')!.mode, 0o555);
  assert.is(byName.get('./empty-dir')!.mode, 0o555);
  assert.is(byName.get('./a-b')!.mode, 0o444);
  assert.is(byName.get('./bin/run')!.mode, 0o555);
  assert.is(byName.get('./bin/run')!.type, 'file');
  assert.is(byName.get('./empty-file')!.size, 0);
  assert.is(byName.get('./a/c/deep')!.body.toString(), 'deep file\n');
  assert.is(byName.get('./link')!.type, 'symlink');
  assert.is(byName.get('./link')!.linkname, 'a/b');
  assert.is(byName.get('./abs-link')!.linkname, '/nonexistent/target');
});

test('`store dump` output bytes are exactly the archive', async () => {
  const root = smallTree(path.join(tmpDir('cli-dump-raw'), 'tree'));
  const out = path.join(tmpDir('cli-dump-out'), 'out.tar');
  const fd = fs.openSync(out, 'w');
  const res = spawnSync(process.execPath, [CLI, 'dump', root], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
  fs.closeSync(fd);
  assert.is(res.status, 0, res.stderr);
  const bytes = fs.readFileSync(out);
  assert.ok(bytes.equals(await dump(root)));
  const viaHash = runCli(['hash-path', '--size', root]);
  assert.is(viaHash.status, 0, viaHash.stderr);
  assert.is(viaHash.stdout.trim(), `${toSRI(sha256(bytes))} ${bytes.length}`);
});

/** Build the same logical tree with different metadata and creation order. */
function variantTree(dir: string, variant: 0 | 1 | 2): string {
  const files: Array<[string, string, boolean]> = [
    ['x/y/z', 'zzz\n', false],
    ['x/run', '#!/bin/sh\n', true],
    ['top', 'top\n', false],
    ['x/y/empty', '', false],
  ];
  const dirs = ['x', 'x/y', 'x/empty-dir'];
  const order = variant === 1 ? [...files].reverse() : files;
  fs.mkdirSync(dir, { mode: variant === 2 ? 0o700 : 0o755 });
  for (const d of variant === 1 ? [...dirs].reverse() : dirs) fs.mkdirSync(path.join(dir, d), { recursive: true });
  for (const [name, body, exec] of order) {
    const mode = exec ? [0o755, 0o700, 0o711][variant] : [0o644, 0o600, 0o664][variant];
    fs.writeFileSync(path.join(dir, name), body);
    fs.chmodSync(path.join(dir, name), mode);
  }
  fs.symlinkSync('../top', path.join(dir, 'x', 'up'));
  const t = [new Date('2001-02-03T04:05:06Z'), new Date('2024-12-31T23:59:59Z'), new Date(123456789)][variant];
  for (const rel of ['x/y/z', 'x/run', 'top', 'x/y/empty', 'x/y', 'x/empty-dir', 'x', '.']) fs.utimesSync(path.join(dir, rel), t, t);
  fs.lutimesSync(path.join(dir, 'x', 'up'), t, t);
  if (variant === 2) for (const d of dirs) fs.chmodSync(path.join(dir, d), 0o700);
  return dir;
}

test('the archive does not depend on timestamps, creation order, umask or permissions other than the exec bit', async () => {
  const base = tmpDir('determinism');
  const oldMask = process.umask(0o022);
  let bytes: Buffer[];
  try {
    const a = variantTree(path.join(base, 'a'), 0);
    process.umask(0o077);
    const b = variantTree(path.join(base, 'b'), 1);
    process.umask(0o002);
    const c = variantTree(path.join(base, 'c'), 2);
    bytes = [await dump(a), await dump(b), await dump(c)];
  } finally {
    process.umask(oldMask);
  }
  assert.ok(bytes[0].equals(bytes[1]), 'variant 1 differs');
  assert.ok(bytes[0].equals(bytes[2]), 'variant 2 differs');
  // And dumping the same tree twice gives the same bytes.
  assert.ok(bytes[0].equals(await dump(path.join(base, 'a'))));
});

test('changing the exec bit, contents, a symlink target or the tree shape changes the hash', async () => {
  const base = tmpDir('sensitivity');
  const make = (name: string, edit?: (dir: string) => void) => {
    const dir = variantTree(path.join(base, name), 0);
    edit?.(dir);
    return dir;
  };
  const mutations: Record<string, (dir: string) => void> = {
    'exec bit set': (d) => fs.chmodSync(path.join(d, 'top'), 0o755),
    'exec bit cleared': (d) => fs.chmodSync(path.join(d, 'x/run'), 0o644),
    'one byte of contents': (d) => fs.writeFileSync(path.join(d, 'x/y/z'), 'zzy\n'),
    'appended byte': (d) => fs.appendFileSync(path.join(d, 'x/y/empty'), '\0'),
    'symlink target': (d) => {
      fs.unlinkSync(path.join(d, 'x/up'));
      fs.symlinkSync('../top ', path.join(d, 'x/up'));
    },
    'file renamed': (d) => fs.renameSync(path.join(d, 'top'), path.join(d, 'top2')),
    'file moved to another directory': (d) => fs.renameSync(path.join(d, 'x/y/z'), path.join(d, 'x/z')),
    'empty directory added': (d) => fs.mkdirSync(path.join(d, 'x/y/new')),
    'empty directory removed': (d) => fs.rmdirSync(path.join(d, 'x/empty-dir')),
    'empty directory replaced by an empty file': (d) => {
      fs.rmdirSync(path.join(d, 'x/empty-dir'));
      fs.writeFileSync(path.join(d, 'x/empty-dir'), '');
    },
    'symlink replaced by a file with the target as contents': (d) => {
      fs.unlinkSync(path.join(d, 'x/up'));
      fs.writeFileSync(path.join(d, 'x/up'), '../top');
    },
  };
  const reference = (await hashPath(make('reference'))).narHash;
  const seen = new Set([reference]);
  for (const [what, edit] of Object.entries(mutations)) {
    const h = (await hashPath(make(what.replace(/ /g, '_'), edit))).narHash;
    assert.is.not(h, reference, `${what} must change the hash`);
    seen.add(h);
  }
  assert.is(seen.size, Object.keys(mutations).length + 1, 'every mutation gives its own hash');
});

async function roundTrip(src: string): Promise<{ bytes: Buffer; again: Buffer; out: string }> {
  const bytes = await dump(src);
  const out = path.join(tmpDir('restored'), 'out');
  const nar = await restoreArchive(Readable.from([bytes]), out);
  assert.is(nar.narHash, toSRI(sha256(bytes)));
  assert.is(nar.narSize, bytes.length);
  return { bytes, again: await dump(out), out };
}

test('restore(dump(tree)) gives a tree with byte-identical dump, canonical on disk', async () => {
  const { bytes, again, out } = await roundTrip(smallTree(path.join(tmpDir('rt'), 'tree')));
  assert.ok(again.equals(bytes));
  assert.is(fs.readFileSync(path.join(out, 'a/c/deep'), 'utf8'), 'deep file\n');
  assert.is(fs.readlinkSync(path.join(out, 'link')), 'a/b');
  assert.is(fs.statSync(path.join(out, 'bin/run')).mode & 0o7777, 0o555);
  assert.is(fs.statSync(path.join(out, 'a-b')).mode & 0o7777, 0o444);
  assert.is(fs.statSync(path.join(out, 'a')).mode & 0o7777, 0o555);
  assert.is(fs.statSync(out).mtimeMs, 1000);
  assert.is(fs.lstatSync(path.join(out, 'link')).mtimeMs, 1000);
});

test('a file root and an executable file root dump and restore', async () => {
  const dir = tmpDir('file-root');
  fs.writeFileSync(path.join(dir, 'plain'), 'just a file\n');
  fs.writeFileSync(path.join(dir, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
  const plain = await roundTrip(path.join(dir, 'plain'));
  assert.ok(plain.again.equals(plain.bytes));
  const entries = await listArchive(plain.bytes);
  assert.equal(entries.map((e) => [e.name, e.type, e.mode]), [['.', 'file', 0o444]]);
  assert.is(fs.readFileSync(plain.out, 'utf8'), 'just a file\n');
  const tool = await roundTrip(path.join(dir, 'tool'));
  assert.equal((await listArchive(tool.bytes)).map((e) => [e.name, e.type, e.mode]), [['.', 'file', 0o555]]);
  assert.is(fs.statSync(tool.out).mode & 0o777, 0o555);
  assert.ok(!plain.bytes.equals(tool.bytes));
});

test('a symlink root dumps as the link itself and restores', async () => {
  const dir = tmpDir('link-root');
  fs.symlinkSync('/some/where/else', path.join(dir, 'l'));
  const { bytes, again, out } = await roundTrip(path.join(dir, 'l'));
  assert.ok(again.equals(bytes));
  assert.equal((await listArchive(bytes)).map((e) => [e.name, e.type, e.linkname]), [['.', 'symlink', '/some/where/else']]);
  assert.is(fs.readlinkSync(out), '/some/where/else');
});

test('long names, long symlink targets and non-ASCII names round-trip', async () => {
  const long = 'n'.repeat(150);
  const deep = Array.from({ length: 8 }, (_, i) => `directory-level-${i}`).join('/');
  const root = writeTree(path.join(tmpDir('long'), 'tree'), {
    [long]: 'long name\n',
    'ünïcödé-名前': 'utf-8\n',
    target: { link: 't'.repeat(180) },
  });
  fs.mkdirSync(path.join(root, deep), { recursive: true });
  fs.writeFileSync(path.join(root, deep, 'leaf'), 'leaf\n');
  const { bytes, again, out } = await roundTrip(root);
  assert.ok(again.equals(bytes));
  assert.is(fs.readFileSync(path.join(out, long), 'utf8'), 'long name\n');
  assert.is(fs.readFileSync(path.join(out, 'ünïcödé-名前'), 'utf8'), 'utf-8\n');
  assert.is(fs.readlinkSync(path.join(out, 'target')), 't'.repeat(180));
  assert.is(fs.readFileSync(path.join(out, deep, 'leaf'), 'utf8'), 'leaf\n');
});

test('large files (the streaming path) round-trip and encode like small ones', async () => {
  const dir = tmpDir('large');
  const sizes = [256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024 + 17];
  const root = path.join(dir, 'tree');
  fs.mkdirSync(root);
  const bodies = sizes.map((n, i) => pseudoRandomBytes(n, `large-${i}`));
  bodies.forEach((b, i) => fs.writeFileSync(path.join(root, `f${i}`), b, { mode: i === 2 ? 0o755 : 0o644 }));
  const { bytes, again, out } = await roundTrip(root);
  assert.ok(again.equals(bytes));
  bodies.forEach((b, i) => assert.ok(fs.readFileSync(path.join(out, `f${i}`)).equals(b), `f${i} contents`));
  // The same archive written by tar-stream with each body as one buffer.
  const pack = tar.pack();
  const expected = collect(pack);
  const header = (name: string, type: 'file' | 'directory', mode: number) => ({ name, type, mode, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' });
  pack.entry(header('.', 'directory', 0o555));
  bodies.forEach((b, i) => pack.entry(header(`./f${i}`, 'file', i === 2 ? 0o555 : 0o444), b));
  pack.finalize();
  assert.ok((await expected).equals(bytes), 'large-file archive differs from the reference encoding');
});

test('a large file root round-trips', async () => {
  const file = path.join(tmpDir('large-root'), 'big');
  const body = pseudoRandomBytes(3 * 1024 * 1024, 'big-root');
  fs.writeFileSync(file, body);
  const { bytes, again, out } = await roundTrip(file);
  assert.ok(again.equals(bytes));
  assert.ok(fs.readFileSync(out).equals(body));
  assert.is(bytes.length, 512 + body.length + 1024);
});

test('entries are ordered by UTF-8 bytes, not UTF-16 code units', async () => {
  // U+FF5A is EF BD 9A in UTF-8 and U+1F600 is F0 9F 98 80: bytes put U+FF5A first, while
  // UTF-16 (0xFF5A vs the surrogate 0xD83D) would put the emoji first.
  const root = writeTree(path.join(tmpDir('utf8-order'), 'tree'), { '\u{1F600}': 'emoji', '\uFF5A': 'fullwidth z', z: 'z', 'é': 'e' });
  const { bytes, again } = await roundTrip(root);
  assert.ok(again.equals(bytes));
  assert.equal((await listArchive(bytes)).map((e) => e.name), ['.', './z', './é', './\uFF5A', './\u{1F600}']);
});

test('narHash is the sha256 of the archive bytes for archives of many MiB too', async () => {
  const root = path.join(tmpDir('many-mib'), 'tree');
  fs.mkdirSync(root);
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(root, `part${i}`), pseudoRandomBytes(5 * 1024 * 1024 + i, `part-${i}`));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, `small-${String(i).padStart(3, '0')}`), pseudoRandomBytes(3000 + i, `small-${i}`));
  const bytes = await dump(root);
  assert.ok(bytes.length > 20 * 1024 * 1024);
  const nar = await hashPath(root);
  assert.is(nar.narSize, bytes.length);
  assert.is(nar.narHash, toSRI(sha256(bytes)));
  const copy = path.join(tmpDir('many-mib-copy'), 'copy');
  const viaCopy = await hashPath(root, { copyTo: copy });
  assert.is(viaCopy.narHash, nar.narHash);
  assert.ok((await dump(copy)).equals(bytes));
});

test('fifos and sockets in a source tree are refused with an error naming them', async () => {
  const dir = tmpDir('special');
  const withFifo = writeTree(path.join(dir, 'fifo-tree'), { ok: 'fine\n', sub: {} });
  execFileSync('mkfifo', [path.join(withFifo, 'sub', 'pipe')]);
  let err = await rejectsStoreError(hashPath(withFifo), 'IO');
  assert.match(err.message, /sub\/pipe/);
  assert.match(err.message, /fifo/);

  const withSocket = writeTree(path.join(dir, 'socket-tree'), { ok: 'fine\n' });
  const sock = path.join(withSocket, 'sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  try {
    err = await rejectsStoreError(hashPath(withSocket), 'IO');
    assert.match(err.message, /sock/);
    assert.match(err.message, /socket/);
    // A copy being made is not left behind either.
    const copy = path.join(dir, 'copy');
    await rejectsStoreError(hashPath(withSocket, { copyTo: copy }), 'IO');
    assert.not.ok(exists(copy));
  } finally {
    server.close();
  }
  // A fifo as the root itself.
  const rootFifo = path.join(dir, 'root-fifo');
  execFileSync('mkfifo', [rootFifo]);
  err = await rejectsStoreError(hashPath(rootFifo), 'IO');
  assert.match(err.message, /root-fifo/);
});

test('hashPath with copyTo makes a canonical, identical copy', async () => {
  const src = smallTree(path.join(tmpDir('copy'), 'tree'));
  const copy = path.join(tmpDir('copy-dest'), 'copy');
  const nar = await hashPath(src, { copyTo: copy });
  assert.is((await hashPath(copy)).narHash, nar.narHash);
  assert.is(fs.statSync(path.join(copy, 'bin/run')).mode & 0o7777, 0o555);
  assert.is(fs.statSync(path.join(copy, 'a/c/deep')).mode & 0o7777, 0o444);
  assert.is(fs.statSync(path.join(copy, 'empty-dir')).mode & 0o7777, 0o555);
  assert.is(fs.statSync(path.join(copy, 'a/c/deep')).mtimeMs, 1000);
});

test.run();
