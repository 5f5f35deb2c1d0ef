import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree, type TreeSpec } from '../helpers.js';

function setup(files: TreeSpec): { dir: string; root: string } {
  const dir = tmpDir('eval-args');
  writeTree(dir, files);
  return { dir, root: path.join(tmpDir('eval-args-store'), 'root') };
}

/** An expression whose default export is a function of its arguments, writing them into the build. */
const PARAMS = `import { derivation } from 'hepstore';
export default ({ scale = 1, name = 'demo', flags = [] as string[] }: { scale?: number; name?: string; flags?: string[] }) =>
  derivation({ name, builder: '/bin/sh', args: ['-c', \`echo \${scale} \${flags.join(',')} > $out\`] });
export const fixed = derivation({ name: 'fixed', builder: '/bin/sh', args: ['-c', 'echo > $out'] });
export const nested = { inner: ({ depth }: { depth: number }) => derivation({ name: \`depth-\${depth}\`, builder: '/bin/sh', args: ['-c', 'echo > $out'] }) };
`;

function evalJson(dir: string, root: string, args: string[]): Array<{ name: string; drvPath: string }> {
  const r = runCli(['eval', 'default.ts', '--json', ...args], { storeRoot: root, cwd: dir });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Array<{ name: string; drvPath: string }>;
}

function fails(dir: string, root: string, args: string[], message: string | RegExp): string {
  const r = runCli(['eval', 'default.ts', ...args], { storeRoot: root, cwd: dir });
  assert.is(r.status, 1, `should fail: store eval ${args.join(' ')}`);
  assert.is(r.stdout, '');
  assert.match(r.stderr, message);
  return r.stderr;
}

test('--arg passes JSON values and --argstr strings to the functions a file exports', () => {
  const { dir, root } = setup({ 'default.ts': PARAMS });
  const plain = evalJson(dir, root, []);
  assert.is(plain[0].name, 'demo');
  const named = evalJson(dir, root, ['--argstr', 'name', 'other']);
  assert.is(named[0].name, 'other');
  const scaled = evalJson(dir, root, ['--arg', 'scale', '2']);
  assert.is.not(scaled[0].drvPath, plain[0].drvPath, 'the value reaches the derivation');
  assert.equal(evalJson(dir, root, ['--arg', 'scale', '2']), scaled, 'deterministic');
  // A JSON number is not its string: 2 and "2" are different values (and --argstr gives the string).
  const asString = evalJson(dir, root, ['--argstr', 'scale', '2']);
  assert.is(asString[0].drvPath, scaled[0].drvPath, 'the shell sees the same text either way');
  const list = runCli(['realize', 'default.ts', '--no-sandbox', '--no-out-link', '--arg', 'flags', '["a","b"]'], { storeRoot: root, cwd: dir });
  assert.is(list.status, 0, list.stderr);
  assert.is(fs.readFileSync(list.stdout.trim(), 'utf8'), '1 a,b\n');
  // Nested functions get them too, with --attr.
  const nested = runCli(['eval', 'default.ts', '--attr', 'nested.inner', '--arg', 'depth', '3', '--json'], { storeRoot: root, cwd: dir });
  assert.is(nested.status, 0, nested.stderr);
  assert.is((JSON.parse(nested.stdout) as Array<{ name: string }>)[0].name, 'depth-3');
});

test('an argument no function reads is an error, with a did-you-mean; so is a value that is not JSON', () => {
  const { dir, root } = setup({ 'default.ts': PARAMS });
  fails(dir, root, ['--arg', 'scael', '2'], /default\.ts takes no argument 'scael' \(did you mean 'scale'\?\)/);
  fails(dir, root, ['--arg', 'scale', '2', '--argstr', 'colour', 'red', '--argstr', 'size', 'xl'], /takes no arguments 'colour', 'size'/);
  // An export that is no function reads no argument.
  const none = fails(dir, root, ['--attr', 'fixed', '--arg', 'scale', '2'], /takes no argument 'scale'/);
  assert.match(none, 'this evaluation called none that reads one');
  const notJson = fails(dir, root, ['--arg', 'name', 'other'], "--arg name 'other': the value is not JSON");
  assert.match(notJson, "use --argstr name 'other'");
  fails(dir, root, ['--arg', 'scale'], "option '--arg' needs a name and a value");
  fails(dir, root, ['--arg', 'scale', '1', '--arg', 'scale', '2'], "the argument 'scale' is given twice");
  fails(dir, root, ['--argstr', 'a-b', 'x'], "--argstr 'a-b': an argument's name is an identifier");
});

test('realize, lock and release add take the same arguments', () => {
  const { dir, root } = setup({ 'default.ts': PARAMS });
  const realized = runCli(['realize', 'default.ts', '--no-sandbox', '--no-out-link', '--arg', 'scale', '7'], { storeRoot: root, cwd: dir });
  assert.is(realized.status, 0, realized.stderr);
  assert.is(fs.readFileSync(realized.stdout.trim(), 'utf8'), '7\n');
  const lock = runCli(['lock', 'default.ts', '--arg', 'scale', '7'], { storeRoot: root, cwd: dir });
  assert.is(lock.status, 0, lock.stderr);
  assert.match(lock.stdout, realized.stdout.trim());
  const added = runCli(['release', 'add', 'R1', 'default.ts', '--no-sandbox', '--arg', 'scale', '7', '--json'], { storeRoot: root, cwd: dir });
  assert.is(added.status, 0, added.stderr);
  assert.match(added.stdout, realized.stdout.trim());
  const typo = runCli(['release', 'add', 'R2', 'default.ts', '--no-sandbox', '--arg', 'scal', '7'], { storeRoot: root, cwd: dir });
  assert.is(typo.status, 1);
  assert.match(typo.stderr, "did you mean 'scale'?");
});

test.run();
