import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';
import { removeTree } from '../../src/archive/canonical.js';

const ENV = (msg: string) => `import { derivation } from 'hepstore';
const dep = derivation({ name: 'dep-1.0', builder: '/bin/sh', args: ['-c', 'echo ${msg} > $out'] });
export default derivation({ name: 'env-1.0', builder: '/bin/sh', args: ['-c', \`read x < \${dep}; echo "$x" > $out\`] });
`;

test('store lock records outputs and narHashes; realize --lock passes on the same file and fails loudly on a different one', () => {
  const dir = tmpDir('lock');
  writeTree(dir, { 'env.ts': ENV('one'), 'other.ts': ENV('two') });
  const root = path.join(tmpDir('lock-store'), 'root');
  const cli = (args: string[]) => runCli(args, { storeRoot: root, cwd: dir });
  const l = cli(['lock', 'env.ts']);
  assert.is(l.status, 0, l.stderr);
  const lock = JSON.parse(l.stdout);
  assert.is(lock.format, 'hepstore-lock');
  assert.is(Object.keys(lock.derivations).length, 2);
  for (const d of Object.values(lock.derivations) as Array<{ outputs: Record<string, { narHash: string }>; drv: { name: string } }>) {
    assert.match(d.outputs.out.narHash, /^sha256-/);
    assert.match(d.drv.name, /^(dep|env)-1\.0$/);
  }
  fs.writeFileSync(path.join(dir, 'env.lock.json'), l.stdout);
  const ok = cli(['realize', 'env.ts', '--lock', 'env.lock.json', '--no-out-link']);
  assert.is(ok.status, 0, ok.stderr);
  assert.is(ok.stdout.trim(), lock.roots[0].outputs.out);
  const bad = cli(['realize', 'other.ts', '--lock', 'env.lock.json', '--no-out-link']);
  assert.is(bad.status, 102);
  assert.match(bad.stderr, /differs from the lock file/);
  // A narHash that does not match what is in the store fails after building.
  const tampered = JSON.parse(l.stdout);
  const first = Object.values(tampered.derivations)[0] as { outputs: { out: { narHash: string } } };
  first.outputs.out.narHash = 'sha256-' + Buffer.alloc(32).toString('base64');
  fs.writeFileSync(path.join(dir, 'bad.lock.json'), JSON.stringify(tampered));
  const bad2 = cli(['realize', 'env.ts', '--lock', 'bad.lock.json', '--no-out-link']);
  assert.is(bad2.status, 102);
  assert.match(bad2.stderr, /has narHash .* the lock says/);
});

/** xz <- lib <- app; `flavour` changes xz alone. */
const CHAIN = (flavour: string) => `import { derivation } from 'hepstore';
const xz = derivation({ name: 'xz-5.4.1', builder: '/bin/sh', args: ['-c', 'echo $flavour > $out'], env: { flavour: '${flavour}' } });
const lib = derivation({ name: 'lib-2.0', builder: '/bin/sh', args: ['-c', \`read x < \${xz}; echo "$x" > $out\`] });
export default derivation({ name: 'app-1.0', builder: '/bin/sh', args: ['-c', \`read x < \${lib}; echo "$x" > $out\`] });
`;

test('a lock mismatch names the first input that differs, as store diff does; lock files without derivations are still read', () => {
  const dir = tmpDir('lock-cause');
  writeTree(dir, { 'one.ts': CHAIN('one'), 'two.ts': CHAIN('two') });
  const root = path.join(tmpDir('lock-cause-store'), 'root');
  const cli = (args: string[]) => runCli(args, { storeRoot: root, cwd: dir });
  const l = cli(['lock', 'one.ts']);
  assert.is(l.status, 0, l.stderr);
  fs.writeFileSync(path.join(dir, 'one.lock.json'), l.stdout);
  const why = `app-1.0 differs because its input 'lib-2.0' differs, whose input 'xz-5.4.1' differs: xz-5.4.1: environment variable flavour: "one" -> "two"`;
  const bad = cli(['realize', 'two.ts', '--lock', 'one.lock.json', '--no-out-link']);
  assert.is(bad.status, 102);
  assert.ok(bad.stderr.includes(`the default export is `) && bad.stderr.includes(why), bad.stderr);
  assert.is(fs.readdirSync(path.join(root, 'var', 'log')).length, 3, 'nothing of two.ts was built');

  // A lock of the format before derivations were recorded: the walk reads the .drv files of this store…
  const old = JSON.parse(l.stdout);
  for (const d of Object.values(old.derivations) as Array<{ drv?: unknown }>) delete d.drv;
  fs.writeFileSync(path.join(dir, 'old.lock.json'), JSON.stringify(old));
  assert.is(cli(['realize', 'one.ts', '--lock', 'old.lock.json', '--no-out-link']).status, 0);
  const badOld = cli(['realize', 'two.ts', '--lock', 'old.lock.json', '--no-out-link']);
  assert.is(badOld.status, 102);
  assert.ok(badOld.stderr.includes(why), badOld.stderr);
  // …and, in a store without them, says that the lock cannot tell.
  removeTree(root);
  const fresh = cli(['realize', 'two.ts', '--lock', 'old.lock.json', '--no-out-link']);
  assert.is(fresh.status, 102);
  assert.match(fresh.stderr, /the lock does not record the locked derivation/);
  // The new format needs no .drv files in the store.
  const freshNew = cli(['realize', 'two.ts', '--lock', 'one.lock.json', '--no-out-link']);
  assert.is(freshNew.status, 102);
  assert.ok(freshNew.stderr.includes(why), freshNew.stderr);
});

test.run();
