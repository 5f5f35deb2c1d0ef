/**
 * Signing at build time: with `secretKeyFiles` in the store's config, every output that
 * realize builds is signed when it is registered (as Nix's secret-key-files), so a store that
 * trusts the public key accepts it from a bundle or a cache even when the export or push
 * signs nothing itself. Without a key, built outputs carry no signature.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalStore } from '../../src/store/local-store.js';
import { removeTree } from '../../src/archive/canonical.js';
import { hasTrustedSignature, trustedKeys } from '../../src/cache/trust/signing.js';
import { tmpDir } from '../helpers.js';
import { snapshot, writeConfig, type Keys, world as sharedWorld, cli, ok, type World } from './helpers.js';

const ENV = `import { derivation } from 'hepstore';
export const lib = derivation({ name: 'lib-1.0', outputs: ['out', 'dev'], builder: '/bin/sh', args: ['-c', 'echo lib > $out; echo headers > $dev'] });
export const app = derivation({ name: 'app-1.0', builder: '/bin/sh', args: ['-c', \`echo "app uses \${lib} and \${lib.dev}" > $out\`] });
export default app;
`;

const world = (): World => sharedWorld('sign-build', ENV, 'builder-1');

/** Every path of the closure of `out` with its signatures, and whether one is valid by `keys`. */
function signatures(root: string, out: string, keys: Keys): Array<{ path: string; sigs: string[]; trusted: boolean; ca: boolean }> {
  const s = new LocalStore(root);
  try {
    const trusted = trustedKeys([keys.publicKey]);
    return s.queryClosure([out]).map((p) => {
      const info = s.pathInfo(p);
      return { path: p, sigs: info.sigs, trusted: hasTrustedSignature(info, info.sigs, trusted), ca: info.ca !== undefined };
    });
  } finally {
    s.close();
  }
}

test('with secretKeyFiles configured, every built output carries a valid signature, which a store trusting the key accepts on import and substitution', async () => {
  const w = world();
  writeConfig(w.root, { secretKeyFiles: [w.keyFile] });
  const out = (await ok(w, ['realize', 'env.ts', '--no-out-link'])).trim();
  const built = signatures(w.root, out, w.keys);
  assert.is(built.length, 3, 'app, lib and lib.dev');
  for (const b of built) {
    assert.is(b.sigs.length, 1, `${b.path} has one signature`);
    assert.ok(b.sigs[0].startsWith('builder-1:'));
    assert.ok(b.trusted, `${b.path}'s signature is valid`);
  }
  // .drv files are content-addressed: nothing to sign.
  const s = new LocalStore(w.root);
  const drvs = s.allValidPaths().filter((p) => p.endsWith('.drv'));
  assert.ok(drvs.length >= 2);
  for (const d of drvs) assert.equal(s.pathInfo(d).sigs, []);
  s.close();

  // Export and push with no key at all: only the build-time signatures travel.
  writeConfig(w.root, {});
  const bundle = path.join(w.dir, 'env.bundle');
  await ok(w, ['export', out, '-o', bundle]);
  const cacheDir = path.join(tmpDir('cache'), 'c');
  await ok(w, ['push', '--to', pathToFileURL(cacheDir).href, out, '--compression', 'none']);
  for (const f of fs.readdirSync(cacheDir).filter((x) => x.endsWith('.narinfo'))) {
    assert.match(fs.readFileSync(path.join(cacheDir, f), 'utf8'), /\nSig: builder-1:/);
  }
  removeTree(w.root);

  // B imports the bundle, trusting only the public key.
  writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey] });
  const imported = JSON.parse(await ok(w, ['import', bundle, '--json']));
  assert.is(imported.imported.length, 3);
  assert.ok(signatures(w.root, out, w.keys).every((b) => b.trusted));
  removeTree(w.root);

  // C substitutes from the cache with zero builds.
  writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey], substituters: [pathToFileURL(cacheDir).href] });
  const r = await ok(w, ['realize', 'env.ts', '--no-out-link', '--no-fallback']);
  assert.is(r.trim(), out);
  assert.not.ok(fs.existsSync(path.join(w.root, 'var', 'log')) && fs.readdirSync(path.join(w.root, 'var', 'log')).length, 'C built nothing');
  assert.ok(signatures(w.root, out, w.keys).every((b) => b.trusted));
});

test('without a key, built outputs carry no signature, and a store that requires one refuses them and stays unchanged', async () => {
  const w = world();
  const out = (await ok(w, ['realize', 'env.ts', '--no-out-link'])).trim();
  for (const b of signatures(w.root, out, w.keys)) assert.equal(b.sigs, [], `${b.path} is unsigned`);
  const bundle = path.join(w.dir, 'env.bundle');
  await ok(w, ['export', out, '-o', bundle]);
  removeTree(w.root);
  writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey] });
  const before = snapshot(w.root);
  const r = await cli(w, ['import', bundle]);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /is not signed/);
  assert.equal(snapshot(w.root), before);
});

test('a configured secret key file that cannot be read fails the realize before anything is built, naming the file', async () => {
  const w = world();
  const missing = path.join(w.dir, 'no-such.sec');
  writeConfig(w.root, { secretKeyFiles: [missing] });
  const r = await cli(w, ['realize', 'env.ts', '--no-out-link']);
  assert.is(r.status, 1, r.stderr);
  assert.ok(r.stderr.includes(missing), r.stderr);
  assert.not.ok(fs.existsSync(path.join(w.root, 'var', 'log')) && fs.readdirSync(path.join(w.root, 'var', 'log')).length, 'nothing was built');
});

test.run();
