/**
 * Fetching one exact .deb: with the host's apt-get, or from a configured mirror where apt is
 * missing or off. The content hash alone decides the store path, so both give the same path;
 * a pin the archive no longer serves fails with a message that says to regenerate.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { REPO, runCliAsync, tmpDir } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { removeTree } from '../../src/archive/canonical.js';

const LIB = path.join(REPO, 'exprs', 'debian', 'lib.ts');
const hasApt = spawnSync('apt-get', ['--version']).status === 0;
// apt on, and no mirror: the test run turns apt off and points at its own mirror.
const APT = { HEPSTORE_APT_GET: 'apt-get', HEPSTORE_MIRROR_DEBIAN: '' };

/** An expression fetching one pinned .deb. */
function expr(dir: string, name: string, pin: object): string {
  const file = path.join(dir, `${name}.ts`);
  fs.writeFileSync(file, `import { fetchDeb } from ${JSON.stringify(LIB)};\nexport default fetchDeb(${JSON.stringify(name)}, ${JSON.stringify(pin)}, 'npm run exprs:debian -- ${name}');\n`);
  return file;
}

/** A static file server on loopback for a mirror's pool. */
async function serve(root: string): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url!);
    const file = path.join(root, decodeURIComponent(req.url!.split('?')[0]));
    if (!file.startsWith(root + '/') || !fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/debian`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

/** A small file laid out like a pool file, pinned by its real hash. */
function fakeDeb(mirrorRoot: string): { pin: { version: string; arch: string; filename: string; sha256: string; size: number; depends: string[] }; bytes: Buffer } {
  const bytes = Buffer.from('!<arch>\nnot really a package, but fetched like one\n');
  const filename = 'pool/main/h/hello-test/hello-test_1.0-1_all.deb';
  fs.mkdirSync(path.dirname(path.join(mirrorRoot, 'debian', filename)), { recursive: true });
  fs.writeFileSync(path.join(mirrorRoot, 'debian', filename), bytes);
  return { bytes, pin: { version: '1.0-1', arch: 'all', filename, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, depends: [] } };
}

test('without apt, the pool file comes from the mirror named in the store config or in HEPSTORE_MIRROR_DEBIAN', async () => {
  const dir = tmpDir('debfetch');
  const { pin, bytes } = fakeDeb(path.join(dir, 'mirror'));
  const server = await serve(path.join(dir, 'mirror'));
  try {
    const file = expr(dir, 'hello-test', pin);
    const env = { HEPSTORE_APT_GET: '', HEPSTORE_MIRROR_DEBIAN: '' };
    // From the configuration file.
    const rootA = path.join(dir, 'a');
    fs.mkdirSync(path.join(rootA, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(rootA, 'etc', 'hepstore.json'), JSON.stringify({ mirrors: { debian: [`${server.url}-missing`, server.url] } }));
    const a = await runCliAsync(['realize', '--no-out-link', file], { storeRoot: rootA, env });
    assert.is(a.status, 0, a.stderr);
    const out = a.stdout.trim();
    assert.equal(fs.readFileSync(out), bytes);
    assert.ok(server.hits.includes(`/debian-missing/${pin.filename}`), 'the first mirror was tried');
    assert.ok(server.hits.includes(`/debian/${pin.filename}`));
    // From the environment, in a second store: no configuration file at all.
    const rootB = path.join(dir, 'b');
    const b = await runCliAsync(['realize', '--no-out-link', file], { storeRoot: rootB, env: { ...env, HEPSTORE_MIRROR_DEBIAN: server.url } });
    assert.is(b.status, 0, b.stderr);
    assert.equal(fs.readFileSync(b.stdout.trim()), bytes);
    // Neither: a clear error that names both ways to configure one, and nothing registered.
    const rootC = path.join(dir, 'c');
    const c = await runCliAsync(['realize', '--no-out-link', file], { storeRoot: rootC, env });
    assert.is(c.status, 100, c.stderr);
    assert.match(c.stderr, /apt is turned off/);
    assert.match(c.stderr, /no 'debian' mirror is configured \(set "mirrors": \{"debian": \[URL\]\} in the store's etc\/hepstore\.json, or HEPSTORE_MIRROR_DEBIAN\)/);
    assert.match(c.stderr, /regenerate the package set with\n\s+npm run exprs:debian -- hello-test/);
    const store = new LocalStore(rootC);
    assert.equal(store.allValidPaths().filter((p) => p.endsWith('.deb')), []);
    store.close();
  } finally {
    await server.close();
  }
});

test('a mirror that serves other bytes fails with the wanted and the received hash (exit 102)', async () => {
  const dir = tmpDir('debfetch');
  const { pin } = fakeDeb(path.join(dir, 'mirror'));
  fs.appendFileSync(path.join(dir, 'mirror', 'debian', pin.filename), 'tampered');
  const server = await serve(path.join(dir, 'mirror'));
  try {
    const r = await runCliAsync(['realize', '--no-out-link', expr(dir, 'hello-test', pin)], { storeRoot: path.join(dir, 'root'), env: { HEPSTORE_APT_GET: '', HEPSTORE_MIRROR_DEBIAN: server.url } });
    assert.is(r.status, 102, r.stderr);
    assert.match(r.stderr, /sha256-/);
  } finally {
    await server.close();
  }
});

const SET = fs.readFileSync(path.join(REPO, 'exprs', 'debian', 'sets', 'laptop.ts'), 'utf8');
/** A small real package of the laptop set, as pinned there. */
function realPin(name: string) {
  const m = new RegExp(`"${name.replace(/[.+]/g, '\\$&')}": (\\{[^\\n]*\\}),\\n`).exec(SET);
  if (!m) throw new Error(`${name} is not in the laptop set`);
  return Function(`return (${m[1]})`)() as { version: string; arch: string; filename: string; sha256: string; size: number; depends: string[] };
}

test('apt-get download and the mirror give the same store path and bytes', async () => {
  if (!hasApt) {
    console.log('  (skipped: apt-get is not installed)');
    return;
  }
  const dir = tmpDir('debfetch');
  const name = 'libtirpc-common';
  const pin = realPin(name);
  const file = expr(dir, name, pin);
  const root = path.join(dir, 'root');
  const viaApt = await runCliAsync(['realize', '--no-out-link', file], { storeRoot: root, env: APT });
  assert.is(viaApt.status, 0, viaApt.stderr);
  const out = viaApt.stdout.trim();
  const bytes = fs.readFileSync(out);
  assert.is(createHash('sha256').update(bytes).digest('hex'), pin.sha256);
  const log = fs.readdirSync(path.join(root, 'var', 'log')).find((f) => f.includes(name));
  assert.match(fs.readFileSync(path.join(root, 'var', 'log', log!), 'utf8'), /fetching apt:libtirpc-common=/);
  let store = new LocalStore(root);
  const narHash = store.pathInfo(out).narHash;
  store.close();

  // The same store directory, fresh, with apt off: the pool file from a mirror.
  removeTree(root);
  const mirror = path.join(dir, 'mirror', 'debian', pin.filename);
  fs.mkdirSync(path.dirname(mirror), { recursive: true });
  fs.writeFileSync(mirror, bytes);
  const server = await serve(path.join(dir, 'mirror'));
  try {
    const viaMirror = await runCliAsync(['realize', '--no-out-link', file], { storeRoot: root, env: { HEPSTORE_APT_GET: '', HEPSTORE_MIRROR_DEBIAN: server.url } });
    assert.is(viaMirror.status, 0, viaMirror.stderr);
    assert.is(viaMirror.stdout.trim(), out);
    store = new LocalStore(root);
    assert.is(store.pathInfo(out).narHash, narHash);
    store.close();
    assert.ok(server.hits.includes(`/debian/${pin.filename}`));
  } finally {
    await server.close();
  }
});

test('a pinned version the archive no longer serves fails and says to regenerate the set', async () => {
  if (!hasApt) {
    console.log('  (skipped: apt-get is not installed)');
    return;
  }
  const dir = tmpDir('debfetch');
  const pin = { ...realPin('libtirpc-common'), version: '0.0.1-gone' };
  const r = await runCliAsync(['realize', '--no-out-link', expr(dir, 'libtirpc-common', pin)], { storeRoot: path.join(dir, 'root'), env: APT });
  assert.is(r.status, 100, r.stderr);
  assert.match(r.stderr, /libtirpc-common 0\.0\.1-gone may be gone from the archive/);
  assert.match(r.stderr, /regenerate the package set with\n\s+npm run exprs:debian -- libtirpc-common/);
  assert.match(r.stderr, /Version '0\.0\.1-gone' for 'libtirpc-common' was not found/);
});

test.run();
