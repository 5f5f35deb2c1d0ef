/**
 * An expression outside the checkout: `store init` makes a directory where "hepstore" and
 * "hepstore/…" (the package sets) have types for `tsc` and editors, and evaluate; a set
 * generated into it type-checks where it is written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, runCli, tmpDir } from '../helpers.js';

const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const tsc = (dir: string) => spawnSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8', cwd: dir });

function initialized() {
  const dir = path.join(tmpDir('init'), 'my analysis');
  const root = path.join(tmpDir('init-store'), 'root');
  const r = runCli(['init', dir], { storeRoot: root, cwd: path.dirname(dir) });
  assert.is(r.status, 0, r.stderr);
  return { dir, root, stderr: r.stderr };
}

test('store init writes env.ts, tsconfig.json and a link to this hepstore; tsc and store eval accept env.ts', () => {
  const { dir, root, stderr } = initialized();
  assert.match(stderr, /wrote .*env\.ts/);
  assert.is(fs.realpathSync(path.join(dir, 'node_modules', 'hepstore')), fs.realpathSync(REPO));
  const checked = tsc(dir);
  assert.is(checked.status, 0, checked.stdout + checked.stderr);
  const ev = runCli(['eval', '.', '--json'], { storeRoot: root, cwd: dir });
  assert.is(ev.status, 0, ev.stderr);
  assert.is((JSON.parse(ev.stdout) as Array<{ name: string }>)[0].name, 'my-analysis');
  // Again: everything is kept.
  const again = runCli(['init', dir], { storeRoot: root, cwd: dir });
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stderr, /kept .*env\.ts/);
});

test('tsc catches a misspelt import or argument, and evaluation names a module hepstore does not have', () => {
  const { dir, root } = initialized();
  const env = path.join(dir, 'env.ts');
  const good = fs.readFileSync(env, 'utf8');
  fs.writeFileSync(env, good.replace("import { pythonEnv } from 'hepstore/debian/python';", "import { pythonEnvv as pythonEnv } from 'hepstore/debian/python';"));
  const misspelt = tsc(dir);
  assert.is(misspelt.status, 2);
  assert.match(misspelt.stdout, /env\.ts\(\d+,\d+\): error TS2724: .*pythonEnvv/);
  fs.writeFileSync(env, good.replace('imports: {', 'improts: {'));
  assert.match(tsc(dir).stdout, /'improts' does not exist in type 'PythonEnvArgs'/);
  fs.writeFileSync(env, good.replace("'hepstore/debian/sets/laptop'", "'hepstore/debian/sets/laptpo'"));
  const ev = runCli(['eval', 'env.ts'], { storeRoot: root, cwd: dir });
  assert.is(ev.status, 1);
  assert.match(ev.stderr, /"hepstore\/debian\/sets\/laptpo" is not a module of hepstore \(there are: hepstore\/debian\/sets\/laptop/);
});

test("tsc refuses a package set's self.NAME that the set does not have, as evaluation does", () => {
  const { dir, root } = initialized();
  const set = (dep: string) => `import { mkDerivation, packageSet, stdenvNoCC } from 'hepstore';
export const pkgs = packageSet({
  zlib: () => mkDerivation({ pname: 'zlib', version: '1.3', stdenv: stdenvNoCC, installPhase: 'mkdir -p $out' }),
  root: (self) => mkDerivation({ pname: 'root', version: '6.32', stdenv: stdenvNoCC, buildInputs: [self.${dep}], installPhase: 'mkdir -p $out' }),
});
export default pkgs.root;
`;
  fs.writeFileSync(path.join(dir, 'env.ts'), set('zlib'));
  const good = tsc(dir);
  assert.is(good.status, 0, good.stdout + good.stderr);
  fs.writeFileSync(path.join(dir, 'env.ts'), set('zlbi'));
  const typo = tsc(dir);
  assert.is(typo.status, 2);
  assert.match(typo.stdout, /env\.ts\(4,\d+\): error TS2339: Property 'zlbi' does not exist on type 'Record<"zlib" \| "root", Drv>'/);
  const ev = runCli(['eval', 'env.ts'], { storeRoot: root, cwd: dir });
  assert.is(ev.status, 1);
  assert.match(ev.stderr, "asks for 'zlbi', which the package set does not have (did you mean zlib?)");
});

test('a link to another hepstore is not replaced without --force-link', () => {
  const { dir, root } = initialized();
  const link = path.join(dir, 'node_modules', 'hepstore');
  fs.unlinkSync(link);
  const other = tmpDir('other-hepstore');
  fs.symlinkSync(other, link);
  const r = runCli(['init', dir], { storeRoot: root });
  assert.is(r.status, 1);
  assert.match(r.stderr, 'exists and is not this hepstore');
  assert.is(fs.realpathSync(link), fs.realpathSync(other));
  const forced = runCli(['init', dir, '--force-link'], { storeRoot: root });
  assert.is(forced.status, 0, forced.stderr);
  assert.is(fs.realpathSync(link), fs.realpathSync(REPO));
});

test('a Debian set generated into the directory type-checks there and is used through "hepstore"', () => {
  const { dir, root } = initialized();
  const stanza = (name: string, depends?: string) =>
    [`Package: ${name}`, 'Version: 1.0-1', 'Architecture: amd64', ...(depends ? [`Depends: ${depends}`] : []), `Filename: pool/main/${name[0]}/${name}/${name}_1.0-1_amd64.deb`, 'Size: 100', `SHA256: ${'ab'.repeat(32)}`, `Description: ${name}`].join('\n');
  const packages = path.join(dir, 'Packages');
  fs.writeFileSync(packages, [stanza('libdemo1'), stanza('demo-tool', 'libdemo1')].join('\n\n') + '\n');
  const gen = spawnSync(process.execPath, [path.join(REPO, 'dist', 'src', 'debian', 'main.js'), '--packages', packages, '--arch', 'amd64', '-o', 'sets/demo.ts', 'demo-tool'], {
    cwd: dir,
    encoding: 'utf8',
    // As `npm run exprs:debian` run in this directory: -o is relative to where npm was started.
    env: { ...process.env, INIT_CWD: dir },
  });
  assert.is(gen.status, 0, gen.stderr);
  const set = fs.readFileSync(path.join(dir, 'sets', 'demo.ts'), 'utf8');
  assert.match(set, "import type { PinnedSet } from 'hepstore';");
  fs.writeFileSync(path.join(dir, 'tools.ts'), "import { debianPackages } from 'hepstore';\nimport demo from './sets/demo.ts';\nexport default debianPackages(demo)['demo-tool'];\n");
  const checked = tsc(dir);
  assert.is(checked.status, 0, checked.stdout + checked.stderr);
  const ev = runCli(['eval', 'tools.ts'], { storeRoot: root, cwd: dir });
  assert.is(ev.status, 0, ev.stderr);
  assert.match(ev.stdout, /demo-tool-1\.0-1/);
});

test("the checkout's own expressions (exprs/: sets, releases, sources) type-check", () => {
  const checked = tsc(path.join(REPO, 'exprs'));
  assert.is(checked.status, 0, checked.stdout + checked.stderr);
});

test.run();
