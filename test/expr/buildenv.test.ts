import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree, walk, type TreeSpec } from '../helpers.js';
import { findBwrap } from '../../src/realize/sandbox.js';
import { linkEnvironment } from '../../src/realize/buildenv.js';

// One store for the whole file; each test writes its packages in a fresh directory.
const root = path.join(tmpDir('buildenv-store'), 'root');
const storeDir = path.join(root, 'store');

const exec = (s: string) => ({ exec: `#!/bin/sh\n${s}\n` });

/** Packages as store sources (path('./NAME')), and an expression file that merges them. */
function project(pkgs: Record<string, TreeSpec>, expr: string): string {
  const dir = tmpDir('buildenv');
  writeTree(dir, pkgs);
  fs.writeFileSync(path.join(dir, 'env.ts'), `import { buildEnv, path, hiPrio, lowPrio, derivation } from 'hepstore';\n${expr}\n`);
  return dir;
}

function realize(dir: string, attr?: string) {
  return runCli(['realize', 'env.ts', '--no-out-link', ...(attr ? ['-A', attr] : [])], { storeRoot: root, cwd: dir });
}

function built(dir: string, attr?: string): string {
  const r = realize(dir, attr);
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** The store path a source directory of `dir` got (the target of the env's symlinks). */
const pkgPath = (env: string, rel: string) => {
  const t = fs.readlinkSync(path.join(env, rel));
  return t.slice(0, t.indexOf('/', storeDir.length + 1));
};

const TWO_TOOLS = {
  alpha: { bin: { tool: exec('echo alpha'), alpha: exec('echo only-alpha') }, share: { alpha: { 'data.txt': 'a\n' } } },
  beta: { bin: { tool: exec('echo beta'), beta: exec('echo only-beta') }, share: { beta: { 'data.txt': 'b\n' } } },
};

test('two packages with different files at one path: a build error naming both store paths and the file', () => {
  const dir = project(TWO_TOOLS, `export default buildEnv({ name: 'clash', paths: [path('./alpha'), path('./beta')] });`);
  const r = realize(dir);
  assert.is(r.status, 100, r.stderr);
  const m = r.stderr.match(/collision between '([^']+)' and '([^']+)'/);
  assert.ok(m, r.stderr);
  assert.match(m![1], new RegExp(`^${storeDir}/[a-z0-9]{32}-alpha/bin/tool$`));
  assert.match(m![2], new RegExp(`^${storeDir}/[a-z0-9]{32}-beta/bin/tool$`));
  assert.match(r.stderr, /'bin\/tool'/);
  assert.match(r.stderr, /clash\.drv/);
});

test('priority resolves a collision: the lower number wins, whatever the order; the rest is merged', () => {
  const dir = project(
    TWO_TOOLS,
    [
      `export const betaWins = buildEnv({ name: 'beta-wins', paths: [path('./alpha'), hiPrio(path('./beta'))] });`,
      `export const alphaWins = buildEnv({ name: 'alpha-wins', paths: [{ path: path('./beta'), priority: 7 }, path('./alpha')] });`,
      `export const lowered = buildEnv({ name: 'lowered', paths: [lowPrio(path('./alpha')), path('./beta')] });`,
    ].join('\n'),
  );
  const run = (env: string, tool: string) => fs.readFileSync(path.join(env, 'bin', tool), 'utf8');
  const b = built(dir, 'betaWins');
  assert.match(run(b, 'tool'), /echo beta/);
  assert.match(run(b, 'alpha'), /only-alpha/);
  assert.match(run(b, 'beta'), /only-beta/);
  assert.match(fs.readlinkSync(path.join(b, 'bin/tool')), /-beta\/bin\/tool$/);
  const a = built(dir, 'alphaWins');
  assert.match(run(a, 'tool'), /echo alpha/);
  const l = built(dir, 'lowered');
  assert.match(run(l, 'tool'), /echo beta/);
});

test('identical files in two packages do not collide; same-target relative links neither', () => {
  const same = { 'COPYING': 'GPL\n', bin: { shared: exec('echo same') }, lib: { 'libz.so': { link: 'libz.so.1' } } };
  const dir = project(
    {
      one: { ...same, bin: { ...same.bin, one: exec('1') }, lib: { ...same.lib, 'libz.so.1': 'z1' } },
      two: { ...same, bin: { ...same.bin, two: exec('2') } },
      differentMode: { bin: { shared: 'echo same\n' } },
    },
    [
      `export default buildEnv({ name: 'same', paths: [path('./one'), path('./two')] });`,
      `export const modes = buildEnv({ name: 'modes', paths: [path('./one'), path('./differentMode')] });`,
    ].join('\n'),
  );
  const env = built(dir);
  assert.is(fs.readFileSync(path.join(env, 'bin/shared'), 'utf8'), '#!/bin/sh\necho same\n');
  assert.match(pkgPath(env, 'bin/shared'), /-one$/, 'the first package of equal ones is linked');
  assert.is(fs.readFileSync(path.join(env, 'COPYING'), 'utf8'), 'GPL\n');
  assert.match(fs.readlinkSync(path.join(env, 'lib/libz.so')), /-one\/lib\/libz\.so$/, 'the first package, where the link resolves, is linked');
  assert.is(fs.readFileSync(path.join(env, 'lib/libz.so'), 'utf8'), 'z1');
  // Same contents but one is executable and one is not: different files.
  const r = realize(dir, 'modes');
  assert.is(r.status, 100, r.stderr);
  assert.match(r.stderr, /collision between '[^']+-one\/bin\/shared' and '[^']+-differentMode\/bin\/shared'/);
});

test('a directory only one package has stays one symlink; shared directories become real ones', () => {
  const dir = project(
    {
      numpy: { lib: { python3: { 'dist-packages': { numpy: { '__init__.py': '', core: { 'a.py': '' } } } } }, share: { doc: { numpy: { README: 'np' } } } },
      scipy: { lib: { python3: { 'dist-packages': { scipy: { '__init__.py': '' } } } }, bin: { f2py: exec('f2py') } },
    },
    `export default buildEnv({ name: 'py', paths: [path('./numpy'), path('./scipy')] });`,
  );
  const env = built(dir);
  const kinds = Object.fromEntries(walk(env).map(({ path: p, st }) => [path.relative(env, p) || '.', st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file']));
  assert.equal(kinds, {
    '.': 'dir',
    bin: 'link',
    lib: 'dir',
    'lib/python3': 'dir',
    'lib/python3/dist-packages': 'dir',
    'lib/python3/dist-packages/numpy': 'link',
    'lib/python3/dist-packages/scipy': 'link',
    share: 'link',
  });
  assert.match(fs.readlinkSync(path.join(env, 'share')), new RegExp(`^${storeDir}/[a-z0-9]{32}-numpy/share$`));
  assert.is(fs.readFileSync(path.join(env, 'lib/python3/dist-packages/numpy/core/a.py'), 'utf8'), '');
  const info = runCli(['path-info', env, '--json'], { storeRoot: root });
  assert.is(info.status, 0, info.stderr);
  const refs = JSON.parse(info.stdout)[0].references as string[];
  assert.equal(refs.map((p) => p.replace(/^.*\/[a-z0-9]{32}-/, '')).sort(), ['numpy', 'scipy'], 'the environment refers to its packages');
});

test('cross-package relative symlinks are reproduced so they resolve in the environment, even inside a single-package directory', () => {
  // As Debian splits packages: python3 -> python3.11 lives in another package than python3.11,
  // libfoo.so (in -dev) -> libfoo.so.1 (in the library package).
  const dir = project(
    {
      python3: { bin: { python3: { link: 'python3.11' } }, share: { doc: { python3: { link: 'python3.11' } } } },
      python311: { bin: { 'python3.11': exec('echo 3.11') }, share: { doc: { 'python3.11': { copyright: 'PSF' } } } },
      libfoodev: { lib: { x86_64: { 'libfoo.so': { link: 'libfoo.so.1' } } }, include: { foo: { 'foo.h': '', 'config.h': { link: '../../lib/x86_64/foo-config.h' } } } },
      libfoo: { lib: { x86_64: { 'libfoo.so.1': 'ELF', 'foo-config.h': '#define FOO 1' } } },
    },
    `export default buildEnv({ name: 'debianish', paths: [path('./python3'), path('./python311'), path('./libfoodev'), path('./libfoo')] });`,
  );
  const env = built(dir);
  assert.is(fs.readlinkSync(path.join(env, 'bin/python3')), 'python3.11');
  assert.is(fs.readFileSync(path.join(env, 'bin/python3'), 'utf8'), '#!/bin/sh\necho 3.11\n');
  assert.is(fs.readFileSync(path.join(env, 'share/doc/python3/copyright'), 'utf8'), 'PSF');
  assert.is(fs.readFileSync(path.join(env, 'lib/x86_64/libfoo.so'), 'utf8'), 'ELF');
  // include/ is libfoodev's alone, but holds a link into libfoo: it is merged entry by entry.
  assert.ok(fs.lstatSync(path.join(env, 'include')).isDirectory());
  assert.ok(fs.lstatSync(path.join(env, 'include/foo')).isDirectory());
  assert.is(fs.readFileSync(path.join(env, 'include/foo/config.h'), 'utf8'), '#define FOO 1');
  assert.ok(fs.lstatSync(path.join(env, 'include/foo/foo.h')).isSymbolicLink());
});

test('copyFiles: a real file with its executable bit, and links to it resolve to the copy', () => {
  const dir = project(
    {
      interp: { bin: { 'python3.11': exec('echo "prefix from $(dirname "$0")"'), python3: { link: 'python3.11' } }, lib: { 'python3.11': { 'os.py': '' } } },
      other: { bin: { other: exec('echo other') } },
    },
    [
      `export default buildEnv({ name: 'copied', paths: [path('./interp'), path('./other')], copyFiles: ['bin/python3.11'] });`,
      `export const missing = buildEnv({ name: 'copy-missing', paths: [path('./other')], copyFiles: ['bin/python3.11'] });`,
    ].join('\n'),
  );
  const env = built(dir);
  const st = fs.lstatSync(path.join(env, 'bin/python3.11'));
  assert.ok(st.isFile(), 'a real file');
  assert.is(st.mode & 0o777, 0o555);
  assert.is(fs.readlinkSync(path.join(env, 'bin/python3')), 'python3.11', 'reproduced, so it leads to the copy');
  assert.ok(fs.lstatSync(path.join(env, 'lib')).isSymbolicLink());
  const r = realize(dir, 'missing');
  assert.is(r.status, 100);
  assert.match(r.stderr, /copyFiles 'bin\/python3\.11' is not a file in any of the packages/);
});

test('pathsToLink: only entries below them are linked', () => {
  const dir = project(TWO_TOOLS, `export default buildEnv({ name: 'only-share', paths: [path('./alpha'), path('./beta')], pathsToLink: ['/share'] });`);
  const env = built(dir);
  assert.equal(fs.readdirSync(env), ['share']);
  assert.equal(fs.readdirSync(path.join(env, 'share')).sort(), ['alpha', 'beta']);
});

test('postBuild runs after linking with $out; doCheck runs the check; a failing check fails the build with its message', () => {
  const pkgs = { tools: { bin: { hello: exec('echo "hello from the env"') } } };
  const env = (check: string, name: string) =>
    `export const ${name} = buildEnv({ name: '${name}', paths: [path('./tools')], postBuild: 'echo made-by-postBuild > $out/marker', doCheck: true, checkPhase: ${JSON.stringify(check)} });`;
  const dir = project(pkgs, [env('sh "$out/bin/hello" | { read l; test "$l" = "hello from the env"; }; read m < $out/marker; test "$m" = made-by-postBuild; echo check-ran', 'good'), env('echo "import numpy failed: no module named numpy" >&2; exit 3', 'bad')].join('\n'));
  const good = built(dir, 'good');
  assert.is(fs.readFileSync(path.join(good, 'marker'), 'utf8'), 'made-by-postBuild\n');
  const log = runCli(['log', good], { storeRoot: root });
  assert.match(log.stdout, /hepstore: linked 1 packages[^]*running postBuild[^]*running check phase[^]*check-ran/);
  const r = realize(dir, 'bad');
  assert.is(r.status, 100, r.stderr);
  assert.match(r.stderr, /import numpy failed: no module named numpy/);
  assert.match(r.stderr, /check phase failed with exit code 3/);
  // A multi-line check stops at the first failing command.
  const dir2 = project(pkgs, env('false\necho not-reached', 'stops'));
  const r2 = realize(dir2, 'stops');
  assert.is(r2.status, 100, r2.stderr);
  assert.not.match(r2.stderr, /not-reached/);
});

const sandboxTest = findBwrap() ? test : test.skip;

sandboxTest('the check runs in the sandbox: only the closure of the environment is visible', () => {
  const outside = tmpDir('buildenv-outside');
  fs.writeFileSync(path.join(outside, 'secret'), 'host file\n');
  const dir = project(
    { tools: { bin: { hello: exec('echo hi') } } },
    `export default buildEnv({ name: 'sandboxed', paths: [path('./tools')], doCheck: true, checkPhase: 'test ! -e ${outside}/secret; test ! -e /usr/bin; test ! -e /bin/sh; sh "$out/bin/hello"' });`,
  );
  built(dir);
});

test('same inputs give the same environment path and contents from two working directories', () => {
  const pkgs = { ...TWO_TOOLS, gamma: { bin: { gamma: exec('g') }, lib: { 'libg.so': { link: 'libg.so.2' } } } };
  const expr = `export default buildEnv({ name: 'twice', paths: [path('./alpha'), hiPrio(path('./beta')), path('./gamma')], copyFiles: ['bin/gamma'] });`;
  const a = project(pkgs, expr);
  const b = project(pkgs, expr);
  const pa = built(a);
  const hash = () => {
    const r = runCli(['path-info', pa, '--json'], { storeRoot: root });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout)[0].narHash as string;
  };
  const before = hash();
  assert.is(built(b), pa);
  const check = runCli(['realize', 'env.ts', '--no-out-link', '--check'], { storeRoot: root, cwd: b });
  if (findBwrap()) assert.is(check.status, 0, check.stderr);
  assert.is(hash(), before);
});

test('linkEnvironment resolves links only inside the store: a link to a host path is linked, never followed', () => {
  const store = path.join(tmpDir('buildenv-unit'), 'store');
  const host = tmpDir('buildenv-host');
  fs.writeFileSync(path.join(host, 'conf'), 'x');
  const a = writeTree(path.join(store, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a'), { etc: { conf: { link: path.join(host, 'conf') } } });
  const b = writeTree(path.join(store, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b'), { etc: { conf: { link: path.join(host, 'conf') }, other: 'o' } });
  const c = writeTree(path.join(store, 'cccccccccccccccccccccccccccccccc-c'), { etc: { conf: 'x' } });
  const spec = (pkgs: string[]) => ({ packages: pkgs.map((p) => ({ path: p, priority: 5 })), pathsToLink: [''], ignoreCollisions: false, copyFiles: [] });
  const out = path.join(store, 'dddddddddddddddddddddddddddddddd-env');
  linkEnvironment(spec([a, b]), out, { storeDir: store, visible: [a, b] });
  assert.is(fs.readlinkSync(path.join(out, 'etc/conf')), path.join(a, 'etc/conf'), 'the same host target twice is one file');
  // A host file with the same contents as c's file is still a different entry: never read.
  assert.throws(() => linkEnvironment(spec([a, c]), out + '2', { storeDir: store, visible: [a, c] }), /collision between/);
  // A path outside the visible closure is not looked into either.
  const d = writeTree(path.join(store, 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-e'), { etc: { conf: { link: path.join(c, 'etc/conf') } } });
  linkEnvironment(spec([d, c]), out + '3', { storeDir: store, visible: [d, c] });
  assert.is(fs.readlinkSync(path.join(out + '3', 'etc/conf')), path.join(d, 'etc/conf'), 'a link to an identical file in the closure is no collision');
  assert.throws(() => linkEnvironment(spec([d, b]), out + '4', { storeDir: store, visible: [d, b] }), /collision between/);
});

test('linkEnvironment: a symlink of any package that leads to a copied file leads to the copy', () => {
  const store = path.join(tmpDir('buildenv-copy'), 'store');
  const interp = writeTree(path.join(store, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-python3.11'), { bin: { 'python3.11': { exec: 'ELF' } } });
  // As the Debian unpacker leaves it: python3 (another package) -> the interpreter's store path.
  const wrapper = writeTree(path.join(store, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-python3'), { bin: { python3: { link: path.join(interp, 'bin/python3.11') } } });
  const out = path.join(store, 'cccccccccccccccccccccccccccccccc-env');
  const spec = { packages: [wrapper, interp].map((p) => ({ path: p, priority: 5 })), pathsToLink: [''], ignoreCollisions: false, copyFiles: ['bin/python3.11'] };
  const stats = linkEnvironment(spec, out, { storeDir: store, visible: [wrapper, interp] });
  assert.is(stats.copies, 1);
  assert.ok(fs.lstatSync(path.join(out, 'bin/python3.11')).isFile());
  assert.is(fs.readlinkSync(path.join(out, 'bin/python3')), 'python3.11');
  // Without copyFiles, the link leads to the package, as any other.
  linkEnvironment({ ...spec, copyFiles: [] }, out + '2', { storeDir: store, visible: [wrapper, interp] });
  assert.is(fs.readlinkSync(path.join(out + '2', 'bin/python3')), path.join(wrapper, 'bin/python3'));
});

test.run();
