/**
 * What a user types wrong, or differently from what a command expects, as Nix users do: an
 * output where a .drv is wanted, a directory for an expression file, a .drv to realize, a
 * .drv or path that is not in the store, a public key where a secret key is wanted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';

const ENV_TS = `import { derivation } from 'hepstore';
export default derivation({ name: 'hi', builder: '/bin/sh', args: ['-c', 'echo hi > $out'] });
`;

function world() {
  const dir = tmpDir('user-errors');
  writeTree(dir, { 'env.ts': ENV_TS, project: { 'default.ts': ENV_TS }, empty: {} });
  const root = path.join(tmpDir('user-errors-store'), 'root');
  const cli = (args: string[]) => runCli(args, { storeRoot: root, cwd: dir });
  const ok = (args: string[]) => {
    const r = cli(args);
    assert.is(r.status, 0, `store ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  return { dir, root, cli, ok };
}

test('show-derivation takes an output (./result) for the .drv that made it', () => {
  const w = world();
  const out = w.ok(['realize', 'env.ts', '--no-sandbox']).trim();
  const drvPath = w.ok(['eval', 'env.ts']).split('\t')[1];
  const byResult = JSON.parse(w.ok(['show-derivation', './result'])) as Record<string, { outputs: { out: { path: string } } }>;
  assert.equal(Object.keys(byResult), [drvPath]);
  assert.is(byResult[drvPath].outputs.out.path, out);
  assert.equal(JSON.parse(w.ok(['show-derivation', out])), byResult);
  assert.equal(JSON.parse(w.ok(['show-derivation', drvPath])), byResult);
});

test('a .drv or a path that is not in the store is named as such', () => {
  const w = world();
  w.ok(['realize', 'env.ts', '--no-sandbox', '--no-out-link']);
  const storeDir = path.join(w.root, 'store');
  const ghost = path.join(storeDir, `${'a'.repeat(32)}-ghost.drv`);
  for (const cmd of [['show-derivation', ghost], ['realize', ghost]]) {
    const r = w.cli(cmd);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, `the derivation '${ghost}' is not in the store`);
    assert.not.match(r.stderr, /ENOENT|\n\s+at /);
  }
  const gone = w.cli(['show-derivation', path.join(storeDir, `${'b'.repeat(32)}-gone`)]);
  assert.is(gone.status, 1);
  assert.match(gone.stderr, 'is not valid in the store');
});

test('realize of a .drv in the store builds its outputs (as nix-store --realise)', () => {
  const w = world();
  const [, drvPath, out] = w.ok(['eval', 'env.ts']).trim().split('\t');
  w.ok(['realize', 'env.ts', '--no-sandbox', '--no-out-link']);
  w.ok(['delete', out]);
  assert.not.ok(fs.existsSync(out));
  assert.is(w.ok(['realize', drvPath, '--no-sandbox', '--no-out-link']).trim(), out);
  assert.is(fs.readFileSync(out, 'utf8'), 'hi\n');
  const dry = w.cli(['realize', drvPath, '--dry-run']);
  assert.is(dry.status, 1);
  assert.match(dry.stderr, '--dry-run takes an expression file, not a .drv');
});

test('a directory stands for its env.ts (else default.ts); one with neither is a clear error', () => {
  const w = world();
  const here = w.ok(['eval', '.']);
  assert.is(here, w.ok(['eval', 'env.ts']));
  assert.is(w.ok(['realize', '.', '--no-sandbox', '--no-out-link']).trim(), here.trim().split('\t')[2]);
  assert.is(w.ok(['eval', 'project']), w.ok(['eval', 'project/default.ts']));
  const empty = w.cli(['realize', 'empty']);
  assert.is(empty.status, 1);
  assert.match(empty.stderr, "'empty' is a directory with no env.ts or default.ts");
  const missing = w.cli(['eval', 'nothere.ts']);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, "expression file 'nothere.ts' does not exist");
});

test('a public key where a secret key is wanted says so', () => {
  const w = world();
  w.ok(['realize', 'env.ts', '--no-sandbox']);
  w.ok(['keygen', 'site-1', '--secret-key-file', path.join(w.dir, 'site-1.sec'), '--public-key-file', path.join(w.dir, 'site-1.pub')]);
  const r = w.cli(['sign', './result', '--key-file', 'site-1.pub']);
  assert.is(r.status, 1);
  assert.match(r.stderr, "'site-1' is a public key, where a secret key is wanted");
  assert.match(r.stderr, 'site-1.sec');
  w.ok(['sign', './result', '--key-file', 'site-1.sec']);
});

test('a wrong number of words is refused by what the command declares, before the store is opened', () => {
  const w = world();
  const cases: Array<[string[], RegExp]> = [
    [['gc', 'extra'], /^error: store gc takes no arguments\nhint: to delete particular paths use 'store delete PATH'/],
    [['path-info'], /^error: store path-info needs at least one PATH/],
    [['realize', 'a.ts', 'b.ts'], /^error: store realize takes exactly one FILE\nhint: e\.g\. store realize env\.ts/],
    [['why-depends', './result'], /^error: store why-depends takes two paths, A and B/],
    [['init', 'a', 'b'], /^error: store init takes at most one DIR/],
  ];
  for (const [args, message] of cases) {
    const r = w.cli(args);
    assert.is(r.status, 1, `store ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.not.ok(fs.existsSync(w.root), 'no store was made');
});

test.run();
