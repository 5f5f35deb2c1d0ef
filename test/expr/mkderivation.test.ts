import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { REPO, runCli, tmpDir, writeTree } from '../helpers.js';

// One store for the whole file: host tools are probed once and cached in it.
const root = path.join(tmpDir('mkdrv-store'), 'root');

const PKG = (opts: { doCheck: boolean; check: string; tag?: string; meta?: string }) => `import { mkDerivation, path, stdenvNoCC } from 'hepstore';
export default mkDerivation({
  stdenv: stdenvNoCC,
  pname: 'greeter',
  version: '1.0',
  src: path('./src'),
  buildPhase: 'mkdir -p generated; cp greeting.txt generated/greeting-copy.txt',
  installPhase: [
    'mkdir -p $out/share/greeter $out/bin',
    'cp -r generated greeting.txt $out/share/greeter/',
    'cp bin/greet $out/bin/greet',
    'echo "${opts.tag ?? 'v1'}" > $out/share/greeter/tag',
  ].join('\\n'),
  doCheck: ${opts.doCheck},
  checkPhase: '${opts.check}',
  ${opts.meta ?? ''}
});
`;

const SRC = {
  src: {
    'greeting.txt': 'hello, physicist\n',
    bin: { greet: { exec: '#!/bin/sh\necho hello\n' } },
  },
};

function project(opts: Parameters<typeof PKG>[0]): string {
  const dir = tmpDir('mkdrv');
  writeTree(dir, { 'default.ts': PKG(opts), ...SRC });
  return dir;
}

const realize = (dir: string, extra: string[] = []) => runCli(['realize', 'default.ts', '--no-out-link', ...extra], { storeRoot: root, cwd: dir });

test('zx is a declared dependency and loads', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  assert.ok(pkg.dependencies?.zx, 'zx is in dependencies');
  const require = createRequire(path.join(REPO, 'package.json'));
  const zx = (await import(require.resolve('zx'))) as { $?: unknown };
  assert.type(zx.$, 'function');
});

test('mkDerivation runs the phases: src from path(), build and install with cp/mkdir, passing check', () => {
  const dir = project({ doCheck: true, check: 'test -f generated/greeting-copy.txt && grep -q physicist greeting.txt' });
  const r = realize(dir);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.trim();
  assert.match(out, /-greeter-1\.0$/);
  assert.is(fs.readFileSync(path.join(out, 'share/greeter/greeting.txt'), 'utf8'), 'hello, physicist\n');
  assert.is(fs.readFileSync(path.join(out, 'share/greeter/generated/greeting-copy.txt'), 'utf8'), 'hello, physicist\n');
  assert.is(fs.readFileSync(path.join(out, 'share/greeter/tag'), 'utf8'), 'v1\n');
  assert.is(fs.statSync(path.join(out, 'bin/greet')).mode & 0o777, 0o555, 'the executable bit survives');
  const log = runCli(['log', out], { storeRoot: root });
  assert.is(log.status, 0, log.stderr);
  const phases = log.stdout.split('\n').filter((l) => l.startsWith('hepstore: running')).map((l) => l.split(' ')[2]);
  assert.equal(phases, ['unpack', 'patch', 'configure', 'build', 'check', 'install', 'fixup']);
});

test('a failing checkPhase fails the build when doCheck is set, and is skipped when it is not', () => {
  const failing = 'grep -q "no such text" greeting.txt';
  const checked = project({ doCheck: true, check: failing, tag: 'checked' });
  const r = realize(checked);
  assert.is(r.status, 100, r.stderr);
  assert.match(r.stderr, /hepstore: running check phase/);
  assert.not.match(r.stderr, /running install phase/);
  assert.match(r.stderr, /greeter-1\.0\.drv/);
  const unchecked = project({ doCheck: false, check: failing, tag: 'unchecked' });
  const r2 = realize(unchecked);
  assert.is(r2.status, 0, r2.stderr);
  const log = runCli(['log', r2.stdout.trim()], { storeRoot: root });
  assert.not.match(log.stdout, /running check phase/);
});

test('changing the source changes the package; meta does not', () => {
  const a = project({ doCheck: false, check: 'true' });
  const b = project({ doCheck: false, check: 'true', meta: "meta: { description: 'a greeter', license: 'MIT' }," });
  const evalOut = (dir: string) => {
    const r = runCli(['eval', 'default.ts', '--json'], { storeRoot: root, cwd: dir });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout)[0].outputs.out as string;
  };
  const pa = evalOut(a);
  assert.is(evalOut(b), pa);
  fs.writeFileSync(path.join(b, 'src', 'greeting.txt'), 'hello, librarian\n');
  assert.is.not(evalOut(b), pa);
});

const HELPERS = (install: string) => `import { mkDerivation, path, stdenvNoCC } from 'hepstore';
export default mkDerivation({
  stdenv: stdenvNoCC,
  pname: 'helpers',
  version: '1.0',
  src: path('./src'),
  patches: [path('./fix.patch')],
  configureFlags: ['--enable-x', '--with-y=1'],
  makeFlags: ['GREETING=greeting.txt'],
  ${install}
});
`;

const HELPERS_SRC = {
  'fix.patch': '--- a/greeting.txt\n+++ b/greeting.txt\n@@ -1 +1 @@\n-hello\n+hello, patched\n',
  src: {
    'greeting.txt': 'hello\n',
    // An autotools-like configure: records its arguments and writes a Makefile for its prefix.
    configure: {
      exec: [
        '#!/bin/sh',
        'echo "$*" > configured.txt',
        'prefix=${1#--prefix=}',
        "printf 'all:\\n\\tcp $(GREETING) built.txt\\ninstall:\\n\\tmkdir -p %s/lib\\n\\tcp configured.txt built.txt %s/\\n\\techo libtool > %s/lib/libx.la\\n' \"$prefix\" \"$prefix\" \"$prefix\" > Makefile",
        '',
      ].join('\n'),
    },
  },
};

test('build helpers: patches, ./configure --prefix=$out with configureFlags, makeFlags, .la files removed, build directory references refused', () => {
  const dir = tmpDir('helpers');
  writeTree(dir, { 'default.ts': HELPERS(''), ...HELPERS_SRC });
  const r = realize(dir);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.trim();
  assert.is(fs.readFileSync(path.join(out, 'configured.txt'), 'utf8'), `--prefix=${out} --enable-x --with-y=1\n`);
  assert.is(fs.readFileSync(path.join(out, 'built.txt'), 'utf8'), 'hello, patched\n', 'the patch was applied and make had makeFlags');
  assert.not.ok(fs.existsSync(path.join(out, 'lib', 'libx.la')), 'the .la file is removed');
  assert.ok(fs.existsSync(path.join(out, 'lib')));

  const leaky = tmpDir('helpers-leak');
  writeTree(leaky, { 'default.ts': HELPERS("postInstall: 'echo \"$PWD/greeting.txt\" > $out/where.txt',"), ...HELPERS_SRC });
  const r2 = realize(leaky);
  assert.is(r2.status, 100, r2.stderr);
  assert.match(r2.stderr, /these files name the build directory/);
  assert.match(r2.stderr, /where\.txt/);
});

const ZX_EXPR = `import { zxDerivation, path } from 'hepstore';
export default zxDerivation({ name: 'zx-built', script: path('./build.mjs'), env: { src: path('./src') } });
`;

const ZX_SCRIPT = (failing: boolean) => `import fs from 'node:fs';
const greeting = (await $\`cat \${process.env.src}/greeting.txt\`).stdout.trim();
fs.mkdirSync(process.env.out);
fs.writeFileSync(process.env.out + '/greeting', greeting.toUpperCase() + '\\n');
await $\`cp -r \${process.env.src}/bin \${process.env.out}/bin\`;
${failing ? "await $`grep -q 'no such text' ${process.env.src}/greeting.txt`;" : ''}
`;

test('zxDerivation: a JavaScript build script using zx $ commands; a failing command fails the build', () => {
  const dir = tmpDir('zx');
  writeTree(dir, { 'default.ts': ZX_EXPR, 'build.mjs': ZX_SCRIPT(false), ...SRC });
  const r = realize(dir);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.trim();
  assert.is(fs.readFileSync(path.join(out, 'greeting'), 'utf8'), 'HELLO, PHYSICIST\n');
  assert.is(fs.readFileSync(path.join(out, 'bin/greet'), 'utf8'), '#!/bin/sh\necho hello\n');
  const bad = tmpDir('zx-bad');
  writeTree(bad, { 'default.ts': ZX_EXPR, 'build.mjs': ZX_SCRIPT(true), ...SRC });
  const r2 = realize(bad);
  assert.is(r2.status, 100, r2.stderr);
  assert.match(r2.stderr, /zx-built\.drv/);
  assert.match(r2.stderr, /build\.mjs:6/, 'the failing command is the one named');
  assert.match(r2.stderr, /exit code: 1/);
});


test('shellOnlyStdenv: a buildEnv postBuild runs the store bash with nothing on PATH, and its closure has no coreutils', () => {
  const dir = writeTree(tmpDir('shell-only'), {
    'default.ts': `import { buildEnv, shellOnlyStdenv } from 'hepstore';
export default buildEnv({ name: 'shell-only', paths: [], postBuild: 'echo "$BASH_VERSION" > "$out/made"', stdenv: shellOnlyStdenv });
export const needsMkdir = buildEnv({ name: 'needs-mkdir', paths: [], postBuild: 'mkdir "$out/d"', stdenv: shellOnlyStdenv });
`,
  });
  const r = realize(dir);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.trim();
  assert.match(fs.readFileSync(path.join(out, 'made'), 'utf8'), /^5\.2\./);
  const drv = JSON.parse(runCli(['show-derivation', out], { storeRoot: root, cwd: dir }).stdout) as Record<string, { inputDrvs: Record<string, unknown> }>;
  const inputs = Object.keys(Object.values(drv)[0].inputDrvs).join(' ');
  assert.match(inputs, /-bash-/);
  assert.not.match(inputs, /coreutils|gawk|stdenv-links/);
  const bad = realize(dir, ['-A', 'needsMkdir']);
  assert.is.not(bad.status, 0);
  assert.match(bad.stderr, /mkdir: command not found/);
});

test.run();
