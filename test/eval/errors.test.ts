import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree, type TreeSpec } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';

function setup(files: TreeSpec): { dir: string; root: string } {
  const dir = tmpDir('eval-err');
  writeTree(dir, files);
  return { dir, root: path.join(tmpDir('eval-err-store'), 'root') };
}

function validPaths(root: string): string[] {
  const s = new LocalStore(root);
  try {
    return s.allValidPaths();
  } finally {
    s.close();
  }
}

/** `store eval` must fail with exit 1, no stack trace, and without creating the store. */
function evalFails(dir: string, root: string, file: string, extra: string[] = []): string {
  const r = runCli(['eval', path.join(dir, file), ...extra], { storeRoot: root, cwd: dir });
  assert.is(r.status, 1, `exit code (stderr: ${r.stderr})`);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^error: /);
  assert.not.match(r.stderr, /\n\s+at .*\(.*dist\/src/, 'no internal stack trace');
  assert.not.ok(fs.existsSync(root), 'store eval created nothing');
  return r.stderr;
}

/** `store realize` on a store that already holds something: exit 1 and no new rows or files. */
function realizeFails(dir: string, root: string, file: string, extra: string[] = []): string {
  const before = validPaths(root);
  const filesBefore = fs.readdirSync(path.join(root, 'store')).sort();
  const r = runCli(['realize', path.join(dir, file), ...extra], { storeRoot: root, cwd: dir });
  assert.is(r.status, 1, `exit code (stderr: ${r.stderr})`);
  assert.is(r.stdout, '');
  assert.equal(validPaths(root), before, 'no paths were registered');
  assert.equal(fs.readdirSync(path.join(root, 'store')).sort(), filesBefore, 'nothing was written to the store');
  assert.not.ok(fs.existsSync(path.join(dir, 'result')), 'no out-link');
  return r.stderr;
}

const GOOD = `import { derivation } from 'hepstore';
export default derivation({ name: 'good', builder: '/bin/sh', args: ['-c', 'echo good > $out'] });
`;

/** A store that already holds one realized derivation. */
function populated(dir: string, root: string): void {
  fs.writeFileSync(path.join(dir, 'good.ts'), GOOD);
  const r = runCli(['realize', path.join(dir, 'good.ts'), '--no-out-link'], { storeRoot: root, cwd: dir });
  assert.is(r.status, 0, r.stderr);
  assert.is(validPaths(root).length, 2, '.drv and output');
}

const SYNTAX = `import { derivation } from 'hepstore';

export default derivation({ name: 'x', builder: '/bin/sh' args: [] });
`;

test('syntax error: exit 1, the message names file:line, and the store is untouched', () => {
  const { dir, root } = setup({ 'broken.ts': SYNTAX });
  const err = evalFails(dir, root, 'broken.ts');
  assert.ok(err.includes(`${path.join(dir, 'broken.ts')}:3`), err);
  populated(dir, root);
  const err2 = realizeFails(dir, root, 'broken.ts');
  assert.ok(err2.includes(`${path.join(dir, 'broken.ts')}:3`), err2);
});

const THROWS = `import { derivation, path } from 'hepstore';
const src = path('./src');
const ok = derivation({ name: 'ok', builder: '/bin/sh', args: ['-c', \`cp \${src}/f $out\`] });
export const a = {
  fine: ok,
  get b() {
    throw new Error('the b package is broken');
  },
};
export default a;
`;

test("a thrown Error names file:line and the attribute chain ('a.b'), and nothing is added", () => {
  const { dir, root } = setup({ 'throws.ts': THROWS, src: { f: 'x' } });
  const file = path.join(dir, 'throws.ts');
  for (const attr of [['-A', 'a.b'], ['-A', 'a'], []]) {
    const err = evalFails(dir, root, 'throws.ts', attr);
    assert.ok(err.includes(`${file}:7`), err);
    assert.match(err, /Error: the b package is broken/);
    assert.ok(err.includes(attr.length ? "while evaluating attribute 'a.b'" : "while evaluating attribute 'b'"), err);
  }
  // The good attribute next to it still evaluates.
  const ok = runCli(['eval', file, '-A', 'a.fine'], { storeRoot: root });
  assert.is(ok.status, 0, ok.stderr);
  populated(dir, root);
  // path('./src') was evaluated before the error, but its source is not added either.
  const err = realizeFails(dir, root, 'throws.ts', ['-A', 'a']);
  assert.match(err, /while evaluating attribute 'a\.b'/);
});

const TOP_LEVEL_THROW = `import { derivation } from 'hepstore';
const d = derivation({ name: 'fine', builder: '/bin/sh' });
function helper(): never {
  throw new TypeError('no such compiler');
}
export default helper() ?? d;
`;

test('an error thrown while the module loads names the line that threw', () => {
  const { dir, root } = setup({ 'top.ts': TOP_LEVEL_THROW });
  const err = evalFails(dir, root, 'top.ts');
  assert.ok(err.includes(`${path.join(dir, 'top.ts')}:4`), err);
  assert.match(err, /TypeError: no such compiler/);
});

const ATTRS = `import { derivation } from 'hepstore';
const mk = (name: string) => derivation({ name, builder: '/bin/sh' });
export const hello = mk('hello');
export const tools = { gcc: mk('gcc'), make: mk('make') };
export const notADrv = 42;
`;

test('an unknown --attr lists the attributes there are', () => {
  const { dir, root } = setup({ 'attrs.ts': ATTRS });
  const err = evalFails(dir, root, 'attrs.ts', ['-A', 'helo']);
  assert.match(err, /attribute 'helo' does not exist/);
  for (const a of ['hello', 'tools', 'notADrv']) assert.ok(err.includes(a), `${a} is listed: ${err}`);
  const nested = evalFails(dir, root, 'attrs.ts', ['-A', 'tools.clang']);
  assert.match(nested, /attribute 'tools\.clang' does not exist \(there are: gcc, make\)/);
  // No default export: the message says so and lists the attributes.
  const noDefault = evalFails(dir, root, 'attrs.ts');
  assert.match(noDefault, /'default' does not exist/);
  assert.match(noDefault, /hello/);
  // Not a derivation.
  const num = evalFails(dir, root, 'attrs.ts', ['-A', 'notADrv']);
  assert.match(num, /attribute 'notADrv' is a number, not a derivation/);
  // While the real ones work.
  const ok = runCli(['eval', path.join(dir, 'attrs.ts'), '-A', 'tools', '--json'], { storeRoot: root });
  assert.is(ok.status, 0, ok.stderr);
  assert.equal(
    JSON.parse(ok.stdout).map((r: { attr: string }) => r.attr),
    ['tools.gcc', 'tools.make'],
  );
});

const CYCLE = `import { derivation, packageSet } from 'hepstore';
const pkgs = packageSet<any>({
  root: (s) => derivation({ name: 'root', builder: '/bin/sh', args: [\`\${s.alpha}\`] }),
  alpha: (s) => derivation({ name: 'alpha', builder: '/bin/sh', args: [\`\${s.beta}\`] }),
  beta: (s) => derivation({ name: 'beta', builder: '/bin/sh', args: [\`\${s.gamma}\`] }),
  gamma: (s) => derivation({ name: 'gamma', builder: '/bin/sh', args: [\`\${s.alpha}\`] }),
});
export default pkgs.root;
`;

test('a dependency cycle through packageSet is a CYCLE error naming its members', () => {
  const { dir, root } = setup({ 'cycle.ts': CYCLE });
  const err = evalFails(dir, root, 'cycle.ts');
  assert.match(err, /dependency cycle: alpha -> beta -> gamma -> alpha/);
  assert.not.match(err, /infinite recursion/);
  populated(dir, root);
  realizeFails(dir, root, 'cycle.ts');
});

const BAD_NAME = `import { derivation } from 'hepstore';
const ok = derivation({ name: 'ok', builder: '/bin/sh' });
export default derivation({ name: 'hello world', builder: '/bin/sh', args: [\`\${ok}\`] });
`;

test('an invalid derivation name is a clear error naming the character and the place', () => {
  const { dir, root } = setup({ 'name.ts': BAD_NAME });
  const err = evalFails(dir, root, 'name.ts');
  assert.match(err, /invalid derivation name .*'hello world': character ' ' is not allowed/);
  assert.ok(err.includes(`${path.join(dir, 'name.ts')}:3`), err);
  assert.match(err, /hint: names use only/);
  populated(dir, root);
  realizeFails(dir, root, 'name.ts');
});

test('a missing expression file, and a missing import, are clear errors', () => {
  const { dir, root } = setup({ 'imports.ts': `import { x } from './nowhere.js';\nexport default x;\n` });
  const missing = evalFails(dir, root, 'nope.ts');
  assert.match(missing, /expression file '.*nope\.ts' does not exist/);
  const imp = evalFails(dir, root, 'imports.ts');
  assert.match(imp, /nowhere/);
});

test.run();
