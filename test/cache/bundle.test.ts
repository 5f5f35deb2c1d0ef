import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import tar from 'tar-stream';
import { LocalStore } from '../../src/store/local-store.js';
import { exportBundle, importBundle, BUNDLE_MAGIC, readBundleIndex } from '../../src/cache/bundle.js';
import { addSignatures, trustedKeys, fingerprint, parsePublicKey } from '../../src/cache/trust/signing.js';
import { removeTree } from '../../src/archive/canonical.js';
import { sha256 } from '../../src/hash/sha256.js';
import { toSRI } from '../../src/hash/sri.js';
import { makeStorePath } from '../../src/store/path.js';
import { packPath } from '../../src/archive/dump.js';
import { collect, pseudoRandomBytes, rejectsStoreError, runCli, tmpDir, writeTree, type TreeSpec } from '../helpers.js';
import { makeClosure, makeKeys, sharedRoot, snapshot, writeConfig } from './helpers.js';

async function exportTo(store: LocalStore, paths: string[], file: string, closure = true): Promise<string[]> {
  const out = fs.createWriteStream(file);
  return (await exportBundle(store, paths, out, { closure })).paths;
}

/** Build the closure in store A at `root`, export it, and remove A entirely. */
async function exportedClosure(keys = makeKeys()) {
  const root = sharedRoot();
  const a = new LocalStore(root);
  const c = await makeClosure(a, keys);
  const infos = new Map(c.all.map((p) => [p, a.pathInfo(p)]));
  const file = path.join(tmpDir('bundle'), 'env.bundle');
  const order = await exportTo(a, [c.top], file);
  a.close();
  removeTree(root);
  return { root, c, infos, file, order, keys };
}

test('export writes the closure dependencies first; import into a fresh store at the same directory gives the same paths and narHashes', async () => {
  const { root, c, infos, file, order, keys } = await exportedClosure();
  assert.is(order.length, 4);
  assert.ok(order.indexOf(c.leaf) < order.indexOf(c.mid) && order.indexOf(c.mid) < order.indexOf(c.top) && order.indexOf(c.data) < order.indexOf(c.top));
  assert.ok(fs.readFileSync(file).subarray(0, BUNDLE_MAGIC.length).equals(BUNDLE_MAGIC));
  writeConfig(root, { trustedPublicKeys: [keys.publicKey] });
  const b = new LocalStore(root);
  const r = await importBundle(b, file, { trusted: trustedKeys([keys.publicKey]) });
  assert.equal([...r.imported].sort(), c.all);
  for (const p of c.all) {
    const got = b.pathInfo(p);
    const want = infos.get(p)!;
    assert.is(got.narHash, want.narHash);
    assert.is(got.narSize, want.narSize);
    assert.equal(got.references, want.references);
    assert.equal(got.sigs, want.sigs);
    assert.is(got.ultimate, false);
  }
  assert.is(fs.readFileSync(path.join(c.mid, 'use.txt'), 'utf8'), `uses ${c.leaf}\n`);
  assert.is(fs.readlinkSync(path.join(c.mid, 'link')), `${c.leaf}/lib/libleaf.so`);
  assert.is(fs.statSync(path.join(c.leaf, 'bin', 'leaf')).mode & 0o777, 0o555);
  const report = await b.verify({ checkContents: true });
  assert.equal([report.missing, report.modified], [[], []]);
  // Again: a no-op.
  const again = await importBundle(b, file, { trusted: trustedKeys([keys.publicKey]) });
  assert.equal(again.imported, []);
  assert.is(again.alreadyValid.length, 4);
  assert.equal(b.strayTemporaries(), []);
  b.close();
});

test('an unsigned or wrongly signed path is refused unless signatures are not required; content-addressed paths need none', async () => {
  const { root, c, file } = await exportedClosure();
  const before = snapshot(root);
  const b = new LocalStore(root);
  const e1 = await rejectsStoreError(importBundle(b, file, { trusted: new Map() }), 'VERIFY_FAILED');
  assert.match(e1.message, /not (signed|.*trusted)|trusted/);
  const other = makeKeys('other-key-1');
  await rejectsStoreError(importBundle(b, file, { trusted: trustedKeys([other.publicKey]) }), 'VERIFY_FAILED');
  // A key with the right name but other bytes is not trusted either.
  const impostor = makeKeys('test-key-1');
  await rejectsStoreError(importBundle(b, file, { trusted: trustedKeys([impostor.publicKey]) }), 'VERIFY_FAILED');
  b.close();
  assert.equal(snapshot(root), before);
  const b2 = new LocalStore(root);
  const r = await importBundle(b2, file, { requireSigs: false });
  assert.is(r.imported.length, 4);
  b2.close();
  // The content-addressed path alone needs no signature.
  const root2 = sharedRoot();
  const a = new LocalStore(root2);
  const src = path.join(tmpDir('ca'), 'x');
  fs.writeFileSync(src, 'ca content\n');
  const ca = await a.addToStore(src, 'x');
  const f2 = path.join(tmpDir('bundle'), 'ca.bundle');
  await exportTo(a, [ca], f2);
  a.close();
  removeTree(root2);
  const b3 = new LocalStore(root2);
  assert.equal((await importBundle(b3, f2, { trusted: new Map() })).imported, [ca]);
  b3.close();
  void c;
});

test('a flipped byte anywhere in an archive is refused and the store is unchanged', async () => {
  const { root, file, keys } = await exportedClosure();
  const good = fs.readFileSync(file);
  const { entries } = await (async () => {
    const s = new LocalStore(root);
    try {
      return await readBundleIndex(file, s);
    } finally {
      s.close();
    }
  })();
  const before = snapshot(root);
  // One byte inside each archive's data (after its first header), and one in a header.
  const spots = entries.flatMap((e) => [e.offset + 512 + 3, e.offset + 100]);
  for (const at of spots) {
    const bad = Buffer.from(good);
    bad[at] ^= 0x01;
    const f = path.join(tmpDir('bad'), 'bad.bundle');
    fs.writeFileSync(f, bad);
    const s = new LocalStore(root);
    let thrown: unknown;
    try {
      await importBundle(s, f, { trusted: trustedKeys([keys.publicKey]) });
    } catch (e) {
      thrown = e;
    } finally {
      s.close();
    }
    assert.ok(thrown, `flipping byte ${at} was not noticed`);
    assert.ok(['HASH_MISMATCH', 'HOSTILE_ARCHIVE', 'VERIFY_FAILED'].includes((thrown as { code: string }).code), String(thrown));
    assert.equal(snapshot(root), before);
  }
});

test('a bundle big enough to be restored on several threads imports; a flipped byte in any of its archives is refused and the store is unchanged', async () => {
  const root = sharedRoot();
  const a = new LocalStore(root);
  const paths: string[] = [];
  for (let i = 0; i < 3; i++) {
    const src = writeTree(path.join(tmpDir('big'), `pkg-${i}`), { lib: { 'lib.so': pseudoRandomBytes(12 << 20, `big-${i}`) }, doc: { 'a.txt': `doc ${i}\n` } });
    paths.push(await a.addToStore(src));
  }
  const infos = paths.map((p) => a.pathInfo(p).narHash);
  const file = path.join(tmpDir('bundle'), 'big.bundle');
  await exportTo(a, paths, file);
  a.close();
  removeTree(root);
  const good = fs.readFileSync(file);
  const s0 = new LocalStore(root);
  const { entries } = await readBundleIndex(file, s0);
  s0.close();
  const before = snapshot(root);
  for (const e of entries) {
    const bad = Buffer.from(good);
    bad[e.offset + 4096 + 12345] ^= 0x40;
    const f = path.join(tmpDir('bad'), 'bad.bundle');
    fs.writeFileSync(f, bad);
    const s = new LocalStore(root);
    const err = await rejectsStoreError(importBundle(s, f), 'HASH_MISMATCH');
    s.close();
    assert.ok(err.message.includes(e.meta.path), err.message);
    assert.equal(snapshot(root), before);
  }
  const s = new LocalStore(root);
  const r = await importBundle(s, file);
  assert.equal(r.imported.sort(), [...paths].sort());
  assert.equal(paths.map((p) => s.pathInfo(p).narHash), infos);
  s.close();
  const v = runCli(['verify', '--check-contents'], { storeRoot: root });
  assert.is(v.status, 0, v.stderr);
});

/** Export to a file at known offsets, archives on `threads` threads (0: one stream in order). */
async function exportToFile(store: LocalStore, paths: string[], file: string, threads: number): Promise<string[]> {
  const fd = fs.openSync(file, 'w');
  try {
    return (await exportBundle(store, paths, { fd }, { threads })).paths;
  } finally {
    fs.closeSync(fd);
  }
}

test('a bundle file written on several threads is byte for byte the one written in order, and imports', async () => {
  const root = sharedRoot();
  const a = new LocalStore(root);
  const keys = makeKeys();
  const c = await makeClosure(a, keys);
  const paths = [c.top];
  for (let i = 0; i < 5; i++) {
    // Sizes that differ, so the threads finish out of order; many small files in one.
    const files: TreeSpec = { big: pseudoRandomBytes((i + 1) * (700 << 10), `t-${i}`), 'link': { link: 'big' } };
    // Over 1,024 buffers (headers, bodies, padding) in one write: more than one writev takes.
    if (i === 2) for (let k = 0; k < 600; k++) files[`small-${k}.txt`] = `small ${k}\n`;
    paths.push(await a.addToStore(writeTree(path.join(tmpDir('threads'), `pkg-${i}`), files)));
  }
  const dir = tmpDir('bundles');
  const inOrder = path.join(dir, 'stream.bundle');
  const order = await exportTo(a, paths, inOrder);
  for (const threads of [1, 2, 3]) {
    const f = path.join(dir, `threads-${threads}.bundle`);
    assert.equal(await exportToFile(a, paths, f, threads), order);
    assert.ok(fs.readFileSync(f).equals(fs.readFileSync(inOrder)), `${threads} threads: the same bytes`);
  }
  const none = path.join(dir, 'file-no-threads.bundle');
  await exportToFile(a, paths, none, 0);
  assert.ok(fs.readFileSync(none).equals(fs.readFileSync(inOrder)), 'a file without threads: the same bytes');
  a.close();
  removeTree(root);
  writeConfig(root, { trustedPublicKeys: [keys.publicKey] });
  const b = new LocalStore(root);
  const r = await importBundle(b, path.join(dir, 'threads-2.bundle'), { trusted: trustedKeys([keys.publicKey]), requireSigs: false });
  assert.equal([...r.imported].sort(), [...order].sort());
  const report = await b.verify({ checkContents: true });
  assert.equal([report.missing, report.modified], [[], []]);
  b.close();
});

test('a path modified in the store fails a threaded export with its name, whether it grew, shrank or changed in place', async () => {
  const root = sharedRoot();
  const a = new LocalStore(root);
  const paths: string[] = [];
  for (let i = 0; i < 3; i++) paths.push(await a.addToStore(writeTree(path.join(tmpDir('mod'), `pkg-${i}`), { data: pseudoRandomBytes(256 << 10, `m-${i}`) })));
  const victim = paths[1];
  const file = path.join(victim, 'data');
  const original = fs.readFileSync(file);
  const edits: Array<[string, Buffer]> = [
    ['grew', Buffer.concat([original, Buffer.alloc(4096, 1)])],
    ['shrank', original.subarray(0, original.length - 4096)],
    ['changed in place', Buffer.from(original).fill(7, 1000, 1010)],
  ];
  for (const [how, bytes] of edits) {
    fs.chmodSync(victim, 0o755);
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, bytes);
    const out = path.join(tmpDir('mod-out'), 'x.bundle');
    const err = await rejectsStoreError(exportToFile(a, paths, out, 2), 'HASH_MISMATCH');
    assert.ok(err.message.includes(victim), `${how}: ${err.message}`);
  }
  fs.writeFileSync(file, original);
  await exportToFile(a, paths, path.join(tmpDir('mod-out'), 'ok.bundle'), 2);
  a.close();
});

test('a path that cannot be read fails a threaded export; the other threads stop, and nothing is written once it has returned', async () => {
  const root = sharedRoot();
  const a = new LocalStore(root);
  const paths: string[] = [];
  for (let i = 0; i < 3; i++) paths.push(await a.addToStore(writeTree(path.join(tmpDir('gone'), `pkg-${i}`), { data: pseudoRandomBytes((i === 0 ? 1 : 12) << 20, `g-${i}`) })));
  // The smallest is packed last (largest first): the others are writing when it fails.
  removeTree(paths[0]);
  const file = path.join(tmpDir('gone-out'), 'x.bundle');
  const fd = fs.openSync(file, 'w');
  try {
    await exportBundle(a, paths, { fd }, { threads: 3 }).then(
      () => assert.unreachable('a missing path cannot be exported'),
      (e: Error) => assert.match(e.message, /ENOENT|no such file/i),
    );
    const after = fs.readFileSync(file);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(fs.readFileSync(file).equals(after), 'no write lands after the export has failed');
  } finally {
    fs.closeSync(fd);
    a.close();
  }
});

test('a full disk fails store export with a clear message and leaves no bundle or temporary file (a 16 MiB tmpfs)', async () => {
  const mnt = tmpDir('export-full');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    console.log(`cannot mount a tmpfs here (${(m.stderr || m.error?.message || '').trim()}): skipping the full-disk export test`);
    return;
  }
  try {
    const root = sharedRoot();
    const a = new LocalStore(root);
    const paths: string[] = [];
    // 72 MiB in three paths: written on threads (export-threads.ts), more than fits.
    for (let i = 0; i < 3; i++) paths.push(await a.addToStore(writeTree(path.join(tmpDir('full'), `pkg-${i}`), { data: pseudoRandomBytes(24 << 20, `f-${i}`) })));
    a.close();
    const r = runCli(['export', ...paths, '-o', path.join(mnt, 'env.bundle')], { storeRoot: root });
    assert.is.not(r.status, 0);
    assert.match(r.stderr, /ENOSPC|no space left/i);
    assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
    assert.equal(fs.readdirSync(mnt), [], 'neither the bundle nor its temporary file is left');
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test('a bundle without a dependency is refused; with the dependency valid it imports', async () => {
  const keys = makeKeys();
  const root = sharedRoot();
  const a = new LocalStore(root);
  const c = await makeClosure(a, keys);
  const dir = tmpDir('bundle');
  const topOnly = path.join(dir, 'top.bundle');
  const rest = path.join(dir, 'rest.bundle');
  assert.equal(await exportTo(a, [c.top], topOnly, false), [c.top]);
  await exportTo(a, [c.mid, c.data], rest);
  a.close();
  removeTree(root);
  const before = snapshot(root);
  const trusted = trustedKeys([keys.publicKey]);
  const b = new LocalStore(root);
  const e = await rejectsStoreError(importBundle(b, topOnly, { trusted }), 'NOT_VALID');
  assert.match(e.message, /reference .* is neither in the bundle/);
  b.close();
  assert.equal(snapshot(root), before);
  // Dropping a record from the middle of a full bundle is refused the same way.
  const b2 = new LocalStore(root);
  await importBundle(b2, rest, { trusted });
  assert.equal((await importBundle(b2, topOnly, { trusted })).imported, [c.top]);
  b2.close();
});

test('CLI: keygen, sign, export, import; a store with another store directory is refused', async () => {
  const dir = tmpDir('cli-share');
  const k = runCli(['keygen', 'cli-key-1', '--json'], { cwd: dir });
  assert.is(k.status, 0, k.stderr);
  const key = JSON.parse(k.stdout) as { publicKey: string; secretKeyFile: string };
  assert.is(fs.statSync(key.secretKeyFile).mode & 0o777, 0o600);
  assert.is(runCli(['keygen', 'cli-key-1'], { cwd: dir }).status, 1, 'keygen must not overwrite a key');
  parsePublicKey(key.publicKey);
  const root = sharedRoot();
  const a = new LocalStore(root);
  const c = await makeClosure(a);
  a.close();
  const s = runCli(['sign', c.top, '-r', '--key-file', key.secretKeyFile, '--json'], { storeRoot: root });
  assert.is(s.status, 0, s.stderr);
  const signed = JSON.parse(s.stdout) as Array<{ path: string; signatures: string[] }>;
  assert.is(signed.length, 4);
  const file = path.join(dir, 'env.bundle');
  const ex = runCli(['export', c.top, '-o', file, '--json'], { storeRoot: root });
  assert.is(ex.status, 0, ex.stderr);
  assert.is(JSON.parse(ex.stdout).paths.length, 4);
  // Another store directory: refused, clearly.
  const otherRoot = sharedRoot();
  const im0 = runCli(['import', file], { storeRoot: otherRoot });
  assert.is(im0.status, 1);
  assert.match(im0.stderr, /was made for the store directory/);
  removeTree(root);
  const im1 = runCli(['import', file], { storeRoot: root });
  assert.is(im1.status, 1);
  assert.match(im1.stderr, /trustedPublicKeys|not signed|trusted key/);
  writeConfig(root, { trustedPublicKeys: [key.publicKey] });
  const im2 = runCli(['import', file, '--json'], { storeRoot: root });
  assert.is(im2.status, 0, im2.stderr);
  assert.equal(JSON.parse(im2.stdout).imported.sort(), c.all);
  assert.equal(JSON.parse(im2.stdout).tops, [c.top]);
  const v = runCli(['verify', '--check-contents'], { storeRoot: root });
  assert.is(v.status, 0, v.stderr);
  // Imported paths are garbage until rooted: --out-link roots the bundle's top (the exported path).
  const gc0 = runCli(['gc'], { storeRoot: root });
  assert.is(gc0.status, 0, gc0.stderr);
  assert.not.ok(fs.existsSync(c.top), 'without a root, a collection deletes what was imported');
  const plain = runCli(['import', file], { storeRoot: root });
  assert.is(plain.status, 0, plain.stderr);
  assert.match(plain.stderr, "note: no root keeps the imported paths; 'store gc' may delete them");
  assert.match(plain.stderr, /imported 4 paths \(\d/);
  const link = path.join(dir, 'imported');
  const im3 = runCli(['import', file, '--out-link', link], { storeRoot: root });
  assert.is(im3.status, 0, im3.stderr);
  assert.not.match(im3.stderr, 'no root keeps');
  assert.is(fs.readlinkSync(link), c.top);
  const gc1 = runCli(['gc'], { storeRoot: root });
  assert.is(gc1.status, 0, gc1.stderr);
  for (const p of c.all) assert.ok(fs.existsSync(p), `${p} is kept by the out-link`);
});

/** A one-path bundle holding `archive` as it is, for a store at `root`, signed with `keys`; `edit` may change its metadata after signing. */
function craftBundle(root: string, archive: Buffer, keys: ReturnType<typeof makeKeys>, name: string, edit?: (meta: Record<string, unknown>) => void): { file: string; path: string } {
  const s0 = new LocalStore(root);
  const storeDir = s0.storeDir;
  s0.close();
  const narHash = toSRI(sha256(archive));
  const p = makeStorePath('source', sha256(archive).toString('hex'), storeDir, name);
  const meta = { path: p, narHash, narSize: archive.length, references: [] as string[], sigs: [] as string[] };
  meta.sigs = addSignatures(meta, [], [keys.secret]);
  edit?.(meta);
  const header = Buffer.from(JSON.stringify({ format: 'hepstore-bundle', version: 1, storeDir }));
  const m = Buffer.from(JSON.stringify(meta));
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
  const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
  const file = path.join(tmpDir('crafted'), `${name}.bundle`);
  fs.writeFileSync(file, Buffer.concat([BUNDLE_MAGIC, u32(header.length), header, Buffer.from([1]), u32(m.length), m, u64(archive.length), archive, Buffer.from([0])]));
  return { file, path: p };
}

test('an archive with a ../ entry is refused even when its hash and signature are right', async () => {
  const keys = makeKeys();
  const root = sharedRoot();
  const pack = tar.pack();
  const hdr = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
  pack.entry({ ...hdr, name: '.', type: 'directory', mode: 0o555 });
  pack.entry({ ...hdr, name: './../evil', type: 'file', mode: 0o444 }, 'pwned\n');
  pack.finalize();
  const archive = await collect(pack);
  void fingerprint;
  const { file } = craftBundle(root, archive, keys, 'evil');
  const before = snapshot(root);
  const b = new LocalStore(root);
  const storeDir = b.storeDir;
  const e = await rejectsStoreError(importBundle(b, file, { trusted: trustedKeys([keys.publicKey]) }), 'HOSTILE_ARCHIVE');
  assert.match(e.message, /'\.\.'/);
  b.close();
  assert.equal(snapshot(root), before);
  assert.not.ok(fs.existsSync(path.join(storeDir, 'evil')));
});

test('an archive that is not byte-canonical is refused even when its hash and signature are right', async () => {
  const keys = makeKeys();
  const root = sharedRoot();
  const src = writeTree(path.join(tmpDir('nc'), 'pkg'), { lib: { 'a.so': 'abc' } });
  const good = await collect(packPath(src));
  // Non-zero padding after './lib/a.so' (its data is at 3 * 512, three bytes long).
  const archive = Buffer.from(good);
  archive[3 * 512 + 3] = 0x21;
  const { file, path: p } = craftBundle(root, archive, keys, 'padded');
  const before = snapshot(root);
  const b = new LocalStore(root);
  const e = await rejectsStoreError(importBundle(b, file, { trusted: trustedKeys([keys.publicKey]) }), 'HOSTILE_ARCHIVE');
  assert.ok(e.message.includes(p) && e.message.includes("'./lib/a.so'") && /padding/.test(e.message), e.message);
  b.close();
  assert.equal(snapshot(root), before);
  // The canonical bytes import, and dump again to the same archive.
  const ok = craftBundle(root, good, keys, 'padded');
  const c = new LocalStore(root);
  assert.equal((await importBundle(c, ok.file, { trusted: trustedKeys([keys.publicKey]) })).imported, [ok.path]);
  assert.ok((await collect(packPath(ok.path))).equals(good));
  c.close();
});

test('a newline or other control character in any metadata field is refused before anything is imported', async () => {
  const keys = makeKeys();
  const root = sharedRoot();
  const archive = await collect(packPath(writeTree(path.join(tmpDir('ctl'), 'pkg'), { f: 'x' })));
  const before = snapshot(root);
  const edits: Array<[string, (m: Record<string, unknown>) => void, RegExp]> = [
    ['sigs', (m) => ((m.sigs as string[])[0] += '\nStorePath: /evil'), /sigs\[0\] holds a control character \(U\+000A\)/],
    ['sigs (space)', (m) => ((m.sigs as string[])[0] += ' other:c2ln'), /sigs\[0\] holds white space/],
    ['ca', (m) => (m.ca = 'nar:sha256-x\r'), /ca holds a control character \(U\+000D\)/],
    ['deriver', (m) => (m.deriver = `${m.path}.drv\u0000`), /deriver holds a control character/],
    ['references', (m) => (m.references = [`${m.path}\n`]), /references\[0\] holds a control character/],
    ['path', (m) => (m.path = `${m.path}\u001b[2J`), /path holds a control character \(U\+001B\)/],
    ['narHash', (m) => (m.narHash = `${m.narHash}\u2028`), /narHash holds a control character/],
  ];
  for (const [what, edit, why] of edits) {
    const { file } = craftBundle(root, archive, keys, 'ctl', edit);
    const b = new LocalStore(root);
    const e = await rejectsStoreError(importBundle(b, file, { trusted: trustedKeys([keys.publicKey]), requireSigs: false }), 'HOSTILE_ARCHIVE');
    assert.match(e.message, why, `${what}: ${e.message}`);
    assert.not.ok(/[\n\r]/.test(e.message), `${what}: the message shows the character escaped: ${JSON.stringify(e.message)}`);
    b.close();
    assert.equal(snapshot(root), before, what);
  }
  // Through the CLI: a clear one-line error, exit 1.
  const { file } = craftBundle(root, archive, keys, 'ctl', edits[0][1]);
  const r = runCli(['import', file, '--no-require-sigs'], { storeRoot: root });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /^error: bundle .* is corrupt: metadata of '.*': sigs\[0\] holds a control character \(U\+000A\)\n/);
});

test.run();
