import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { runCli, tmpDir, writeTree } from '../helpers.js';
import { beginEvaluation } from '../../src/expr/context.js';
import { derivation, fetchurl, path as sourcePath, type Drv } from '../../src/expr/index.js';
import { hashPathSync } from '../../src/archive/hash-sync.js';
import { makeStorePath } from '../../src/store/path.js';

const STORE = '/hepstore/store';
const sri = (s: string) => 'sha256-' + createHash('sha256').update(s).digest('base64');
const SRC_DIR = tmpDir('hash-modulo-src');

interface Knobs {
  builder?: string;
  arg?: string;
  envVar?: string;
  system?: string;
  outputs?: string[];
  depBuilder?: string;
  srcContent?: string;
  url?: string;
  integrity?: string;
  fetchName?: string;
}

/** A small graph: a source file, a fetched tarball, a dependency, and `top` that uses all three. */
function evaluate(k: Knobs = {}): { top: Drv; dep: Drv; fetched: Drv } {
  beginEvaluation({ storeDir: STORE, system: 'x86_64-linux' });
  const file = path.join(SRC_DIR, 'patch.txt');
  fs.writeFileSync(file, k.srcContent ?? 'patch v1\n');
  const src = sourcePath(file);
  const fetched = fetchurl({ url: k.url ?? 'https://example.org/dist/pkg-1.0.tar.gz', integrity: k.integrity ?? sri('tarball 1.0'), ...(k.fetchName ? { name: k.fetchName } : {}) });
  const dep = derivation({ name: 'dep', builder: k.depBuilder ?? '/bin/sh', args: ['-c', 'echo dep > $out'] });
  const top = derivation({
    name: 'top',
    builder: k.builder ?? '/bin/sh',
    args: ['-c', `cat ${src} ${fetched} > $out; echo ${dep}/bin/tool >> $out`, k.arg ?? 'arg1'],
    env: { GREETING: k.envVar ?? 'hello' },
    ...(k.system ? { system: k.system } : {}),
    ...(k.outputs ? { outputs: k.outputs } : {}),
  });
  return { top, dep, fetched };
}

test('the same expression evaluated twice gives the same paths', () => {
  const a = evaluate();
  const b = evaluate();
  assert.is(a.top.outPath, b.top.outPath);
  assert.is(a.top.drvPath, b.top.drvPath);
  assert.match(a.top.outPath, new RegExp(`^${STORE}/[0-9a-df-np-sv-z]{32}-top$`));
});

test('string context: every store path mentioned becomes an input', () => {
  const { top, dep, fetched } = evaluate();
  assert.equal(Object.keys(top.drv.inputDrvs).sort(), [dep.drvPath, fetched.drvPath].sort());
  assert.equal(top.drv.inputDrvs[dep.drvPath], ['out']);
  assert.is(top.drv.inputSrcs.length, 1);
  assert.match(top.drv.inputSrcs[0], /-patch\.txt$/);
  // `${lib.dev}` makes only that output an input.
  beginEvaluation({ storeDir: STORE });
  const lib = derivation({ name: 'lib', builder: '/bin/sh', outputs: ['out', 'dev'] });
  const user = derivation({ name: 'user', builder: '/bin/sh', args: [`${lib.dev}/include`] });
  assert.equal(user.drv.inputDrvs, { [lib.drvPath]: ['dev'] });
  assert.match(String(lib.dev), /-lib-dev$/);
});

const changes: Array<[string, Knobs]> = [
  ['the builder', { builder: '/bin/bash' }],
  ['an argument', { arg: 'arg2' }],
  ['an environment variable', { envVar: 'hello!' }],
  ['the system', { system: 'aarch64-linux' }],
  ['the output names', { outputs: ['out', 'doc'] }],
  ["a dependency's builder", { depBuilder: '/bin/dash' }],
  ["a source file's contents (path())", { srcContent: 'patch v2\n' }],
  ["a fixed-output input's declared hash", { integrity: sri('tarball 1.1') }],
  ["a fixed-output input's name", { fetchName: 'pkg-1.0-renamed.tar.gz' }],
];

for (const [what, knobs] of changes) {
  test(`changing ${what} changes the output path`, () => {
    const base = evaluate();
    const changed = evaluate(knobs);
    assert.is.not(changed.top.outPath, base.top.outPath);
    assert.is.not(changed.top.drvPath, base.top.drvPath);
  });
}

test("changing a fetcher's URL changes its .drv path but not its output or its users' output paths", () => {
  const base = evaluate();
  const moved = evaluate({ url: 'https://mirror.example.net/pkg-1.0.tar.gz', fetchName: 'pkg-1.0.tar.gz' });
  assert.is.not(moved.fetched.drvPath, base.fetched.drvPath);
  assert.is(moved.fetched.outPath, base.fetched.outPath);
  assert.is(moved.top.outPath, base.top.outPath);
  assert.is(moved.top.hashModulo, base.top.hashModulo);
});

test('any fixed-output derivation with the same name and hash stands in for another (its builder does not matter)', () => {
  beginEvaluation({ storeDir: STORE });
  const content = 'same bytes\n';
  const a = derivation({ name: 'data', builder: '/bin/sh', args: ['-c', 'printf "same bytes\\n" > $out'], outputHash: sri(content) });
  const b = derivation({ name: 'data', builder: '/bin/bash', args: ['-c', 'echo same bytes > $out'], outputHash: sri(content) });
  assert.is.not(a.drvPath, b.drvPath);
  assert.is(a.outPath, b.outPath);
  const ua = derivation({ name: 'u', builder: '/bin/sh', args: [`${a}`] });
  const ub = derivation({ name: 'u', builder: '/bin/sh', args: [`${b}`] });
  assert.is(ua.outPath, ub.outPath);
  // A recursive fixed output has the path `store add` gives the same tree.
  const dir = writeTree(path.join(tmpDir('fo-tree'), 'tree'), { f: 'x\n' });
  const nar = hashPathSync(dir);
  const r = derivation({ name: 'tree', builder: '/bin/sh', outputHash: nar.narHash, outputHashMode: 'recursive' });
  assert.is(r.outPath, makeStorePath('source', nar.digest.toString('hex'), STORE, 'tree'));
});

// ---- through the CLI: where the expression is, and where it is evaluated from ----

const EXPR = `import { derivation, path } from 'hepstore';
const src = path('./src');
export default derivation({ name: 'uses-src', builder: '/bin/sh', args: ['-c', \`cp -r \${src} $out\`] });
`;

function evalJson(file: string, cwd: string, storeRoot: string): Array<{ attr: string; drvPath: string; outputs: Record<string, string> }> {
  const r = runCli(['eval', file, '--json'], { cwd, storeRoot });
  assert.is(r.status, 0, r.stderr);
  // Paths only: where host tools were asked for names the file, which is elsewhere for a copy.
  return (JSON.parse(r.stdout) as Array<{ attr: string; drvPath: string; outputs: Record<string, string> }>).map(({ attr, drvPath, outputs }) => ({ attr, drvPath, outputs }));
}

test('the same expression gives the same paths from any working directory, and from a copy elsewhere', () => {
  const root = path.join(tmpDir('hm-root'), 'root');
  const a = tmpDir('hm-a');
  writeTree(a, { 'default.ts': EXPR, src: { 'hello.c': 'int main() { return 0; }\n' } });
  const b = tmpDir('hm-b');
  writeTree(path.join(b, 'deeper', 'copy'), { 'default.ts': EXPR, src: { 'hello.c': 'int main() { return 0; }\n' } });
  const elsewhere = tmpDir('hm-cwd');
  const fromA = evalJson('default.ts', a, root);
  const fromElsewhere = evalJson(path.join(a, 'default.ts'), elsewhere, root);
  const fromRoot = evalJson(path.join(a, 'default.ts'), '/', root);
  const copy = evalJson(path.join(b, 'deeper', 'copy', 'default.ts'), elsewhere, root);
  assert.equal(fromElsewhere, fromA);
  assert.equal(fromRoot, fromA);
  assert.equal(copy, fromA);
  // and evaluation wrote nothing
  assert.not.ok(fs.existsSync(root), 'store eval creates no store');
  // Changing the source changes the path (so the equality above is not vacuous).
  fs.writeFileSync(path.join(b, 'deeper', 'copy', 'src', 'hello.c'), 'int main() { return 1; }\n');
  const changed = evalJson(path.join(b, 'deeper', 'copy', 'default.ts'), elsewhere, root);
  assert.is.not(changed[0].outputs.out, fromA[0].outputs.out);
});

test("path('./src') is resolved against the expression file, not the working directory", () => {
  const root = path.join(tmpDir('hm-root'), 'root');
  const exprDir = tmpDir('hm-expr');
  writeTree(exprDir, { 'default.ts': EXPR, src: { 'a.txt': 'from the expression dir\n' } });
  const cwd = tmpDir('hm-cwd');
  writeTree(cwd, { src: { 'a.txt': 'from the working dir\n' } });
  const [r] = evalJson(path.join(exprDir, 'default.ts'), cwd, root);
  // Recompute the derivation here from each candidate directory: only <exprDir>/src matches.
  beginEvaluation({ storeDir: path.join(root, 'store') });
  const good = sourcePath(path.join(exprDir, 'src'));
  const expected = derivation({ name: 'uses-src', builder: '/bin/sh', args: ['-c', `cp -r ${good} $out`] });
  const bad = sourcePath(path.join(cwd, 'src'));
  const notExpected = derivation({ name: 'uses-src', builder: '/bin/sh', args: ['-c', `cp -r ${bad} $out`] });
  assert.is.not(good.storePath, bad.storePath);
  assert.is(r.outputs.out, expected.outPath);
  assert.is.not(r.outputs.out, notExpected.outPath);
});

test.run();
