/** apt metadata → a pinned package set: version order, relations, closure, cycles, rendering. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseStanzas, parseRelations, compareVersions } from '../../src/debian/control.js';
import { Index, resolveClosure, cycles, ResolveError, SKIPPED } from '../../src/debian/resolve.js';
import { renderPinnedSet } from '../../src/debian/render.js';
import { REPO, tmpDir } from '../helpers.js';

function stanza(name: string, version: string, fields: Record<string, string> = {}, arch = 'amd64'): string {
  const sha = Buffer.from(`${name}=${version}`).toString('hex').padEnd(64, '0').slice(0, 64);
  const lines = [`Package: ${name}`, `Version: ${version}`, `Architecture: ${arch}`];
  for (const [k, v] of Object.entries(fields)) lines.push(`${k}: ${v}`);
  lines.push(`Filename: pool/main/${name[0]}/${name}/${name}_${version.replace(/^\d+:/, '')}_${arch}.deb`, `Size: ${name.length * 100}`, `SHA256: ${sha}`, `Description: ${name}`, ` a longer description`, ` .`);
  return lines.join('\n');
}

const PACKAGES = [
  stanza('libc6', '2.36-9', { Depends: 'libgcc-s1' }),
  stanza('libc6', '2.36-9+deb12u4', { Depends: 'libgcc-s1' }),
  stanza('libc6', '2.36-8', { Depends: 'libgcc-s1' }),
  stanza('libgcc-s1', '12.2.0-14', { Depends: 'gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)' }),
  stanza('gcc-12-base', '12.2.0-14'),
  stanza('libblas3', '3.11.0-2', { Depends: 'libc6', Provides: 'libblas.so.3' }),
  stanza('libopenblas0', '0.3.21', { Depends: 'libc6', Provides: 'libblas.so.3' }),
  stanza('python3.11', '3.11.2-6', { Depends: 'libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, tzdata', 'Pre-Depends': 'dpkg (>= 1.17)' }),
  stanza('tzdata', '2024a-0', { Depends: 'debconf' }, 'all'),
  stanza('python3-numpy', '1:1.24.2-1', { Depends: 'python3.11:any, libblas3 | libblas.so.3, liblapack3 | liblapack.so.3, libc6 (>= 2.35)' }),
  stanza('liblapack3', '3.11.0-2', { Depends: 'libblas3 | libblas.so.3, libc6' }),
  stanza('python3-broken', '1.0', { Depends: 'libmissing1 (>= 2)' }),
  stanza('python3-foreign', '1.0', {}, 'arm64'),
  stanza('debconf', '1.5.82', {}, 'all'),
  stanza('dpkg', '1.21.22'),
  stanza('patchelf', '0.14.3-1+b1', { Depends: 'libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 11)' }),
  stanza('libstdc++6', '12.2.0-14', { Depends: 'gcc-12-base (= 12.2.0-14), libc6 (>= 2.36), libgcc-s1 (>= 4.2)' }),
].join('\n\n');

test('dpkg version order: epochs, tildes, numbers compared as numbers, revisions', () => {
  const ordered = ['1.0~rc1', '1.0', '1.0-1', '1.0-1+deb12u1', '1.0a', '1.2', '1.10', '1:0.1'];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = 0; j < ordered.length; j++) {
      const c = Math.sign(compareVersions(ordered[i], ordered[j]));
      assert.is(c, Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
    }
  }
  assert.is(compareVersions('1.01', '1.1'), 0);
});

test('relations: alternatives, version constraints, architecture qualifiers', () => {
  assert.equal(parseRelations('a (>= 1.2), b | c:any (<< 3), d [amd64]'), [
    [{ name: 'a', arch: undefined, op: '>=', version: '1.2' }],
    [{ name: 'b', arch: undefined, op: undefined, version: undefined }, { name: 'c', arch: 'any', op: '<<', version: '3' }],
    [{ name: 'd', arch: undefined, op: undefined, version: undefined }],
  ]);
  assert.throws(() => parseRelations('a (>= 1'), /malformed relation/);
});

test('stanzas: continuation lines belong to their field', () => {
  const [s] = parseStanzas(stanza('x', '1'));
  assert.is(s.Package, 'x');
  assert.is(s.Description, 'x\na longer description\n.');
});

test('the closure takes the highest version, the first satisfiable alternative, providers for virtual names, and skips package-management plumbing', () => {
  const index = new Index(parseStanzas(PACKAGES), 'amd64');
  const pkgs = resolveClosure(index, ['python3-numpy']);
  const byName = Object.fromEntries(pkgs.map((p) => [p.name, p]));
  assert.equal(Object.keys(byName), ['gcc-12-base', 'libblas3', 'libc6', 'libgcc-s1', 'liblapack3', 'python3-numpy', 'python3.11', 'tzdata']);
  assert.is(byName.libc6.version, '2.36-9+deb12u4');
  assert.equal(byName['python3-numpy'].depends, ['libblas3', 'libc6', 'liblapack3', 'python3.11']);
  assert.equal(byName['python3.11'].depends, ['libc6', 'tzdata'], 'debconf and dpkg are left out');
  assert.is(byName.tzdata.arch, 'all');
  for (const s of ['debconf', 'dpkg']) assert.ok(SKIPPED.has(s));
  // A virtual name with no real package of that name goes to its first provider.
  const viaVirtual = resolveClosure(new Index(parseStanzas(PACKAGES.replace('libblas3 | libblas.so.3, liblapack3', 'libblas.so.3, liblapack3')), 'amd64'), ['python3-numpy']);
  assert.ok(viaVirtual.some((p) => p.name === 'libblas3'));
  // --without: gone, and what only it needed too.
  const without = resolveClosure(index, ['python3-numpy'], new Set([...SKIPPED, 'liblapack3']));
  assert.not.ok(without.some((p) => p.name === 'liblapack3'));
});

test('cycles are found with their members; a missing dependency or foreign package is an error naming it', () => {
  const index = new Index(parseStanzas(PACKAGES), 'amd64');
  assert.equal(cycles(resolveClosure(index, ['python3-numpy'])), [['libc6', 'libgcc-s1']]);
  try {
    resolveClosure(index, ['python3-broken', 'python3-foreign']);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, ResolveError);
    assert.match((e as Error).message, /libmissing1 \(>= 2\) \(needed by python3-broken\)/);
    assert.match((e as Error).message, /python3-foreign \(asked for\)/);
  }
});

test('the rendered set is sorted and deterministic: root order does not matter', () => {
  const index = new Index(parseStanzas(PACKAGES), 'amd64');
  const render = (roots: string[]) => {
    const pkgs = resolveClosure(index, roots);
    return renderPinnedSet({ command: 'cmd', arch: 'amd64', roots, without: [], cycles: cycles(pkgs), packages: pkgs });
  };
  const a = render(['python3-numpy', 'tzdata']);
  assert.is(render(['tzdata', 'python3-numpy']), a);
  assert.match(a, /"libc6": \{ version: "2\.36-9\+deb12u4", arch: "amd64", filename: "pool\/main\/l\/libc6\/libc6_2\.36-9\+deb12u4_amd64\.deb"/);
  assert.not.match(a, /20\d\d-\d\d-\d\d/);
});

test('npm run exprs:debian writes the same file twice from the same metadata, and says what it cannot resolve', () => {
  const dir = tmpDir('debgen');
  const packages = path.join(dir, 'Packages');
  fs.writeFileSync(packages, PACKAGES);
  const gen = (out: string, ...names: string[]) =>
    spawnSync(process.execPath, [path.join(REPO, 'dist', 'src', 'debian', 'main.js'), '--packages', packages, '--arch', 'amd64', '-o', out, ...names], { cwd: REPO, encoding: 'utf8' });
  const r1 = gen(path.join(dir, 'a.ts'), 'python3-numpy', 'tzdata');
  assert.is(r1.status, 0, r1.stderr);
  const a = fs.readFileSync(path.join(dir, 'a.ts'), 'utf8');
  const r2 = gen(path.join(dir, 'a.ts'), 'tzdata', 'python3-numpy');
  assert.is(r2.status, 0, r2.stderr);
  assert.is(fs.readFileSync(path.join(dir, 'a.ts'), 'utf8'), a);
  assert.match(a, /npm run exprs:debian -- -o \S*a\.ts python3-numpy tzdata/);
  assert.not.match(a, /"patchelf": /, 'a set holds its roots\' closure only (the bootstrap relocates it)');
  assert.not.match(a, /"libstdc\+\+6": /, 'nor what only patchelf needed');
  const bad = gen(path.join(dir, 'c.ts'), 'python3-broken');
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /cannot resolve:\n\s+libmissing1/);
  assert.not.ok(fs.existsSync(path.join(dir, 'c.ts')));
});

test.run();
