import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';
import { splitName } from '../../src/cache/diff.js';

const expr = (zlibVersion: string, extra: string) => `import { derivation } from 'hepstore';
const zlib = derivation({ name: 'zlib-${zlibVersion}', builder: '/bin/sh', args: ['-c', 'echo zlib > $out'], env: { CFLAGS: '-O2' } });
const tool = derivation({ name: 'tool-1.0', builder: '/bin/sh', args: ['-c', 'echo tool > $out'] });
${extra}
export default derivation({ name: 'root-6.32', builder: '/bin/sh', args: ['-c', \`echo "\${zlib} \${tool}" > $out\`] });
`;

test('splitName separates versions and keeps output suffixes', () => {
  assert.equal(splitName('/s/00000000000000000000000000000000-root-6.32.02'), { name: 'root', version: '6.32.02' });
  assert.equal(splitName('/s/00000000000000000000000000000000-zlib-1.3-dev'), { name: 'zlib-dev', version: '1.3' });
  assert.equal(splitName('/s/00000000000000000000000000000000-calib'), { name: 'calib', version: '' });
});

test('store diff: added, removed, changed with version and size, and the input that made root differ', () => {
  const dir = tmpDir('diff');
  const root = path.join(tmpDir('diff-store'), 'root');
  writeTree(dir, { 'a.ts': expr('1.3', ''), 'b.ts': expr('1.3.1', '') });
  const run = (args: string[]) => {
    const r = runCli(args, { storeRoot: root, cwd: dir });
    assert.is(r.status, 0, r.stderr);
    return r.stdout;
  };
  run(['realize', 'a.ts', '-o', 'ra']);
  run(['realize', 'b.ts', '-o', 'rb']);
  const d = JSON.parse(run(['diff', 'ra', 'rb', '--json']));
  assert.equal(d.added.map((c: { name: string }) => c.name), []);
  assert.equal(d.removed.map((c: { name: string }) => c.name), []);
  const byName = Object.fromEntries(d.changed.map((c: { name: string }) => [c.name, c]));
  assert.equal(Object.keys(byName).sort(), ['root', 'zlib']);
  assert.equal([byName.zlib.from.version, byName.zlib.to.version], ['1.3', '1.3.1']);
  assert.match(byName.root.cause[0], /input zlib-1.3.1 differs|new input zlib-1.3.1/);
  const text = run(['diff', 'ra', 'rb']);
  assert.match(text, /~ zlib 1.3 -> 1.3.1/);
  assert.match(text, /0 added, 0 removed, 2 changed/);
  // A changed environment variable is named as the cause.
  writeTree(dir, { 'c.ts': expr('1.3', '').replace("CFLAGS: '-O2'", "CFLAGS: '-O3'") });
  run(['realize', 'c.ts', '-o', 'rc']);
  const d2 = JSON.parse(run(['diff', 'ra', 'rc', '--json']));
  const root2 = d2.changed.find((c: { name: string }) => c.name === 'root');
  assert.equal(root2.cause, ['root-6.32: input zlib-1.3 differs', 'zlib-1.3: environment variable CFLAGS: "-O2" -> "-O3"']);
  // A bundle can stand for a closure.
  run(['export', 'ra', '-o', 'a.bundle']);
  const d3 = JSON.parse(run(['diff', 'a.bundle', 'rc', '--json']));
  assert.is(d3.changed.length, 2);
});

test('store diff names the first differing input after a garbage collection (the .drv files of live outputs stay)', () => {
  const dir = tmpDir('diff-gc');
  const root = path.join(tmpDir('diff-gc-store'), 'root');
  writeTree(dir, { 'a.ts': expr('1.3', ''), 'c.ts': expr('1.3', '').replace("CFLAGS: '-O2'", "CFLAGS: '-O3'") });
  const run = (args: string[]) => {
    const r = runCli(args, { storeRoot: root, cwd: dir });
    assert.is(r.status, 0, r.stderr);
    return r.stdout;
  };
  run(['realize', 'a.ts', '-o', 'ra']);
  run(['realize', 'c.ts', '-o', 'rc']);
  // No root names a .drv file: only keeping the derivers of live outputs saves them.
  const gc = JSON.parse(run(['gc', '--json']));
  assert.not.ok(gc.deleted.some((d: { path: string }) => d.path.endsWith('.drv')), 'no .drv file of a live output is collected');
  const d = JSON.parse(run(['diff', 'ra', 'rc', '--json']));
  const changed = d.changed.find((c: { name: string }) => c.name === 'root');
  assert.equal(changed.cause, ['root-6.32: input zlib-1.3 differs', 'zlib-1.3: environment variable CFLAGS: "-O2" -> "-O3"']);
});

test.run();
