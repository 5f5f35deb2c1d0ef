import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectStoreError } from '../helpers.js';
import { beginEvaluation } from '../../src/expr/context.js';
import { derivation, fetchurl, packageSet, type Drv } from '../../src/expr/index.js';
import { buildGraph } from '../../src/eval/graph.js';

const STORE = '/hepstore/store';

test('a derivation value stands for its first output, whatever it is called', () => {
  beginEvaluation({ storeDir: STORE });
  const d = derivation({ name: 'tool', builder: '/bin/sh', outputs: ['bin', 'dev'] });
  assert.is(d.outputName, 'bin');
  assert.is(String(d), d.drv.outputs.bin.path);
  assert.match(String(d), /-tool-bin$/);
  assert.is(String(d.dev), d.drv.outputs.dev.path);
  const user = derivation({ name: 'user', builder: '/bin/sh', args: [`${d}/bin/x`] });
  assert.equal(user.drv.inputDrvs, { [d.drvPath]: ['bin'] });
});

test('a root given as a derivation asks for all its outputs; drv.dev for that one alone', () => {
  beginEvaluation({ storeDir: STORE });
  const d = derivation({ name: 'lib', builder: '/bin/sh', outputs: ['out', 'dev'] });
  const g = buildGraph([{ attr: 'a', drv: d }, { attr: 'b', drv: d.dev as Drv }]);
  assert.equal(g.roots, [
    { drvPath: d.drvPath, outputs: ['out', 'dev'], attr: 'a' },
    { drvPath: d.drvPath, outputs: ['dev'], attr: 'b' },
  ]);
});

test('asking for an output a derivation does not have is an error naming the ones it has', () => {
  beginEvaluation({ storeDir: STORE });
  const d = derivation({ name: 'lib', builder: '/bin/sh', outputs: ['out', 'dev'] });
  const e = expectStoreError(() => d.output('doc'), 'EVAL');
  assert.match(e.message, /no output 'doc' \(it has out, dev\)/);
});

/** A derivation's mistake is raised where it is used (here: asked for its .drv path). */
const made = (d: Drv) => d.drvPath;

test('bad names and outputs are refused with a clear error', () => {
  beginEvaluation({ storeDir: STORE });
  const bad = expectStoreError(() => made(derivation({ name: 'has space', builder: '/bin/sh' })), 'INVALID_NAME');
  assert.match(bad.message, /'has space'.*character ' ' is not allowed/);
  expectStoreError(() => made(derivation({ name: '.hidden', builder: '/bin/sh' })), 'INVALID_NAME');
  expectStoreError(() => made(derivation({ name: 'x'.repeat(212), builder: '/bin/sh' })), 'INVALID_NAME');
  for (const o of ['drvPath', 'toString', 'output', 'kind', '1x', 'a-b']) {
    const e = expectStoreError(() => made(derivation({ name: 'x', builder: '/bin/sh', outputs: ['out', o] })), 'EVAL');
    assert.match(e.message, new RegExp(`'${o}' cannot be an output name`));
  }
  assert.match(expectStoreError(() => made(derivation({ name: 'x', builder: '/bin/sh', outputs: ['out', 'out'] })), 'EVAL').message, /duplicate output names/);
  assert.match(expectStoreError(() => made(derivation({ name: 'x', builder: '' })), 'EVAL').message, /has no builder/);
  assert.match(expectStoreError(() => made(derivation({ name: 'x', builder: '/bin/sh', env: { out: 'x' } })), 'EVAL').message, /env\.out would be overwritten/);
  assert.match(
    expectStoreError(() => made(derivation({ name: 'x', builder: '/bin/sh', env: { v: { a: 1 } as unknown as string } })), 'EVAL').message,
    /env\.v of derivation 'x'.*cannot be turned into a string/,
  );
  expectStoreError(() => made(derivation({ name: 'x', builder: '/bin/sh', outputs: ['out', 'dev'], outputHash: 'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=' })), 'EVAL');
  expectStoreError(() => made(derivation({ name: 'x', builder: '/bin/sh', outputHash: 'md5-XrY7u+Ae7tCTyyK7j1rNww==' })), 'EVAL');
});

test('packageSet evaluates each package once and names the members of a cycle', () => {
  beginEvaluation({ storeDir: STORE });
  let calls = 0;
  const pkgs = packageSet<Drv>({
    a: () => {
      calls++;
      return derivation({ name: 'a', builder: '/bin/sh' });
    },
    b: (s) => derivation({ name: 'b', builder: '/bin/sh', args: [`${s.a}`, `${s.a}`] }),
  });
  assert.is(pkgs.b.drv.args.length, 2);
  assert.is(pkgs.a, pkgs.a);
  assert.is(calls, 1);
  const cyclic = packageSet<Drv>({
    x: (s) => derivation({ name: 'x', builder: '/bin/sh', args: [`${s.y}`] }),
    y: (s) => derivation({ name: 'y', builder: '/bin/sh', args: [`${s.z}`] }),
    z: (s) => derivation({ name: 'z', builder: '/bin/sh', args: [`${s.x}`] }),
  });
  const e = expectStoreError(() => cyclic.y, 'CYCLE');
  assert.match(e.message, /y -> z -> x -> y/);
});

test('the same derivation made twice is one value; one that differs only in its name is another', () => {
  beginEvaluation({ storeDir: STORE });
  const a = derivation({ name: 'a', builder: '/bin/sh', args: ['-c', 'true'] });
  assert.is(derivation({ name: 'a', builder: '/bin/sh', args: ['-c', 'true'] }), a);
  const b = derivation({ name: 'b', builder: '/bin/sh', args: ['-c', 'true'] });
  assert.is.not(b, a);
  assert.is(b.name, 'b');
  assert.match(b.outPath, /-b$/);
  assert.is.not(b.drvPath, a.drvPath);
});

/** "file:line" of the caller's caller (the line a helper was called on). */
function here(): string {
  const m = /((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?$/.exec(new Error().stack!.split('\n')[2]);
  return `${m![1].replace(/^file:\/\//, '')}:${m![2]}`;
}

test('a derivation knows the line that made it: the first frame outside the API, also through an API wrapper', () => {
  beginEvaluation({ storeDir: STORE });
  const [direct, directAt] = [derivation({ name: 'direct', builder: '/bin/sh' }), here()];
  assert.is(direct.location, directAt);
  const [fetched, fetchedAt] = [fetchurl({ url: 'file:///dev/null', integrity: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' }), here()];
  assert.is(fetched.location, fetchedAt);
  // A helper of the expression's own is the expression: its line is the one named.
  const helper = (name: string) => [derivation({ name, builder: '/bin/sh' }), here()] as const;
  const [viaHelper, helperAt] = helper('helped');
  assert.is(viaHelper.location, helperAt);
  assert.is.not(helperAt, directAt);
});

test('the API refuses to work outside an evaluation', async () => {
  // A fresh module instance has no evaluation state.
  const fresh = (await import(`../../src/expr/context.js?fresh=${Date.now()}`)) as typeof import('../../src/expr/context.js');
  const e = expectStoreError(() => fresh.evalState(), 'EVAL');
  assert.match(e.message, /only be used while `store` evaluates a file/);
});

test.run();
