import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import tar from 'tar-stream';
import { collect, exists, runCli, tmpDir, writeTree } from '../helpers.js';
import { hashPath, packPath } from '../../src/archive/dump.js';

async function hostileTar(outside: string): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack);
  const h = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
  pack.entry({ ...h, name: '.', type: 'directory', mode: 0o555 });
  pack.entry({ ...h, name: './a', type: 'file', mode: 0o444 }, 'fine');
  pack.entry({ ...h, name: './l', type: 'symlink', mode: 0o777, linkname: outside });
  pack.entry({ ...h, name: './l/evil', type: 'file', mode: 0o444 }, 'pwned');
  pack.finalize();
  return done;
}

test('`store restore DIR` of a hostile archive exits non-zero, names the entry, leaves no DIR', async () => {
  const base = tmpDir('cli-restore');
  const outside = path.join(tmpDir('cli-restore-outside'), 'x');
  const dir = path.join(base, 'out');
  const res = runCli(['restore', dir], { input: await hostileTar(outside), storeRoot: path.join(base, 'root') });
  assert.is.not(res.status, 0);
  assert.ok(res.stderr.includes("'./l/evil'"), res.stderr);
  assert.match(res.stderr, /^error: /);
  assert.is(res.stdout, '');
  assert.not.ok(exists(dir));
  assert.not.ok(exists(outside));
  assert.not.ok(exists(path.join(base, 'root')), 'restore does not open a store');
});

test('`store restore DIR` of garbage or a truncated archive exits non-zero and leaves no DIR', async () => {
  const base = tmpDir('cli-restore-bad');
  const src = writeTree(path.join(base, 'src'), { f: 'y'.repeat(2000), g: 'g' });
  const good = await collect(packPath(src));
  const inputs: Record<string, Buffer> = {
    garbage: Buffer.from('garbage '.repeat(300)),
    truncated: good.subarray(0, 1024 + 600),
    'no end marker': good.subarray(0, good.length - 1024),
  };
  for (const [what, input] of Object.entries(inputs)) {
    const dir = path.join(base, what.replace(/ /g, '-'));
    const res = runCli(['restore', dir], { input });
    assert.is.not(res.status, 0, what);
    assert.match(res.stderr, /error: archive/, `${what}: ${res.stderr}`);
    assert.not.ok(exists(dir), what);
  }
});

test('`store dump | store restore` round-trips and prints the narHash', async () => {
  const base = tmpDir('cli-roundtrip');
  const src = writeTree(path.join(base, 'src'), { bin: { x: { exec: 'x' } }, l: { link: 'bin/x' }, e: {} });
  const bytes = await collect(packPath(src));
  const dir = path.join(base, 'out');
  const res = runCli(['restore', dir], { input: bytes });
  assert.is(res.status, 0, res.stderr);
  const nar = await hashPath(src);
  assert.is(res.stdout.trim(), nar.narHash);
  assert.is((await hashPath(dir)).narHash, nar.narHash);
  assert.is(fs.readlinkSync(path.join(dir, 'l')), 'bin/x');
  // Restoring onto an existing directory is refused and leaves it alone.
  const again = runCli(['restore', dir], { input: bytes });
  assert.is(again.status, 1);
  assert.match(again.stderr, /already exists/);
  assert.is((await hashPath(dir)).narHash, nar.narHash);
});

test.run();
