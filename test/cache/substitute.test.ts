import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalStore } from '../../src/store/local-store.js';
import { removeTree } from '../../src/archive/canonical.js';
import { runCli, tmpDir } from '../helpers.js';
import { makeKeys, sharedRoot, startServer, writeConfig, world as sharedWorld, cli, ok, type World } from './helpers.js';

const ENV = `import { derivation } from 'hepstore';
export const dep = derivation({ name: 'dep-1.0', builder: '/bin/sh', args: ['-c', 'echo dep-content > $out'] });
export const tool = derivation({ name: 'tool-2.0', builder: '/bin/sh', args: ['-c', 'echo build-only-tool > $out'] });
export const embeds = derivation({ name: 'embeds-3.1', builder: '/bin/sh', args: ['-c', \`read x < \${tool}; echo "dep is at \${dep} ($x)" > $out\`] });
export default [embeds];
`;

const world = (): World => sharedWorld('subst', ENV, 'cache-key-1');

/** Closure of the result with narHashes, read in-process. */
function closureOf(root: string, p: string): Record<string, string> {
  const s = new LocalStore(root);
  try {
    return Object.fromEntries(s.queryClosure([p]).map((q) => [q, s.pathInfo(q).narHash]));
  } finally {
    s.close();
  }
}

function logs(root: string): string[] {
  const d = path.join(root, 'var', 'log');
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
}

/** Build in store A, push to `url`, then remove A: the root is free for store B. */
async function buildAndPush(w: World, url: string, extra: string[] = []): Promise<{ out: string; closure: Record<string, string> }> {
  const out = (await ok(w, ['realize', 'env.ts', '--no-out-link'])).trim();
  const closure = closureOf(w.root, out);
  assert.is(Object.keys(closure).length, 2);
  const pushed = JSON.parse(await ok(w, ['push', '--to', url, out, '--key-file', w.keyFile, '--json', ...extra]));
  assert.is(pushed.pushed.length, 2);
  const again = JSON.parse(await ok(w, ['push', '--to', url, out, '--json']));
  assert.equal([again.pushed.length, again.skipped.length], [0, 2]);
  removeTree(w.root);
  return { out, closure };
}

test('file:// cache: a fresh store with only the trusted key substitutes the whole closure with zero builds', async () => {
  const w = world();
  const cacheDir = path.join(tmpDir('cache'), 'c');
  const url = pathToFileURL(cacheDir).href;
  const { out, closure } = await buildAndPush(w, url);
  assert.ok(fs.existsSync(path.join(cacheDir, 'hepstore-cache-info')));
  const narinfos = fs.readdirSync(cacheDir).filter((f) => f.endsWith('.narinfo'));
  assert.is(narinfos.length, 2);
  const text = fs.readFileSync(path.join(cacheDir, narinfos[0]), 'utf8');
  assert.match(text, /^StorePath: .*\nURL: nar\/[0-9a-z]{52}\.tar\.gz\nCompression: gzip\n/);
  assert.match(text, /\nSig: cache-key-1:/);
  writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey], substituters: [url] });
  const r = await cli(w, ['realize', 'env.ts', '--no-out-link']);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), out);
  assert.equal(closureOf(w.root, out), closure);
  assert.equal(logs(w.root), [], 'nothing was built');
  assert.match(r.stderr, /substituted 2 paths/);
  const v = runCli(['verify', '--check-contents'], { storeRoot: w.root });
  assert.is(v.status, 0, v.stderr);
  const s = new LocalStore(w.root);
  assert.is(s.pathInfo(out).ultimate, false);
  assert.ok(s.pathInfo(out).sigs[0].startsWith('cache-key-1:'));
  s.close();
});

test('http:// cache on loopback: push with PUT, substitute with GET, zero builds', async () => {
  const w = world();
  const served = tmpDir('served');
  const server = await startServer(served, { allowPut: true });
  try {
    const { out, closure } = await buildAndPush(w, server.url + '/cache', ['--compression', 'none']);
    assert.ok(server.requests.some((r) => r.startsWith('PUT /cache/nar/')));
    writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey] });
    const r = await cli(w, ['realize', 'env.ts', '--no-out-link', '--substituters', server.url + '/cache']);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim(), out);
    assert.equal(closureOf(w.root, out), closure);
    assert.equal(logs(w.root), []);
    // The build-only input was never fetched.
    assert.not.ok(server.requests.some((q) => q.includes('tool-2.0')));
  } finally {
    await server.close();
  }
});

test('a corrupt archive in the cache falls back to building (saying which path and why); --no-fallback fails instead', async () => {
  const w = world();
  const cacheDir = path.join(tmpDir('cache'), 'c');
  const url = pathToFileURL(cacheDir).href;
  const { out, closure } = await buildAndPush(w, url, ['--compression', 'none']);
  // Flip a byte in the top path's archive.
  const info = fs.readFileSync(path.join(cacheDir, path.basename(out).slice(0, 32) + '.narinfo'), 'utf8');
  const nar = path.join(cacheDir, /URL: (\S+)/.exec(info)![1]);
  const bytes = fs.readFileSync(nar);
  bytes[600] ^= 0x20;
  fs.writeFileSync(nar, bytes);
  writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey] });
  const nf = await cli(w, ['realize', 'env.ts', '--no-out-link', '--substituters', url, '--no-fallback']);
  assert.is(nf.status, 100, nf.stderr);
  assert.match(nf.stderr, /--no-fallback/);
  assert.ok(nf.stderr.includes(out), nf.stderr);
  const r = await cli(w, ['realize', 'env.ts', '--no-out-link', '--substituters', url]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`could not substitute ${out}: .*(hash mismatch|FileHash).*; building it instead`));
  assert.is(r.stdout.trim(), out);
  assert.equal(closureOf(w.root, out), closure);
  assert.ok(logs(w.root).length > 0, 'it was built');
});

test('an untrusted signature falls back to building unless --no-require-sigs; a cache for another store directory is a clear error', async () => {
  const w = world();
  const cacheDir = path.join(tmpDir('cache'), 'c');
  const url = pathToFileURL(cacheDir).href;
  const { out } = await buildAndPush(w, url);
  writeConfig(w.root, { trustedPublicKeys: [makeKeys('cache-key-1').publicKey] });
  const r = await cli(w, ['realize', 'env.ts', '--no-out-link', '--substituters', url, '--no-fallback']);
  assert.is(r.status, 100);
  // A trusted key of the signer's name, but another key: the signature does not verify.
  assert.match(r.stderr, "its signature by 'cache-key-1' does not verify");
  // A signer that is not trusted at all: named, with the file to edit.
  writeConfig(w.root, { trustedPublicKeys: [makeKeys('other-key-1').publicKey] });
  const named = await cli(w, ['realize', 'env.ts', '--no-out-link', '--substituters', url, '--no-fallback']);
  assert.is(named.status, 100);
  assert.match(named.stderr, "it is signed by 'cache-key-1', which is not trusted (trusted keys: other-key-1)");
  assert.match(named.stderr, `"trustedPublicKeys" in ${path.join(w.root, 'etc', 'hepstore.json')}`);
  const r2 = await cli(w, ['realize', 'env.ts', '--no-out-link', '--substituters', url, '--no-require-sigs']);
  assert.is(r2.status, 0, r2.stderr);
  assert.is(r2.stdout.trim(), out);
  assert.equal(logs(w.root), []);
  const other = { ...w, root: sharedRoot() };
  const r3 = await cli(other, ['realize', 'env.ts', '--no-out-link', '--substituters', url]);
  assert.is(r3.status, 1);
  assert.match(r3.stderr, /holds paths for the store directory .*, not /);
});

/** xz <- lib <- app, each a separate output (app does not refer to lib at run time). */
const CHAIN = (flavour: string, appArgs = '') => `import { derivation } from 'hepstore';
export const xz = derivation({ name: 'xz-5.4.1', builder: '/bin/sh', args: ['-c', 'echo $flavour > $out'], env: { flavour: '${flavour}' } });
export const lib = derivation({ name: 'lib-2.0', builder: '/bin/sh', args: ['-c', \`read x < \${xz}; echo "$x" > $out\`] });
export default derivation({ name: 'app-1.0', builder: '/bin/sh', args: ['-c', \`read x < \${lib}; echo "$x${appArgs}" > $out\`] });
`;

test('a substitution miss names its cause: an input missing too, or the first derivation whose inputs were all found', async () => {
  const w = sharedWorld('subst-miss', CHAIN('one'), 'cache-key-1');
  const cacheDir = path.join(tmpDir('cache'), 'c');
  const url = pathToFileURL(cacheDir).href;
  await ok(w, ['realize', 'env.ts', '--no-out-link']);
  const outOf = async (file: string, attr?: string) => JSON.parse(await ok(w, ['eval', file, '--json', ...(attr ? ['-A', attr] : [])]))[0].outputs.out as string;
  const pushed = await Promise.all([undefined, 'lib', 'xz'].map((a) => outOf('env.ts', a)));
  await ok(w, ['push', '--to', url, ...pushed, '--key-file', w.keyFile]);
  removeTree(w.root);
  writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey], substituters: [url] });
  fs.writeFileSync(path.join(w.dir, 'xz-changed.ts'), CHAIN('two'));
  fs.writeFileSync(path.join(w.dir, 'app-changed.ts'), CHAIN('one', ' again'));
  const miss = (p: string) => `could not substitute ${p}: not in any binary cache (${url})`;

  // xz changed: app and lib miss because of their inputs; xz is where the misses start.
  const r = await cli(w, ['realize', 'xz-changed.ts', '--no-out-link']);
  assert.is(r.status, 0, r.stderr);
  const [app2, lib2, xz2] = await Promise.all([undefined, 'lib', 'xz'].map((a) => outOf('xz-changed.ts', a)));
  assert.ok(r.stderr.includes(`${miss(app2)}; its input 'lib-2.0' is not in the caches either, which changes the path of 'app-1.0'; building it instead`), r.stderr);
  assert.ok(r.stderr.includes(`${miss(lib2)}; its input 'xz-5.4.1' is not in the caches either`), r.stderr);
  assert.ok(r.stderr.includes(`${miss(xz2)}; none of its inputs is missing, so 'xz-5.4.1' (${path.join(w.dir, 'xz-changed.ts')}:2) itself differs from what the caches hold`), r.stderr);

  // app changed alone: lib comes from the cache, and app itself is named.
  const r2 = await cli(w, ['realize', 'app-changed.ts', '--no-out-link']);
  assert.is(r2.status, 0, r2.stderr);
  const app3 = await outOf('app-changed.ts');
  assert.ok(r2.stderr.includes(`${miss(app3)}; none of its inputs is missing, so 'app-1.0' (${path.join(w.dir, 'app-changed.ts')}:4) itself differs`), r2.stderr);
  assert.match(r2.stderr, /substituted 1 path /);
  assert.not.match(r2.stderr, /lib-2\.0.*not in the caches either/);
});

test.run();
