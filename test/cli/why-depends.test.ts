import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { placeWithReferences, runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { hashPartOf } from '../../src/store/path.js';

/**
 * app -> lib -> base, and app -> base directly through a symlink; app -> tools -> base too.
 * The shortest chain from app to base is the direct one.
 */
async function store() {
  const root = path.join(tmpDir('wd'), 'root');
  const s = new LocalStore(root);
  try {
    const base = await s.addToStore(writeTree(path.join(tmpDir('wd-base'), 'base-1.0'), { lib: { 'libbase.so': 'base library' } }));
    const padding = 'x'.repeat(3000);
    const lib = await placeWithReferences(s, 'lib-2.0', { lib: { 'liblib.so': Buffer.concat([Buffer.from(`${padding}\0\x01RPATH=`), Buffer.from(`${base}/lib`), Buffer.from(`\0${padding}`)]) }, share: { doc: 'no reference here' } }, [base]);
    const app = await placeWithReferences(s, 'app-3.0', { bin: { app: { exec: `#!/bin/sh\nexec ${lib.path}/bin/x "$@"\n` } }, etc: { 'base-link': { link: `${base}/lib/libbase.so` } } }, [lib.path, base]);
    const top = await placeWithReferences(s, 'top-4.0', { 'deps.txt': `uses ${app.path}\n` }, [app.path]);
    const other = await s.addToStore(writeTree(path.join(tmpDir('wd-other'), 'other'), { x: 'x' }));
    return { root, base, lib: lib.path, app: app.path, top: top.path, other };
  } finally {
    s.close();
  }
}

/** The hash of `ref` in `file` with 32 characters on each side, unprintable bytes as '.', '…' where cut. */
function around(file: string, ref: string): string {
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(hashPartOf(ref));
  const from = Math.max(0, at - 32);
  const to = Math.min(bytes.length, at + 64);
  const text = [...bytes.subarray(from, to)].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${from > 0 ? '…' : ''}${text}${to < bytes.length ? '…' : ''}`;
}

test('why-depends prints the shortest chain and the file of each hop with the text around the hash', async () => {
  const c = await store();
  const res = runCli(['why-depends', c.top, c.lib], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const lines = res.stdout.trimEnd().split('\n');
  assert.is(lines[0], c.top);
  assert.is(lines[1], `└───deps.txt: ${around(path.join(c.top, 'deps.txt'), c.app)}`);
  assert.is(lines[2], `    → ${c.app}`);
  assert.is(lines[3], `    └───bin/app: ${around(path.join(c.app, 'bin', 'app'), c.lib)}`);
  assert.is(lines[4], `        → ${c.lib}`);
  assert.is(lines.length, 5);
});

test('why-depends takes the shortest chain, finds symlink targets and references inside binary files', async () => {
  const c = await store();
  const direct = runCli(['why-depends', c.app, c.base], { storeRoot: c.root });
  assert.is(direct.status, 0, direct.stderr);
  const lines = direct.stdout.trimEnd().split('\n');
  assert.is(lines.length, 3, direct.stdout);
  assert.is(lines[1], `└───etc/base-link -> ${c.base}/lib/libbase.so`);
  const viaLib = runCli(['why-depends', '--json', c.lib, c.base], { storeRoot: c.root });
  assert.is(viaLib.status, 0, viaLib.stderr);
  const hops = JSON.parse(viaLib.stdout) as Array<{ path: string; hits: Array<{ file: string; in: string; offset?: number; excerpt: string }> }>;
  assert.equal(hops.map((h) => h.path), [c.lib, c.base]);
  assert.is(hops[0].hits.length, 1);
  const hit = hops[0].hits[0];
  assert.is(hit.file, 'lib/liblib.so');
  assert.is(hit.in, 'contents');
  const bytes = fs.readFileSync(path.join(c.lib, 'lib', 'liblib.so'));
  assert.is(hit.offset, bytes.indexOf(hashPartOf(c.base)));
  // Unprintable bytes become '.', and the excerpt is cut on both sides.
  assert.ok(hit.excerpt.startsWith('…'), hit.excerpt);
  assert.ok(hit.excerpt.endsWith('…'), hit.excerpt);
  assert.ok(hit.excerpt.includes(`${hashPartOf(c.base)}-base-1.0/lib.xxx`), hit.excerpt);
  assert.is(hit.excerpt, around(path.join(c.lib, 'lib', 'liblib.so'), c.base));
  assert.equal(hops[1].hits, []);
});

test('why-depends: a path not in the closure, and bad arguments, are one-line errors', async () => {
  const c = await store();
  const none = runCli(['why-depends', c.lib, c.other], { storeRoot: c.root });
  assert.is(none.status, 1);
  assert.match(none.stderr, `error: '${c.lib}' does not depend on '${c.other}'`);
  const missing = runCli(['why-depends', c.lib, path.join(tmpDir('wd-x'), 'nothing')], { storeRoot: c.root });
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /^error: '.*nothing' does not exist\n/);
  const invalid = runCli(['why-depends', c.lib, `${path.dirname(c.lib)}/${'0'.repeat(32)}-gone`], { storeRoot: c.root });
  assert.is(invalid.status, 1);
  assert.match(invalid.stderr, /is not valid in the store/);
  const one = runCli(['why-depends', c.lib], { storeRoot: c.root });
  assert.is(one.status, 1);
  assert.match(one.stderr, /takes two paths/);
});

test.run();
