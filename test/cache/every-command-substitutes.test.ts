/**
 * One realize pipeline: every command that realizes an expression — realize, env, shell,
 * profile install, release add, lock — asks the configured binary cache first. Each runs
 * against a fresh store (at the same store directory) whose configuration names the cache and
 * trusts its key, and builds nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { removeTree } from '../../src/archive/canonical.js';
import { LocalStore } from '../../src/store/local-store.js';
import { tmpDir, writeTree } from '../helpers.js';
import { cli, ok, world, writeConfig } from './helpers.js';

const ENV = `import { buildEnv, path } from 'hepstore';
export default buildEnv({ name: 'tools', paths: [path('./tool')] });
`;

/** Whether this store made `p` itself (built or added it) rather than fetching it. */
function madeHere(root: string, p: string): boolean {
  const s = new LocalStore(root);
  try {
    return s.pathInfo(p).ultimate;
  } finally {
    s.close();
  }
}

const logs = (root: string) => {
  const d = path.join(root, 'var', 'log');
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
};

test('realize, env, shell, profile install, release add and lock substitute from the configured cache, building nothing', async () => {
  const w = world('every-command', ENV, 'cache-key-1');
  writeTree(w.dir, { tool: { bin: { tool: { exec: '#!/bin/sh\necho tool works\n' } } } });
  const cacheDir = path.join(tmpDir('every-command-cache'), 'c');
  const url = pathToFileURL(cacheDir).href;
  const out = (await ok(w, ['realize', 'env.ts', '--no-out-link'])).trim();
  assert.ok(madeHere(w.root, out), 'the first store built it');
  await ok(w, ['push', '--to', url, out, '--key-file', w.keyFile]);

  const commands: string[][] = [
    ['realize', 'env.ts', '--no-out-link'],
    ['env', 'env.ts'],
    ['shell', 'env.ts', '-c', 'tool'],
    ['profile', 'install', 'env.ts'],
    ['release', 'add', 'R1', 'env.ts'],
    ['lock', 'env.ts'],
  ];
  for (const args of commands) {
    removeTree(w.root);
    writeConfig(w.root, { substituters: [url], trustedPublicKeys: [w.keys.publicKey] });
    const r = await cli(w, args);
    assert.is(r.status, 0, `store ${args.join(' ')}: ${r.stderr}`);
    assert.equal(logs(w.root), [], `store ${args.join(' ')} built something`);
    assert.ok(fs.existsSync(out), `store ${args.join(' ')}: the environment is in the store`);
    assert.not.ok(madeHere(w.root, out), `store ${args.join(' ')} built the environment rather than substituting it`);
    if (args[0] === 'shell') assert.match(r.stdout, 'tool works');
    if (args[0] === 'lock') assert.match(r.stdout, out);
  }

  // And --substituters on the command line works for them too (a word after the URL is FILE).
  removeTree(w.root);
  writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey] });
  const given = await cli(w, ['env', '--substituters', url, 'env.ts']);
  assert.is(given.status, 0, given.stderr);
  assert.not.ok(madeHere(w.root, out));
});

test.run();
