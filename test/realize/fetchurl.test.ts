import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { runCliAsync, tmpDir, writeTree, type TreeSpec } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { hashPathSync } from '../../src/archive/hash-sync.js';
import { makeStorePath } from '../../src/store/path.js';

const sri = (s: string | Buffer) => 'sha256-' + createHash('sha256').update(s).digest('base64');

interface Server {
  base: string;
  requests: string[];
  close(): Promise<void>;
}

/** A loopback server: /files/NAME serves FILES[NAME], /moved/NAME redirects there, the rest is 404. */
async function serve(files: Record<string, string | Buffer>): Promise<Server> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    const name = url.replace(/^\/(files|moved)\//, '');
    if (url.startsWith('/moved/')) {
      res.writeHead(302, { location: `/files/${name}` }).end();
    } else if (url.startsWith('/files/') && name in files) {
      res.end(files[name]);
    } else {
      res.writeHead(404).end('not here');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

interface Env {
  dir: string;
  root: string;
}

function setup(files: TreeSpec): Env {
  const dir = tmpDir('fetchurl');
  writeTree(dir, files);
  return { dir, root: path.join(tmpDir('fetchurl-store'), 'root') };
}

const realize = (env: Env, args: string[]) => runCliAsync(['realize', 'default.ts', '--no-out-link', ...args], { storeRoot: env.root, cwd: env.dir });

function info(env: Env, p: string) {
  const s = new LocalStore(env.root);
  try {
    return s.pathInfo(p);
  } finally {
    s.close();
  }
}

const TARBALL = Buffer.from('pretend this is a tarball\n\u0000\u0001\u0002 with binary bytes\n', 'latin1');
const SCRIPT = '#!/bin/sh\necho hi\n';

const EXPR = (base: string) => `import { derivation, fetchurl } from 'hepstore';
export const tarball = fetchurl({ url: '${base}/files/pkg-1.0.tar.gz', integrity: '${sri(TARBALL)}' });
export const moved = fetchurl({ url: '${base}/moved/pkg-1.0.tar.gz', integrity: '${sri(TARBALL)}' });
export const script = fetchurl({ url: '${base}/files/tool.sh', integrity: '${hashPathSync(writeExec(SCRIPT)).narHash}', executable: true });
export const missing = fetchurl({ url: '${base}/files/not-there-1.0.tar.gz', integrity: '${sri('whatever')}' });
export const user = derivation({ name: 'user', builder: '/bin/sh', args: ['-c', \`IFS= read -r first < \${tarball}; echo "$first" > $out\`] });
`;

function writeExec(content: string): string {
  const p = path.join(tmpDir('fetchurl-exec'), 'tool.sh');
  fs.writeFileSync(p, content, { mode: 0o755 });
  return p;
}

test('fetchurl downloads from an HTTP server, verifies the hash, and registers a content-addressed path', async () => {
  const server = await serve({ 'pkg-1.0.tar.gz': TARBALL, 'tool.sh': SCRIPT });
  try {
    const env = setup({ 'default.ts': EXPR(server.base) });
    const r = await realize(env, ['-A', 'tarball']);
    assert.is(r.status, 0, r.stderr);
    const out = r.stdout.trim();
    assert.match(out, /-pkg-1\.0\.tar\.gz$/);
    assert.equal(fs.readFileSync(out), TARBALL);
    assert.is(fs.statSync(out).mode & 0o777, 0o444);
    assert.equal(server.requests, ['/files/pkg-1.0.tar.gz']);
    const i = info(env, out);
    assert.is(i.ca, `flat:${sri(TARBALL)}`);
    assert.equal(i.references, []);
    // Built once: a second realize does not fetch again.
    const again = await realize(env, ['-A', 'tarball']);
    assert.is(again.status, 0, again.stderr);
    assert.is(again.stdout.trim(), out);
    assert.is(server.requests.length, 1);
    // Another URL with the same content is the same store path, already valid: not fetched either.
    const moved = await realize(env, ['-A', 'moved']);
    assert.is(moved.status, 0, moved.stderr);
    assert.is(moved.stdout.trim(), out);
    assert.is(server.requests.length, 1);
    // A user of the file reads it in its build.
    const user = await realize(env, ['-A', 'user']);
    assert.is(user.status, 0, user.stderr);
    assert.is(fs.readFileSync(user.stdout.trim(), 'utf8'), 'pretend this is a tarball\n');
  } finally {
    await server.close();
  }
});

test('fetchurl follows redirects', async () => {
  const server = await serve({ 'pkg-1.0.tar.gz': TARBALL });
  try {
    const env = setup({ 'default.ts': EXPR(server.base) });
    const r = await realize(env, ['-A', 'moved']);
    assert.is(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(r.stdout.trim()), TARBALL);
    assert.equal(server.requests, ['/moved/pkg-1.0.tar.gz', '/files/pkg-1.0.tar.gz']);
  } finally {
    await server.close();
  }
});

test('an executable fetch is hashed as an archive, and has the path `store add` gives the same file', async () => {
  const server = await serve({ 'tool.sh': SCRIPT });
  try {
    const env = setup({ 'default.ts': EXPR(server.base) });
    const r = await realize(env, ['-A', 'script']);
    assert.is(r.status, 0, r.stderr);
    const out = r.stdout.trim();
    assert.is(fs.readFileSync(out, 'utf8'), SCRIPT);
    assert.is(fs.statSync(out).mode & 0o777, 0o555);
    const local = writeExec(SCRIPT);
    const nar = hashPathSync(local);
    assert.is(out, makeStorePath('source', nar.digest.toString('hex'), path.join(env.root, 'store'), 'tool.sh'));
    assert.is(info(env, out).ca, `nar:${nar.narHash}`);
  } finally {
    await server.close();
  }
});

test('a 404 is a build failure that names the URL', async () => {
  const server = await serve({});
  try {
    const env = setup({ 'default.ts': EXPR(server.base) });
    const r = await realize(env, ['-A', 'missing']);
    assert.is(r.status, 100, r.stderr);
    assert.ok(r.stderr.includes(`${server.base}/files/not-there-1.0.tar.gz`), r.stderr);
    assert.match(r.stderr, /404/);
    assert.match(r.stderr, /default\.ts:5/);
    const s = new LocalStore(env.root);
    try {
      assert.equal(s.allValidPaths().filter((p) => !p.endsWith('.drv')), []);
    } finally {
      s.close();
    }
    assert.equal(fs.readdirSync(path.join(env.root, 'store')).filter((f) => !f.endsWith('.drv')), [], 'no partial download left');
  } finally {
    await server.close();
  }
});

test('wrong content from the server is a hash mismatch (102), nothing registered', async () => {
  const server = await serve({ 'pkg-1.0.tar.gz': Buffer.concat([TARBALL, Buffer.from('tampered')]) });
  try {
    const env = setup({ 'default.ts': EXPR(server.base) });
    const r = await realize(env, ['-A', 'tarball']);
    assert.is(r.status, 102, r.stderr);
    assert.ok(r.stderr.includes(`wanted: ${sri(TARBALL)}`), r.stderr);
    assert.ok(r.stderr.includes(`got:    ${sri(Buffer.concat([TARBALL, Buffer.from('tampered')]))}`), r.stderr);
    assert.equal(fs.readdirSync(path.join(env.root, 'store')).filter((f) => !f.endsWith('.drv')), []);
  } finally {
    await server.close();
  }
});

test('fetchurl from file://, verified the same way', async () => {
  const data = tmpDir('fetchurl-file');
  fs.writeFileSync(path.join(data, 'local data.txt'), 'local bytes\n');
  const url = new URL(`file://${data}/local%20data.txt`).href;
  const env = setup({
    'default.ts': `import { fetchurl } from 'hepstore';
export const good = fetchurl({ url: '${url}', integrity: '${sri('local bytes\n')}' });
export const bad = fetchurl({ url: '${url}', name: 'bad', integrity: '${sri('other bytes\n')}' });
export const gone = fetchurl({ url: '${url}.gone', integrity: '${sri('local bytes\n')}' });
`,
  });
  const r = await realize(env, ['-A', 'good']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /-local_data\.txt$/);
  assert.is(fs.readFileSync(r.stdout.trim(), 'utf8'), 'local bytes\n');
  const bad = await realize(env, ['-A', 'bad']);
  assert.is(bad.status, 102, bad.stderr);
  const gone = await realize(env, ['-A', 'gone']);
  assert.is(gone.status, 100, gone.stderr);
  assert.ok(gone.stderr.includes(`${url}.gone`), gone.stderr);
});

test('fetchurl refuses what it cannot fetch at evaluation time', async () => {
  const cases: Array<[string, RegExp]> = [
    [`url: 'ftp://example.org/x.tar.gz', integrity: '${sri('x')}'`, /unsupported URL scheme 'ftp:'/],
    [`url: 'https://example.org/x.tar.gz', integrity: ''`, /needs an integrity hash/],
    [`url: 'x.tar.gz', integrity: '${sri('x')}'`, /is not a URL/],
    [`url: 'https://example.org/x.tar.gz', integrity: 'sha256-tooshort'`, /sha256-tooshort/],
  ];
  const env = setup({});
  for (const [args, msg] of cases) {
    fs.writeFileSync(path.join(env.dir, 'default.ts'), `import { fetchurl } from 'hepstore';\nexport default fetchurl({ ${args} });\n`);
    const r = await runCliAsync(['eval', 'default.ts'], { storeRoot: env.root, cwd: env.dir });
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, msg);
    assert.match(r.stderr, /default\.ts:2/);
  }
});

test.run();
