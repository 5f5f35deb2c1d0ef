import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';

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
  for (const d of Object.values(lock.derivations) as Array<{ outputs: Record<string, { narHash: string }> }>) assert.match(d.outputs.out.narHash, /^sha256-/);
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

test.run();
