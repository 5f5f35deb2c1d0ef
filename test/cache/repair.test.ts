import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalStore } from '../../src/store/local-store.js';
import { removeTree, makeWritable } from '../../src/archive/canonical.js';
import { openBinaryCache } from '../../src/cache/binary/binary-cache.js';
import { pushClosure } from '../../src/cache/binary/push.js';
import { runCli, tmpDir } from '../helpers.js';
import { makeClosure, makeKeys, sharedRoot, writeConfig } from './helpers.js';

test('verify --check-contents --repair replaces modified and missing paths with verified copies from a cache', async () => {
  const keys = makeKeys();
  const root = sharedRoot();
  const url = pathToFileURL(path.join(tmpDir('cache'), 'c')).href;
  const store = new LocalStore(root);
  const c = await makeClosure(store, keys);
  await pushClosure(store, openBinaryCache(url), [c.top], { keys: [keys.secret] });
  store.close();
  writeConfig(root, { trustedPublicKeys: [keys.publicKey] });
  // Damage: one file changed in mid, leaf gone.
  makeWritable(c.mid);
  fs.chmodSync(path.join(c.mid, 'use.txt'), 0o644);
  fs.writeFileSync(path.join(c.mid, 'use.txt'), 'tampered\n');
  removeTree(c.leaf);
  const v1 = runCli(['verify', '--check-contents', '--json'], { storeRoot: root });
  assert.is(v1.status, 1);
  const r1 = JSON.parse(v1.stdout);
  assert.equal([r1.missing, r1.modified.map((m: { path: string }) => m.path)], [[c.leaf], [c.mid]]);
  // Without a cache: reported, not repaired.
  const v2 = runCli(['verify', '--check-contents', '--repair'], { storeRoot: root });
  assert.is(v2.status, 1);
  assert.match(v2.stderr, /cannot repair .*no binary cache/);
  const v3 = runCli(['verify', '--check-contents', '--repair', '--substituters', url, '--json'], { storeRoot: root });
  assert.is(v3.status, 0, v3.stderr);
  assert.equal(JSON.parse(v3.stdout).repaired.sort(), [c.leaf, c.mid].sort());
  assert.is(fs.readFileSync(path.join(c.mid, 'use.txt'), 'utf8'), `uses ${c.leaf}\n`);
  const v4 = runCli(['verify', '--check-contents'], { storeRoot: root });
  assert.is(v4.status, 0, v4.stderr);
});

test.run();
