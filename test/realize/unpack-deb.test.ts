import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { runCliAsync, tmpDir, exists } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { removeTree } from '../../src/archive/canonical.js';
import { unpackDebs } from '../../src/realize/unpack-deb.js';

// Real packages are made with the host's dpkg-deb; hostile ones byte by byte below.
const hasDpkgDeb = spawnSync('dpkg-deb', ['--version']).status === 0;

// ---------------------------------------------------------------- making packages

/** A package tree for dpkg-deb --build: files, an executable, symlinks (relative and absolute), a hard link. */
function packageTree(dir: string, pkg: string, extra: (root: string) => void = () => {}): string {
  const root = path.join(dir, `${pkg}-tree`);
  const w = (rel: string, data: string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data, { mode });
    fs.chmodSync(path.join(root, rel), mode);
  };
  w('DEBIAN/control', `Package: ${pkg}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Test <test@example.org>\nDescription: a test package\n`);
  w(`usr/bin/${pkg}`, `#!/bin/sh\necho ${pkg}\n`, 0o755);
  w(`usr/lib/x86_64-linux-gnu/lib${pkg}.so.1.0`, `\x7fELF pretend library of ${pkg}\n`);
  fs.symlinkSync(`lib${pkg}.so.1.0`, path.join(root, `usr/lib/x86_64-linux-gnu/lib${pkg}.so.1`));
  w(`usr/share/doc/${pkg}/copyright`, 'Copyright: nobody\n');
  w(`usr/share/${pkg}/data.txt`, 'shared data\n');
  fs.linkSync(path.join(root, `usr/share/${pkg}/data.txt`), path.join(root, `usr/share/${pkg}/data-link.txt`));
  fs.mkdirSync(path.join(root, 'etc/alternatives'), { recursive: true });
  fs.symlinkSync(`/usr/bin/${pkg}`, path.join(root, `etc/alternatives/${pkg}`));
  fs.mkdirSync(path.join(root, `var/lib/${pkg}`), { recursive: true });
  extra(root);
  return root;
}

function dpkgBuild(tree: string, out: string, compression: string): string {
  const r = spawnSync('dpkg-deb', ['--root-owner-group', `-Z${compression}`, '--build', tree, out], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return out;
}

/** A ustar header block (and the data blocks) of one entry. */
function tarEntry(e: { name: string; type?: string; data?: string | Buffer; mode?: number; linkname?: string }): Buffer {
  const data = Buffer.from(e.data ?? '');
  const h = Buffer.alloc(512);
  const oct = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';
  h.write(e.name, 0, 100, 'utf8');
  h.write(oct(e.mode ?? 0o644, 8), 100);
  h.write(oct(0, 8), 108);
  h.write(oct(0, 8), 116);
  h.write(oct(data.length, 12), 124);
  h.write(oct(0, 12), 136);
  h.write(e.type ?? '0', 156);
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

type TarEntry = Parameters<typeof tarEntry>[0];
const tarball = (entries: TarEntry[]) => Buffer.concat([...entries.map(tarEntry), Buffer.alloc(1024)]);

function ar(members: Array<[string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const [name, content] of members) {
    const data = Buffer.from(content);
    const h = `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`;
    assert.is(h.length, 60);
    parts.push(Buffer.from(h, 'latin1'), data);
    if (data.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** A .deb whose data member is `dataName` with the bytes `data`. */
function handmadeDeb(dataName: string, data: Buffer): Buffer {
  const control = zlib.gzipSync(tarball([{ name: './', type: '5', mode: 0o755 }, { name: './control', data: 'Package: evil\nVersion: 1\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: x\n' }]));
  return ar([
    ['debian-binary', '2.0\n'],
    ['control.tar.gz', control],
    [dataName, data],
  ]);
}

// ---------------------------------------------------------------- realizing

interface Project {
  dir: string;
  root: string;
}

/** A directory with .deb files (given by their contents) and an expression file whose attributes unpack them. */
function project(debs: Record<string, Buffer | string>, attrs: Record<string, string[]>, root = path.join(tmpDir('unpack-store'), 'root')): Project {
  const dir = tmpDir('unpack');
  for (const [name, content] of Object.entries(debs)) fs.writeFileSync(path.join(dir, name), content);
  const lines = Object.entries(attrs).map(([attr, names]) => `export const ${attr} = unpackDeb({ name: '${attr}', debs: [${names.map((n) => `path('./${n}')`).join(', ')}] });`);
  fs.writeFileSync(path.join(dir, 'default.ts'), `import { unpackDeb, path } from 'hepstore';\n${lines.join('\n')}\n`);
  return { dir, root };
}

const realize = (p: Project, attr: string) => runCliAsync(['realize', 'default.ts', '--no-out-link', '-A', attr], { storeRoot: p.root, cwd: p.dir });

async function built(p: Project, attr: string): Promise<string> {
  const r = await realize(p, attr);
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

async function fails(p: Project, attr: string, message: RegExp): Promise<string> {
  const r = await realize(p, attr);
  assert.is(r.status, 100, `expected a build failure, got ${r.status}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, message);
  return r.stderr;
}

function narHash(root: string, p: string): string {
  const s = new LocalStore(root);
  try {
    return s.pathInfo(p)!.narHash;
  } finally {
    s.close();
  }
}

/** Every entry below `dir`: 'd', 'l -> TARGET' or 'f[x] SHA256', by relative path. */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs);
    if (st.isSymbolicLink()) out[rel] = `l -> ${fs.readlinkSync(abs)}`;
    else if (st.isDirectory()) {
      if (rel) out[rel] = 'd';
      for (const d of fs.readdirSync(abs).sort()) visit(rel ? `${rel}/${d}` : d);
    } else out[rel] = `f${st.mode & 0o100 ? 'x' : ''} ${createHash('sha256').update(fs.readFileSync(abs)).digest('hex')}`;
  };
  visit('');
  return out;
}

function dpkgExtract(deb: string): string {
  const out = path.join(tmpDir('dpkg-x'), 'x');
  const r = spawnSync('dpkg-deb', ['-x', deb, out], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return out;
}

// ---------------------------------------------------------------- tests

test('unpackDeb lays out a .deb compressed with xz, gzip, zstd or nothing exactly as dpkg-deb -x does, with one narHash', async () => {
  if (!hasDpkgDeb) return console.log('  (skipped: no dpkg-deb)');
  const dir = tmpDir('debs');
  const tree = packageTree(dir, 'alpha');
  const debs: Record<string, string> = {};
  for (const z of ['xz', 'gzip', 'zstd', 'none']) debs[`alpha-${z}.deb`] = dpkgBuild(tree, path.join(dir, `alpha-${z}.deb`), z);
  const contents = Object.fromEntries(Object.entries(debs).map(([n, f]) => [n, fs.readFileSync(f)]));
  // Each really has the data member its compression names.
  const members = spawnSync('ar', ['t', debs['alpha-zstd.deb']], { encoding: 'utf8' }).stdout;
  assert.match(members, /^data\.tar\.zst$/m);
  const p = project(contents, { xz: ['alpha-xz.deb'], gzip: ['alpha-gzip.deb'], zstd: ['alpha-zstd.deb'], none: ['alpha-none.deb'] });
  const reference = listing(dpkgExtract(debs['alpha-xz.deb']));
  const hashes = new Set<string>();
  for (const z of ['xz', 'gzip', 'zstd', 'none']) {
    const out = await built(p, z);
    assert.equal(listing(out), reference, `${z}: the tree differs from dpkg-deb -x`);
    hashes.add(narHash(p.root, out));
  }
  assert.is(hashes.size, 1, 'the same tree whatever the compression');
  const out = await built(p, 'xz');
  // The layout dpkg gives, below /: no /usr merge, no relocation.
  assert.ok(fs.statSync(path.join(out, 'usr/bin/alpha')).mode & 0o100, 'the program keeps its executable bit');
  assert.not.ok(fs.statSync(path.join(out, 'usr/share/doc/alpha/copyright')).mode & 0o111, 'a data file is not executable');
  assert.not.ok(exists(path.join(out, 'bin')), 'nothing merged to the top');
  assert.is(fs.readlinkSync(path.join(out, 'usr/lib/x86_64-linux-gnu/libalpha.so.1')), 'libalpha.so.1.0');
  assert.is(fs.readlinkSync(path.join(out, 'etc/alternatives/alpha')), '/usr/bin/alpha', 'absolute symlinks are kept as they are');
  // The hard link is a file with the same contents.
  const link = fs.lstatSync(path.join(out, 'usr/share/alpha/data-link.txt'));
  assert.ok(link.isFile());
  assert.is(fs.readFileSync(path.join(out, 'usr/share/alpha/data-link.txt'), 'utf8'), 'shared data\n');
  assert.ok(fs.statSync(path.join(out, 'var/lib/alpha')).isDirectory(), 'empty directories are kept');
  // The build log says what was unpacked.
  const log = await runCliAsync(['log', out], { storeRoot: p.root, cwd: p.dir });
  assert.is(log.status, 0, log.stderr);
  assert.match(log.stdout, /hepstore: unpacked 1 packages: 4 files, \d+ directories, 2 symlinks, 1 hard links/);
});

test('several packages go into one tree in order; shared directories and identical files may repeat', async () => {
  if (!hasDpkgDeb) return console.log('  (skipped: no dpkg-deb)');
  const dir = tmpDir('debs');
  const same = (root: string) => {
    fs.mkdirSync(path.join(root, 'usr/share/common'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/share/common/license.txt'), 'the same in both\n');
    fs.symlinkSync('license.txt', path.join(root, 'usr/share/common/LICENSE'));
  };
  const a = dpkgBuild(packageTree(dir, 'alpha', same), path.join(dir, 'alpha.deb'), 'xz');
  const b = dpkgBuild(packageTree(dir, 'beta', same), path.join(dir, 'beta.deb'), 'gzip');
  const p = project({ 'alpha.deb': fs.readFileSync(a), 'beta.deb': fs.readFileSync(b) }, { both: ['alpha.deb', 'beta.deb'], reversed: ['beta.deb', 'alpha.deb'] });
  const out = await built(p, 'both');
  const got = listing(out);
  const expected = { ...listing(dpkgExtract(a)), ...listing(dpkgExtract(b)) };
  assert.equal(got, expected);
  assert.ok(got['usr/bin/alpha'] && got['usr/bin/beta']);
  assert.is(got['usr/share/common/LICENSE'], 'l -> license.txt');
  // The order of the list is part of the derivation, not of the tree.
  const rev = await built(p, 'reversed');
  assert.is.not(rev, out);
  assert.equal(listing(rev), got);
});

test('one path with different contents in two packages is an error naming both packages and the path', async () => {
  if (!hasDpkgDeb) return console.log('  (skipped: no dpkg-deb)');
  const dir = tmpDir('debs');
  const clash = (text: string) => (root: string) => {
    fs.mkdirSync(path.join(root, 'usr/share/common'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/share/common/config'), text);
  };
  const a = dpkgBuild(packageTree(dir, 'alpha', clash('alpha says\n')), path.join(dir, 'alpha.deb'), 'xz');
  const b = dpkgBuild(packageTree(dir, 'beta', clash('beta says\n')), path.join(dir, 'beta.deb'), 'xz');
  const c = dpkgBuild(
    packageTree(dir, 'gamma', (root) => {
      fs.mkdirSync(path.join(root, 'usr/share/common'), { recursive: true });
      fs.symlinkSync('elsewhere', path.join(root, 'usr/share/common/config'));
    }),
    path.join(dir, 'gamma.deb'),
    'xz',
  );
  const p = project({ 'alpha.deb': fs.readFileSync(a), 'beta.deb': fs.readFileSync(b), 'gamma.deb': fs.readFileSync(c) }, { clash: ['alpha.deb', 'beta.deb'], kinds: ['alpha.deb', 'gamma.deb'] });
  const err = await fails(p, 'clash', /'usr\/share\/common\/config' is in both '[^']+-alpha\.deb' and '[^']+-beta\.deb', with different contents/);
  assert.match(err, /could not unpack its packages/);
  await fails(p, 'kinds', /'usr\/share\/common\/config' is in both '[^']+-alpha\.deb' and '[^']+-gamma\.deb', as a file and as a symlink/);
});

test('two realizes in fresh stores at the same store directory give the same path and narHash', async () => {
  if (!hasDpkgDeb) return console.log('  (skipped: no dpkg-deb)');
  const dir = tmpDir('debs');
  const deb = dpkgBuild(packageTree(dir, 'alpha'), path.join(dir, 'alpha.deb'), 'xz');
  const root = path.join(tmpDir('unpack-same'), 'root');
  const p = project({ 'alpha.deb': fs.readFileSync(deb) }, { one: ['alpha.deb'] }, root);
  const first = await built(p, 'one');
  const firstHash = narHash(root, first);
  removeTree(root);
  assert.not.ok(exists(first));
  const second = await built(p, 'one');
  assert.is(second, first);
  assert.is(narHash(root, second), firstHash);
});

const EVIL_FILE = { name: './usr/share/evil/ok.txt', data: 'fine\n' };

test('hostile names are refused: absolute, with .., written through a symlink, a hard link to nothing', async () => {
  const outside = tmpDir('outside');
  const data = (entries: TarEntry[]) => handmadeDeb('data.tar', tarball([{ name: './', type: '5', mode: 0o755 }, EVIL_FILE, ...entries]));
  const p = project(
    {
      'dotdot.deb': data([{ name: './usr/../../escaped', data: 'x' }]),
      'absolute.deb': data([{ name: './/etc/passwd', data: 'x' }]),
      'absolute2.deb': data([{ name: '/etc/shadow', data: 'x' }]),
      'through.deb': data([
        { name: './usr/lib', type: '2', linkname: outside },
        { name: './usr/lib/pwned', data: 'x' },
      ]),
      'through-rel.deb': data([
        { name: './up', type: '2', linkname: '../../..' },
        { name: './up/pwned', data: 'x' },
      ]),
      'hardlink.deb': data([{ name: './usr/share/evil/copy', type: '1', linkname: './etc/passwd' }]),
      'ok.deb': data([]),
    },
    { dotdot: ['dotdot.deb'], absolute: ['absolute.deb'], absolute2: ['absolute2.deb'], through: ['through.deb'], throughRel: ['through-rel.deb'], hardlink: ['hardlink.deb'], ok: ['ok.deb'], okThenThrough: ['ok.deb', 'through.deb'] },
  );
  // The same kind of package with nothing hostile in it unpacks: the errors come from the names.
  const ok = await built(p, 'ok');
  assert.is(fs.readFileSync(path.join(ok, 'usr/share/evil/ok.txt'), 'utf8'), 'fine\n');
  await fails(p, 'dotdot', /-dotdot\.deb': an entry has a name with '\.\.': '\.\/usr\/\.\.\/\.\.\/escaped'/);
  await fails(p, 'absolute', /-absolute\.deb': an entry has an absolute name: '\.\/\/etc\/passwd'/);
  await fails(p, 'absolute2', /-absolute2\.deb': an entry has an absolute name: '\/etc\/shadow'/);
  await fails(p, 'through', /-through\.deb': 'usr\/lib\/pwned' would be written through the symlink 'usr\/lib'/);
  await fails(p, 'throughRel', /'up\/pwned' would be written through the symlink 'up' -> '\.\.\/\.\.\/\.\.'/);
  await fails(p, 'hardlink', /the hard link 'usr\/share\/evil\/copy' does not lead to a file extracted earlier from this package/);
  await fails(p, 'okThenThrough', /'usr\/lib\/pwned' would be written through the symlink 'usr\/lib'/);
  assert.equal(fs.readdirSync(outside), [], 'nothing was written outside the output');
});

test('devices and FIFOs are skipped with a line in the build log', async () => {
  const deb = handmadeDeb(
    'data.tar.gz',
    zlib.gzipSync(
      tarball([
        { name: './', type: '5', mode: 0o755 },
        { name: './dev/', type: '5', mode: 0o755 },
        { name: './dev/null', type: '3' },
        { name: './dev/pipe', type: '6' },
        { name: './dev/run.sh', data: '#!/bin/sh\n', mode: 0o4755 },
      ]),
    ),
  );
  const p = project({ 'dev.deb': deb }, { dev: ['dev.deb'] });
  const out = await built(p, 'dev');
  assert.equal(listing(out), { dev: 'd', 'dev/run.sh': `fx ${createHash('sha256').update('#!/bin/sh\n').digest('hex')}` });
  const log = await runCliAsync(['log', out], { storeRoot: p.root, cwd: p.dir });
  assert.match(log.stdout, /skipping the character-device 'dev\/null' of '[^']+-dev\.deb'/);
  assert.match(log.stdout, /skipping the fifo 'dev\/pipe'/);
  assert.match(log.stdout, /2 devices or FIFOs skipped/);
});

test('clear errors for a file that is not a .deb, a truncated one, an unknown compression and corrupt data', async () => {
  if (!hasDpkgDeb) return console.log('  (skipped: no dpkg-deb)');
  const dir = tmpDir('debs');
  const good = fs.readFileSync(dpkgBuild(packageTree(dir, 'alpha'), path.join(dir, 'alpha.deb'), 'xz'));
  const goodZstd = fs.readFileSync(dpkgBuild(packageTree(dir, 'beta'), path.join(dir, 'beta.deb'), 'zstd'));
  const goodGzip = fs.readFileSync(dpkgBuild(packageTree(dir, 'gamma'), path.join(dir, 'gamma.deb'), 'gzip'));
  const dataAt = (deb: Buffer, name: string) => deb.indexOf(Buffer.from(name.padEnd(16))) + 60;
  const flip = (deb: Buffer, name: string, delta: number) => {
    const b = Buffer.from(deb);
    b[dataAt(deb, name) + delta] ^= 0x55;
    return b;
  };
  const xzAt = dataAt(good, 'data.tar.xz');
  const p = project(
    {
      'text.deb': 'this is a text file, not a Debian package\n',
      'empty.deb': '',
      'notdeb.deb': ar([['hello.txt', 'hi\n']]),
      'truncated.deb': good.subarray(0, good.length - 100),
      'header.deb': good.subarray(0, xzAt - 30),
      'bz2.deb': handmadeDeb('data.tar.bz2', Buffer.from('BZh9 whatever')),
      'nodata.deb': ar([['debian-binary', '2.0\n'], ['control.tar.gz', zlib.gzipSync(tarball([]))]]),
      'corrupt-xz.deb': flip(good, 'data.tar.xz', 200),
      'notxz.deb': handmadeDeb('data.tar.xz', Buffer.from('plainly not xz data, just some text that is long enough')),
      'corrupt-gz.deb': flip(goodGzip, 'data.tar.gz', 30),
      'truncated-zst.deb': handmadeDeb('data.tar.zst', goodZstd.subarray(dataAt(goodZstd, 'data.tar.zst'), dataAt(goodZstd, 'data.tar.zst') + 60)),
      'badtar.deb': handmadeDeb('data.tar', Buffer.concat([tarEntry(EVIL_FILE).subarray(0, 512).fill(7, 148, 150), Buffer.alloc(1024)])),
      'shorttar.deb': handmadeDeb('data.tar', tarEntry({ name: './big', data: 'x'.repeat(2000) }).subarray(0, 1024)),
    },
    {
      text: ['text.deb'],
      empty: ['empty.deb'],
      notdeb: ['notdeb.deb'],
      truncated: ['truncated.deb'],
      header: ['header.deb'],
      bz2: ['bz2.deb'],
      nodata: ['nodata.deb'],
      corruptXz: ['corrupt-xz.deb'],
      notXz: ['notxz.deb'],
      corruptGz: ['corrupt-gz.deb'],
      truncatedZst: ['truncated-zst.deb'],
      badTar: ['badtar.deb'],
      shortTar: ['shorttar.deb'],
    },
  );
  const deb = (n: string) => `'[^']*/[a-z0-9]{32}-${n.replace('.', '\\.')}'`;
  await fails(p, 'text', new RegExp(`${deb('text.deb')} is not a Debian package: it is not an ar archive`));
  await fails(p, 'empty', new RegExp(`${deb('empty.deb')} is not a Debian package: it is not an ar archive`));
  await fails(p, 'notdeb', new RegExp(`${deb('notdeb.deb')} is not a Debian binary package: its first member is not debian-binary`));
  await fails(p, 'truncated', new RegExp(`${deb('truncated.deb')} is truncated: its member 'data.tar.xz' ends at byte ${good.length}, past the end of the file \\(${good.length - 100} bytes\\)`));
  await fails(p, 'header', new RegExp(`${deb('header.deb')} is truncated: the ar header at byte \\d+ ends past the end of the file`));
  await fails(p, 'bz2', new RegExp(`${deb('bz2.deb')} has its data archive compressed as 'data.tar.bz2', which builtin:unpack-deb cannot read`));
  await fails(p, 'nodata', new RegExp(`${deb('nodata.deb')} has no data archive \\(members: debian-binary, control.tar.gz\\)`));
  await fails(p, 'corruptXz', new RegExp(`${deb('corrupt-xz.deb')} has a corrupt data archive \\(data.tar.xz\\): corrupt xz data`));
  await fails(p, 'notXz', new RegExp(`${deb('notxz.deb')} has a corrupt data archive \\(data.tar.xz\\): not xz data`));
  await fails(p, 'corruptGz', new RegExp(`${deb('corrupt-gz.deb')} has a corrupt data archive \\(data.tar.gz\\): corrupt gzip data`));
  await fails(p, 'truncatedZst', new RegExp(`${deb('truncated-zst.deb')} has a corrupt data archive \\(data.tar.zst\\): truncated or corrupt zstd data`));
  await fails(p, 'badTar', new RegExp(`${deb('badtar.deb')} has a corrupt data archive \\(data.tar\\): Invalid tar header`));
  await fails(p, 'shortTar', new RegExp(`${deb('shorttar.deb')} has a corrupt data archive \\(data.tar\\): the tar archive ends in the middle of an entry`));
});

test('decompressing on other threads gives the same tree and the same errors as on one', async () => {
  if (!hasDpkgDeb) return console.log('  (skipped: no dpkg-deb)');
  const dir = tmpDir('debs');
  const debs = [
    dpkgBuild(packageTree(dir, 'alpha'), path.join(dir, 'alpha.deb'), 'xz'),
    dpkgBuild(packageTree(dir, 'beta'), path.join(dir, 'beta.deb'), 'zstd'),
    dpkgBuild(packageTree(dir, 'gamma'), path.join(dir, 'gamma.deb'), 'gzip'),
    dpkgBuild(
      packageTree(dir, 'delta', (root) => {
        // Larger than a thread may send ahead (32 MiB), so that its flow control is used.
        const big = Buffer.alloc(40 << 20);
        for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i * 2654435761 % 2 ** 32, i);
        fs.writeFileSync(path.join(root, 'usr/share/delta/big.bin'), big);
      }),
      path.join(dir, 'delta.deb'),
      'xz',
    ),
    dpkgBuild(packageTree(dir, 'epsilon'), path.join(dir, 'epsilon.deb'), 'none'),
  ];
  const one = path.join(tmpDir('one'), 'out');
  const many = path.join(tmpDir('many'), 'out');
  await unpackDebs(debs, one, { threads: 0 });
  const stats = await unpackDebs(debs, many, { threads: 2 });
  assert.is(stats.debs, 5);
  assert.equal(listing(many), listing(one));

  const good = fs.readFileSync(debs[0]);
  const at = good.indexOf(Buffer.from('data.tar.xz'.padEnd(16))) + 60;
  const corrupt = Buffer.from(good);
  corrupt[at + 200] ^= 0x55;
  const corruptXz = path.join(dir, 'corrupt-xz.deb');
  fs.writeFileSync(corruptXz, corrupt);
  const zst = fs.readFileSync(debs[1]);
  const zAt = zst.indexOf(Buffer.from('data.tar.zst'.padEnd(16))) + 60;
  const truncatedZst = path.join(dir, 'truncated-zst.deb');
  fs.writeFileSync(truncatedZst, handmadeDeb('data.tar.zst', zst.subarray(zAt, zAt + 60)));
  const evil = path.join(dir, 'evil.deb');
  fs.writeFileSync(evil, handmadeDeb('data.tar', tarball([{ name: '/etc/passwd', data: 'x' }])));
  const failure = async (list: string[], message: RegExp) => {
    for (const threads of [0, 2]) {
      const out = path.join(tmpDir('fail'), 'out');
      const e = await unpackDebs(list, out, { threads }).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      assert.ok(e, `threads ${threads}: expected a failure`);
      assert.match(e!.message, message, `threads ${threads}`);
    }
  };
  // The failing archive first, in the middle, and with archives being decompressed behind it.
  await failure([corruptXz, debs[3], debs[1]], /corrupt-xz\.deb' has a corrupt data archive \(data\.tar\.xz\): corrupt xz data/);
  await failure([debs[0], debs[1], corruptXz, debs[3]], /corrupt-xz\.deb' has a corrupt data archive \(data\.tar\.xz\): corrupt xz data/);
  await failure([debs[0], truncatedZst, debs[3]], /truncated-zst\.deb' has a corrupt data archive \(data\.tar\.zst\): truncated or corrupt zstd data/);
  await failure([evil, debs[3], debs[0], debs[1]], /evil\.deb': an entry has an absolute name: '\/etc\/passwd'/);
});

test('a derivation made for another version of builtin:unpack-deb is refused before anything is unpacked', async () => {
  const deb = handmadeDeb('data.tar', tarball([EVIL_FILE]));
  const p = project({ 'ok.deb': deb }, { ok: ['ok.deb'] });
  fs.appendFileSync(
    path.join(p.dir, 'default.ts'),
    `import { derivation } from 'hepstore';
export const v1 = derivation({ name: 'ok', builder: 'builtin:unpack-deb', env: { debs: [path('./ok.deb')], builtinVersion: 1 } });
export const v2 = derivation({ name: 'ok', builder: 'builtin:unpack-deb', env: { debs: [path('./ok.deb')], builtinVersion: 2 } });
export const none = derivation({ name: 'ok', builder: 'builtin:unpack-deb', env: { debs: [path('./ok.deb')] } });
export const unknown = derivation({ name: 'ok', builder: 'builtin:unpack-deb-fast', env: { debs: [path('./ok.deb')], builtinVersion: 1 } });
`,
  );
  // What unpackDeb makes is exactly the version-1 derivation.
  const out = await built(p, 'ok');
  assert.is(await built(p, 'v1'), out);
  const v2 = await realize(p, 'v2');
  assert.is(v2.status, 100, v2.stderr);
  assert.match(v2.stderr, /derivation '[^']+-ok\.drv' \(defined at [^)]*default\.ts:\d+\) was made for builtin:unpack-deb version 2; this hepstore implements version 1/);
  assert.match(v2.stderr, /update hepstore/);
  assert.not.match(v2.stderr, /unpacked/);
  const none = await realize(p, 'none');
  assert.is(none.status, 100, none.stderr);
  assert.match(none.stderr, /records no version of builtin:unpack-deb/);
  const unknown = await realize(p, 'unknown');
  assert.is(unknown.status, 100, unknown.stderr);
  assert.match(unknown.stderr, /is built by 'builtin:unpack-deb-fast', which this hepstore does not have/);
});

test.run();
