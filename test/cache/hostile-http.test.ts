/**
 * Binary caches and downloads that misbehave, served by a real HTTP server on loopback: one
 * that never answers, stalls, sends endless metadata or archives, a compression bomb, or an
 * archive longer than its signed NarSize. Each time realize names the cache and what was
 * wrong on one line, then builds instead (or fails cleanly with --no-fallback); nothing is left
 * in the store, and the short timeouts of the test configuration keep each case to seconds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { removeTree } from '../../src/archive/canonical.js';
import { parseNarInfo, serialiseNarInfo } from '../../src/cache/binary/narinfo.js';
import { nix32Encode } from '../../src/hash/nix32.js';
import { runCli, runCliAsync, tmpDir } from '../helpers.js';
import { cli, ok, world as sharedWorld, writeConfig, type World } from './helpers.js';

const ENV = `import { derivation } from 'hepstore';
export const dep = derivation({ name: 'dep-1.0', builder: '/bin/sh', args: ['-c', 'echo dep-content > $out'] });
export default derivation({ name: 'embeds-3.1', builder: '/bin/sh', args: ['-c', \`echo "dep is at \${dep}" > $out\`] });
`;

/** Longest any server here keeps writing or waiting; the tests finish long before. */
const SERVER_MAX_MS = 20_000;

type Route = (rel: string, req: http.IncomingMessage, res: http.ServerResponse) => boolean;

interface Server {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** Serves `dir` read-only, except what `route` takes over. */
async function hostileServer(dir: string, route: Route): Promise<Server> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/cache\//, '');
    requests.push(`${req.method} ${rel}`);
    // A handler that never answers is let go after a while, whatever the client does.
    const t = setTimeout(() => res.destroy(), SERVER_MAX_MS);
    timers.add(t);
    res.on('close', () => (clearTimeout(t), timers.delete(t)));
    if (route(rel, req, res)) return;
    const file = path.join(dir, rel);
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/cache`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Answer 200 and write `first`, then `fill` again and again (minding backpressure) until the client goes away. */
function endless(res: http.ServerResponse, first: Buffer, fill: Buffer): void {
  const until = Date.now() + SERVER_MAX_MS;
  res.writeHead(200);
  res.write(first);
  const pump = () => {
    while (!res.destroyed && Date.now() < until) {
      if (!res.write(fill)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

const sri = (b: Buffer) => 'sha256-' + createHash('sha256').update(b).digest('base64');

interface Cache {
  dir: string;
  out: string;
  /** The narinfo file name and text of the top path, and its archive. */
  narinfoName: string;
  narinfo: string;
  archive: Buffer;
}

let w: World;
let cache: Cache;

/** Build the closure, push it (uncompressed) to a directory, and free the root for the next store. */
async function setUp(): Promise<void> {
  w = sharedWorld('hostile', ENV, 'hostile-key-1');
  const out = (await ok(w, ['realize', 'env.ts', '--no-out-link'])).trim();
  const dir = path.join(tmpDir('hostile-cache'), 'c');
  await ok(w, ['push', '--to', pathToFileURL(dir).href, out, '--key-file', w.keyFile, '--compression', 'none']);
  removeTree(w.root);
  const narinfoName = `${path.basename(out).slice(0, 32)}.narinfo`;
  const narinfo = fs.readFileSync(path.join(dir, narinfoName), 'utf8');
  const archive = fs.readFileSync(path.join(dir, /URL: (\S+)/.exec(narinfo)![1]));
  cache = { dir, out, narinfoName, narinfo, archive };
}

/** The top path's narinfo with other URL, Compression and FileHash/FileSize (none of them signed). */
function rewritten(file: Buffer, url: string, compression: string): string {
  return cache.narinfo
    .replace(/^URL: .*$/m, `URL: ${url}`)
    .replace(/^Compression: .*$/m, `Compression: ${compression}`)
    .replace(/^FileHash: .*$/m, `FileHash: ${sri(file)}`)
    .replace(/^FileSize: .*$/m, `FileSize: ${file.length}`);
}

/** The archive's first header, its size field made 8 GiB: a file whose data never ends. */
function hugeFileHeader(): Buffer {
  const h = Buffer.from(cache.archive.subarray(0, 512));
  h.write('77777777777\0', 124, 'latin1');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

/**
 * A stalled or endless transfer must end (the limits are 1 s here); without the limits these
 * commands would wait forever. The bound leaves room for a loaded machine, where one command
 * alone can take many seconds, so it says "ends", not "is fast".
 */
const BOUNDED_MS = 60_000;

function noTempFiles(): void {
  const storeDir = path.join(w.root, 'store');
  const left = fs.readdirSync(storeDir).filter((f) => f.startsWith('.tmp-'));
  assert.equal(left, [], 'no temporary files are left in the store');
}

function storeVerifies(): void {
  const v = runCli(['verify', '--check-contents'], { storeRoot: w.root });
  assert.is(v.status, 0, v.stderr);
}

/**
 * Realize with `route` in front of the cache: with --no-fallback it fails (exit 100) naming the
 * cache, and without it builds instead; each within seconds, nothing left behind.
 */
async function fallsBack(route: Route, reason: RegExp, opts: { noFallback?: boolean } = {}): Promise<Server['requests']> {
  const server = await hostileServer(cache.dir, route);
  try {
    writeConfig(w.root, { trustedPublicKeys: [w.keys.publicKey], connectTimeout: 1, stalledTimeout: 1 });
    const args = ['realize', 'env.ts', '--no-out-link', '--substituters', server.url];
    if (opts.noFallback) {
      const t0 = Date.now();
      const nf = await cli(w, [...args, '--no-fallback']);
      assert.is(nf.status, 100, nf.stderr);
      assert.match(nf.stderr, reason, nf.stderr);
      assert.ok(nf.stderr.includes(server.url), nf.stderr);
      assert.not.match(nf.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(Date.now() - t0 < BOUNDED_MS, `--no-fallback took ${Date.now() - t0} ms`);
      noTempFiles();
    }
    const t0 = Date.now();
    const r = await cli(w, args);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim(), cache.out);
    assert.match(r.stderr, reason, r.stderr);
    assert.ok(r.stderr.includes(server.url), r.stderr);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(Date.now() - t0 < BOUNDED_MS, `realize took ${Date.now() - t0} ms`);
    noTempFiles();
    storeVerifies();
    return server.requests;
  } finally {
    await server.close();
    removeTree(w.root);
  }
}

test('set up: a closure pushed to a cache directory', async () => {
  await setUp();
  assert.ok(cache.archive.length > 0);
});

test('(a) a cache that accepts and never answers: not used, after the stall timeout', async () => {
  await fallsBack(() => true, /GET hepstore-cache-info: no response within 1 s \(stalledTimeout\) \(not using this cache\)/, { noFallback: true });
});

test('(b) an archive whose body stalls after the headers', async () => {
  const requests = await fallsBack((rel, _req, res) => {
    if (!rel.startsWith('nar/')) return false;
    res.writeHead(200, { 'content-length': cache.archive.length });
    res.write(cache.archive.subarray(0, 1024));
    return true;
  }, new RegExp(`could not substitute ${cache.out}: downloading it from \\S+ failed: the response stalled: no data for 1 s \\(stalledTimeout\\); building it instead`));
  assert.ok(requests.some((r) => r.startsWith('GET nar/')));
});

test('(c) an endless narinfo is cut at the metadata limit', async () => {
  const line = Buffer.from('References: ' + 'x'.repeat(4096));
  await fallsBack(
    (rel, _req, res) => rel === cache.narinfoName && (endless(res, Buffer.from(`StorePath: ${cache.out}\n`), line), true),
    new RegExp(`${cache.out}: binary cache \\S+: GET ${cache.narinfoName}: ${cache.narinfoName} is larger than the limit of 1048576 bytes`),
    { noFallback: true },
  );
});

test('(d) an endless cache-info is cut at the metadata limit: the cache is not used', async () => {
  await fallsBack(
    (rel, _req, res) => rel === 'hepstore-cache-info' && (endless(res, Buffer.from('StoreDir: /x\n'), Buffer.alloc(65536, 'Priority: 40\n')), true),
    /GET hepstore-cache-info: hepstore-cache-info is larger than the limit of 1048576 bytes \(not using this cache\)/,
  );
});

test('(e) an endless archive behind a correctly signed narinfo is cut one byte past its FileSize', async () => {
  await fallsBack(
    (rel, _req, res) => rel.startsWith('nar/') && (endless(res, hugeFileHeader(), Buffer.alloc(1 << 16, 'A')), true),
    new RegExp(`downloading it from \\S+ failed: \\S+/nar/\\S+ is larger than its narinfo's FileSize of ${cache.archive.length} bytes`),
    { noFallback: true },
  );
});

test('(f) a compression bomb stops one byte past the signed NarSize', async () => {
  // A thousand to one: small enough to pass as a compressed archive of NarSize bytes.
  const bomb = zlib.gzipSync(Buffer.concat([hugeFileHeader(), Buffer.alloc(4 << 20)]), { level: 9 });
  assert.ok(bomb.length < 6000, `${bomb.length}`);
  const name = `nar/${nix32Encode(createHash('sha256').update(bomb).digest())}.tar.gz`;
  const narSize = Number(/NarSize: (\d+)/.exec(cache.narinfo)![1]);
  await fallsBack((rel, _req, res) => {
    if (rel === cache.narinfoName) res.end(rewritten(bomb, name, 'gzip'));
    else if (rel === name) res.end(bomb);
    else return false;
    return true;
  }, new RegExp(`downloading it from \\S+ failed: \\S+/${name} is larger than its narinfo's signed NarSize of ${narSize} bytes; building it instead`));
});

test('(g) an archive longer than its signed NarSize, otherwise right (FileHash and FileSize match)', async () => {
  const longer = zlib.gzipSync(Buffer.concat([cache.archive, Buffer.alloc(4096)]));
  const name = `nar/${nix32Encode(createHash('sha256').update(longer).digest())}.tar.gz`;
  await fallsBack((rel, _req, res) => {
    if (rel === cache.narinfoName) res.end(rewritten(longer, name, 'gzip'));
    else if (rel === name) res.end(longer);
    else return false;
    return true;
  }, /is larger than its narinfo's signed NarSize of \d+ bytes; building it instead/);
});

test('a FileSize beyond what a NarSize can compress to is refused before downloading', async () => {
  const requests = await fallsBack(
    (rel, _req, res) => rel === cache.narinfoName && (res.end(cache.narinfo.replace(/^FileSize: .*$/m, 'FileSize: 999999999999')), true),
    /gives FileSize 999999999999, more than a none archive of NarSize \d+ can be/,
  );
  assert.not.ok(requests.includes(`GET ${/URL: (\S+)/.exec(cache.narinfo)![1]}`));
});

test('push to a cache that never answers fails within seconds, naming the cache', async () => {
  const server = await hostileServer(cache.dir, () => true);
  try {
    writeConfig(w.root, { connectTimeout: 1, stalledTimeout: 1 });
    const out = (await ok(w, ['realize', 'env.ts', '--no-out-link'])).trim();
    const t0 = Date.now();
    const r = await cli(w, ['push', '--to', server.url, out]);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, /^error: binary cache \S+: GET hepstore-cache-info: no response within 1 s \(stalledTimeout\)\n/);
    assert.ok(Date.now() - t0 < BOUNDED_MS, `took ${Date.now() - t0} ms`);
  } finally {
    await server.close();
    removeTree(w.root);
  }
});

test('builtin:fetchurl from a server that stalls fails the fetch after the stall timeout', async () => {
  const server = await hostileServer(cache.dir, (_rel, _req, res) => {
    res.writeHead(200, { 'content-length': 100 });
    res.write('partial');
    return true;
  });
  const dir = tmpDir('hostile-fetch');
  fs.writeFileSync(
    path.join(dir, 'default.ts'),
    `import { fetchurl } from 'hepstore';\nexport default fetchurl({ url: '${server.url}/src-1.0.tar.gz', integrity: '${sri(Buffer.from('whatever'))}' });\n`,
  );
  const root = path.join(tmpDir('hostile-fetch-store'), 'root');
  writeConfig(root, { connectTimeout: 1, stalledTimeout: 1 });
  try {
    const t0 = Date.now();
    const r = await runCliAsync(['realize', 'default.ts', '--no-out-link'], { storeRoot: root, cwd: dir });
    assert.is(r.status, 100, r.stderr);
    assert.match(r.stderr, /the response stalled: no data for 1 s \(stalledTimeout\)/);
    assert.ok(Date.now() - t0 < BOUNDED_MS, `took ${Date.now() - t0} ms`);
  } finally {
    await server.close();
  }
});

test('narinfo values with control characters are refused when parsed and when written', () => {
  const info = parseNarInfo(cache.narinfo, path.dirname(cache.out), 'test.narinfo');
  assert.throws(() => serialiseNarInfo({ ...info, sigs: [...info.sigs, `k:x\nStorePath: ${cache.out}`] }), /Sig 'k:x\\nStorePath: .*' holds a control character/);
  assert.throws(() => serialiseNarInfo({ ...info, ca: 'fixed:r:sha256:x\rY' }), /CA .* holds a control character/);
  assert.throws(() => serialiseNarInfo({ ...info, deriver: `${cache.out}\n` }), /Deriver .* holds a control character/);
  assert.throws(() => parseNarInfo(cache.narinfo.replace('\nNarHash', '\r\nNarHash'), path.dirname(cache.out), 'test.narinfo'), /test\.narinfo is malformed: .* control character/);
  assert.throws(() => parseNarInfo(cache.narinfo + 'CA: a\u0000b\n', path.dirname(cache.out), 'test.narinfo'), /control character/);
});

test.run();
