import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, walk, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { removeTree } from '../../src/archive/canonical.js';
import { hashPartOf } from '../../src/store/path.js';
import { databaseOf } from '../../src/store/db.js';

const EXPR = `import { derivation } from 'hepstore';
export const dep = derivation({ name: 'dep', builder: '/bin/sh', args: ['-c', 'i=0; while [ $i -lt 2000 ]; do echo dep-content-$i; i=$((i+1)); done > $out'] });
export const top = derivation({ name: 'top', builder: '/bin/sh', args: ['-c', \`echo "uses \${dep}" > $out\`] });
export default { dep, top };
`;

function setup() {
  const dir = writeTree(tmpDir('dry'), { 'env.ts': EXPR });
  return { dir, root: path.join(tmpDir('dry-store'), 'root') };
}

function cli(e: { dir: string; root: string }, args: string[]) {
  return runCli(args, { storeRoot: e.root, cwd: e.dir });
}

function evalRecords(e: { dir: string; root: string }) {
  const r = cli(e, ['eval', 'env.ts', '--json']);
  assert.is(r.status, 0, r.stderr);
  return Object.fromEntries((JSON.parse(r.stdout) as Array<{ attr: string; drvPath: string; outputs: { out: string } }>).map((x) => [x.attr, x]));
}

/** Everything a realize could leave behind: the store directory, roots, locks and temporary roots. */
function snapshot(e: { dir: string; root: string }) {
  const s = new LocalStore(e.root);
  try {
    return {
      store: fs.readdirSync(path.join(e.root, 'store')).sort(),
      valid: s.allValidPaths(),
      gcroots: fs.existsSync(path.join(e.root, 'var', 'gcroots')) ? walk(path.join(e.root, 'var', 'gcroots')).map((w) => w.path) : [],
      locks: databaseOf(s).prepare('SELECT count(*) AS n FROM PathLocks').get(),
      tempRoots: databaseOf(s).prepare('SELECT count(*) AS n FROM TempRoots').get(),
      cwd: fs.readdirSync(e.dir).sort(),
      // Entries of the evaluation cache (compiled files may be kept beside them).
      evalCache: fs.existsSync(path.join(e.root, 'var', 'cache', 'eval')) ? walk(path.join(e.root, 'var', 'cache', 'eval')).map((w) => w.path).filter((p) => p.endsWith('.roots')) : [],
    };
  } finally {
    s.close();
  }
}

test('realize --dry-run lists the derivations that would be built, and writes nothing: no .drv, no root, no lock', async () => {
  const e = setup();
  const ev = evalRecords(e);
  const before = snapshot(e);
  const res = cli(e, ['realize', 'env.ts', '-A', 'top', '--dry-run']);
  assert.is(res.status, 0, res.stderr);
  assert.is(res.stdout, `these 2 derivations would be built:\n  ${ev.dep.drvPath}\n  ${ev.top.drvPath}\n`);
  assert.equal(snapshot(e), before);
  assert.not.ok(fs.existsSync(ev.top.drvPath));
  assert.not.ok(fs.existsSync(path.join(e.dir, 'result')));
  // Once dep is built, only top is left; once top is too, nothing.
  assert.is(cli(e, ['realize', 'env.ts', '-A', 'dep', '--no-out-link']).status, 0);
  const middle = snapshot(e);
  assert.is(middle.evalCache.length, 1, 'the realize kept an evaluation');
  const one = cli(e, ['realize', 'env.ts', '-A', 'top', '--dry-run', '--json']);
  assert.equal(snapshot(e), middle);
  assert.is(one.status, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout), { build: [{ drvPath: ev.top.drvPath, name: 'top', outputs: [ev.top.outputs.out] }], fetch: [], downloadSize: 0, narSize: 0, valid: [] });
  const text = cli(e, ['realize', 'env.ts', '-A', 'top', '--dry-run']);
  assert.is(text.stdout, `this derivation would be built:\n  ${ev.top.drvPath}\n`);
  assert.is(cli(e, ['realize', 'env.ts', '--no-out-link']).status, 0);
  const none = cli(e, ['realize', 'env.ts', '--dry-run']);
  assert.is(none.stdout, 'nothing to build or fetch: all 2 outputs are valid\n');
  const bad = cli(e, ['realize', 'env.ts', '--dry-run', '--check']);
  assert.is(bad.status, 1);
  assert.is(bad.stderr, 'error: --dry-run does not go with --check\n');
});

test('realize --dry-run with a binary cache: what would be fetched, with the download size its narinfos give, and nothing built', async () => {
  const e = setup();
  const ev = evalRecords(e);
  const cache = path.join(tmpDir('dry-cache'), 'cache');
  assert.is(cli(e, ['realize', 'env.ts', '-A', 'top', '--no-out-link']).status, 0);
  const push = cli(e, ['push', '--to', `file://${cache}`, ev.top.outputs.out]);
  assert.is(push.status, 0, push.stderr);
  removeTree(e.root); // another machine, same store directory
  const narinfo = (p: string) => {
    const text = fs.readFileSync(path.join(cache, `${hashPartOf(p)}.narinfo`), 'utf8');
    return { fileSize: Number(/^FileSize: (\d+)$/m.exec(text)![1]), narSize: Number(/^NarSize: (\d+)$/m.exec(text)![1]) };
  };
  const [t, d] = [narinfo(ev.top.outputs.out), narinfo(ev.dep.outputs.out)];
  const before = snapshot(e);
  const res = cli(e, ['realize', 'env.ts', '-A', 'top', '--dry-run', '--json', '--substituters', `file://${cache}`, '--no-require-sigs']);
  assert.is(res.status, 0, res.stderr);
  const plan = JSON.parse(res.stdout);
  assert.equal(plan.build, []);
  assert.equal(
    plan.fetch,
    [
      { path: ev.top.outputs.out, cache: `file://${cache}`, ...t },
      { path: ev.dep.outputs.out, cache: `file://${cache}`, ...d },
    ].sort((a, b) => (a.path < b.path ? -1 : 1)),
  );
  assert.is(plan.downloadSize, t.fileSize + d.fileSize);
  assert.is(plan.narSize, t.narSize + d.narSize);
  assert.equal(snapshot(e), before);
  const text = cli(e, ['realize', 'env.ts', '-A', 'top', '--dry-run', '--substituters', `file://${cache}`, '--no-require-sigs']);
  const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
  assert.is(text.stdout.split('\n')[0], `these 2 paths would be fetched (${mib(t.fileSize + d.fileSize)} download, ${mib(t.narSize + d.narSize)} unpacked):`);
  // Without a trusted signature nothing can be fetched: both would be built.
  const unsigned = cli(e, ['realize', 'env.ts', '-A', 'top', '--dry-run', '--json', '--substituters', `file://${cache}`]);
  assert.is(unsigned.status, 0, unsigned.stderr);
  assert.equal(JSON.parse(unsigned.stdout).build.map((b: { name: string }) => b.name), ['dep', 'top']);
  assert.equal(JSON.parse(unsigned.stdout).fetch, []);
  // dep alone pushed: top would be built from dep, which would be fetched.
  const cache2 = path.join(tmpDir('dry-cache2'), 'cache');
  assert.is(cli(e, ['realize', 'env.ts', '-A', 'dep', '--no-out-link', '--no-substitute']).status, 0);
  assert.is(cli(e, ['push', '--to', `file://${cache2}`, ev.dep.outputs.out]).status, 0);
  removeTree(e.root);
  const mixed = cli(e, ['realize', 'env.ts', '-A', 'top', '--dry-run', '--json', '--substituters', `file://${cache2}`, '--no-require-sigs']);
  assert.is(mixed.status, 0, mixed.stderr);
  const m = JSON.parse(mixed.stdout);
  assert.equal(m.build.map((b: { name: string }) => b.name), ['top']);
  assert.equal(m.fetch.map((f: { path: string }) => f.path), [ev.dep.outputs.out]);
});

test.run();
