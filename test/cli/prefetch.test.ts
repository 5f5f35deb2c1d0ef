import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pseudoRandomBytes, runCliAsync, tmpDir } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { hashPathSync } from '../../src/archive/hash-sync.js';

const TARBALL = pseudoRandomBytes(200_000, 'prefetch');
const sri = (algo: string, b: Buffer) => `${algo}-${createHash(algo).update(b).digest('base64')}`;

/** A loopback server: /files/NAME serves FILES[NAME]; the rest is 404. */
async function serve(files: Record<string, Buffer>) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    const name = url.replace(/^\/files\//, '');
    if (url.startsWith('/files/') && name in files) res.end(files[name]);
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('prefetch adds the file at the path fetchurl gives it, and prints that path and its integrity', async () => {
  const srv = await serve({ 'pkg-1.0.tar.gz': TARBALL });
  const root = path.join(tmpDir('prefetch'), 'root');
  const dir = tmpDir('prefetch-expr');
  try {
    const url = `${srv.base}/files/pkg-1.0.tar.gz`;
    const res = await runCliAsync(['prefetch', url], { storeRoot: root });
    assert.is(res.status, 0, res.stderr);
    const [pathLine, integrityLine, snippet] = res.stdout.trimEnd().split('\n');
    const p = pathLine.replace(/^path: /, '');
    assert.is(integrityLine, `integrity: ${sri('sha256', TARBALL)}`);
    assert.is(snippet, `fetchurl({ url: '${url}', integrity: '${sri('sha256', TARBALL)}' })`);
    assert.ok(p.endsWith('-pkg-1.0.tar.gz'), p);
    assert.ok(fs.readFileSync(p).equals(TARBALL));
    assert.is(fs.statSync(p).mode & 0o777, 0o444);
    const s = new LocalStore(root);
    try {
      const info = s.pathInfo(p);
      assert.is(info.narHash, hashPathSync(p).narHash);
      assert.is(info.ca, `flat:${sri('sha256', TARBALL)}`);
      assert.equal(info.references, []);
    } finally {
      s.close();
    }
    // The expression written with what it printed names the same path, and realizing it fetches nothing.
    fs.writeFileSync(path.join(dir, 'default.ts'), `import { fetchurl } from 'hepstore';\nexport default ${snippet};\n`);
    const before = srv.requests.length;
    const ev = await runCliAsync(['eval', 'default.ts', '--json'], { storeRoot: root, cwd: dir });
    assert.is(ev.status, 0, ev.stderr);
    assert.is(JSON.parse(ev.stdout)[0].outputs.out, p);
    const built = await runCliAsync(['realize', 'default.ts', '--no-out-link'], { storeRoot: root, cwd: dir });
    assert.is(built.status, 0, built.stderr);
    assert.is(built.stdout, `${p}\n`);
    assert.is(srv.requests.length, before);
    // Again: the same path, already there.
    const again = await runCliAsync(['prefetch', url, '--json'], { storeRoot: root });
    assert.is(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout), { url, name: 'pkg-1.0.tar.gz', path: p, integrity: sri('sha256', TARBALL), size: TARBALL.length });
  } finally {
    await srv.close();
  }
});

test('prefetch --name and --executable give the path fetchurl gives with the same options', async () => {
  const srv = await serve({ 'tool.sh': Buffer.from('#!/bin/sh\necho hi\n') });
  const root = path.join(tmpDir('prefetch'), 'root');
  const dir = tmpDir('prefetch-expr');
  try {
    const url = `${srv.base}/files/tool.sh`;
    const res = await runCliAsync(['prefetch', url, '--name', 'my-tool', '--executable', '--json'], { storeRoot: root });
    assert.is(res.status, 0, res.stderr);
    const r = JSON.parse(res.stdout);
    assert.ok(r.path.endsWith('-my-tool'));
    assert.is(fs.statSync(r.path).mode & 0o777, 0o555);
    assert.is(r.integrity, hashPathSync(r.path).narHash);
    fs.writeFileSync(path.join(dir, 'default.ts'), `import { fetchurl } from 'hepstore';\nexport default fetchurl({ url: '${url}', name: 'my-tool', executable: true, integrity: '${r.integrity}' });\n`);
    const ev = await runCliAsync(['eval', 'default.ts', '--json'], { storeRoot: root, cwd: dir });
    assert.is(ev.status, 0, ev.stderr);
    assert.is(JSON.parse(ev.stdout)[0].outputs.out, r.path);
  } finally {
    await srv.close();
  }
});

test('hash-file prints the flat sha256 or sha512 of a file, and refuses what is not one', async () => {
  const dir = tmpDir('hash-file');
  const f = path.join(dir, 'data.bin');
  fs.writeFileSync(f, TARBALL);
  const res = await runCliAsync(['hash-file', f]);
  assert.is(res.status, 0, res.stderr);
  assert.is(res.stdout, `${sri('sha256', TARBALL)}\n`);
  const big = await runCliAsync(['hash-file', '--type', 'sha512', '--size', f, f]);
  assert.is(big.stdout, `${sri('sha512', TARBALL)} ${TARBALL.length}\n`.repeat(2));
  const bad = await runCliAsync(['hash-file', '--type', 'md5', f]);
  assert.is(bad.status, 1);
  assert.is(bad.stderr, "error: --type takes sha256 or sha512 (got 'md5')\n");
  const missing = await runCliAsync(['hash-file', path.join(dir, 'nothing')]);
  assert.is(missing.status, 1);
  assert.is(missing.stderr, `error: '${path.join(dir, 'nothing')}' does not exist\n`);
  const isDir = await runCliAsync(['hash-file', dir]);
  assert.is(isDir.status, 1);
  assert.match(isDir.stderr, /is not a regular file\nhint: hash a tree with 'store hash-path'\n$/);
});

test('prefetch: a missing file, a refused connection and a bad URL are one-line errors, and nothing is added', async () => {
  const srv = await serve({});
  const root = path.join(tmpDir('prefetch'), 'root');
  try {
    const gone = await runCliAsync(['prefetch', `${srv.base}/files/none.tar.gz`], { storeRoot: root });
    assert.is(gone.status, 1);
    assert.is(gone.stderr, `error: cannot download '${srv.base}/files/none.tar.gz': HTTP 404 Not Found\n`);
    const bad = await runCliAsync(['prefetch', 'ftp://example/x'], { storeRoot: root });
    assert.is(bad.status, 1);
    assert.match(bad.stderr, /^error: unsupported URL scheme 'ftp:' in 'ftp:\/\/example\/x'\n/);
  } finally {
    await srv.close();
  }
  const refused = await runCliAsync(['prefetch', `${srv.base}/files/x`], { storeRoot: root });
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /^error: cannot download '.*': .*ECONNREFUSED.*\n$/);
  const s = new LocalStore(root);
  try {
    assert.equal(s.allValidPaths(), []);
    assert.equal(s.strayTemporaries(), []);
  } finally {
    s.close();
  }
});

test.run();
