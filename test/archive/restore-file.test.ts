/**
 * Restoring archives that are byte ranges of a file (the archives of a bundle): in this thread
 * (restoreArchiveFromFile) and on several threads (restoreRanges), with the same checks as
 * restoreArchive, and a failure that names its archive and leaves nothing at its destination.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { collect, exists, expectStoreError, pseudoRandomBytes, tmpDir, walk, writeTree } from '../helpers.js';
import { hashPath, packPath } from '../../src/archive/dump.js';
import { restoreArchive, restoreArchiveFromFile } from '../../src/archive/restore.js';
import { restoreRanges } from '../../src/archive/restore-pool.js';
import { StoreError } from '../../src/errors.js';

/** A tree with files of several sizes (one over the read piece), a symlink, an executable and a long name. */
function tree(dir: string, seed: string): string {
  return writeTree(dir, {
    bin: { run: { exec: `#!/bin/sh\necho ${seed}\n` } },
    lib: { 'big.so': pseudoRandomBytes(700_000 + seed.length, seed), 'small.a': pseudoRandomBytes(513, seed) },
    share: { ['d'.repeat(120)]: { ['x'.repeat(90)]: seed } },
    empty: '',
    link: { link: 'lib/big.so' },
  });
}

/** Archives of `n` trees laid out one after another in a file, with junk around them. */
async function archiveFile(n: number): Promise<{ file: string; ranges: Array<{ start: number; length: number; narHash: string }>; sources: string[] }> {
  const base = tmpDir('ranges');
  const parts: Buffer[] = [Buffer.from('header junk\n')];
  let at = parts[0].length;
  const ranges = [];
  const sources = [];
  for (let i = 0; i < n; i++) {
    const src = tree(path.join(base, `src-${i}`), `tree-${i}`);
    sources.push(src);
    const bytes = await collect(packPath(src));
    ranges.push({ start: at, length: bytes.length, narHash: (await hashPath(src)).narHash });
    parts.push(bytes, Buffer.from('between'));
    at += bytes.length + 'between'.length;
  }
  const file = path.join(base, 'archives');
  fs.writeFileSync(file, Buffer.concat(parts));
  return { file, ranges, sources };
}

function sameTree(a: string, b: string): void {
  const la = walk(a).map((e) => ({ name: path.relative(a, e.path), mode: e.st.mode, size: e.st.size }));
  const lb = walk(b).map((e) => ({ name: path.relative(b, e.path), mode: e.st.mode, size: e.st.size }));
  assert.equal(lb, la);
}

test('an archive in the middle of a file restores to the same tree and narHash as from a stream', async () => {
  const { file, ranges, sources } = await archiveFile(2);
  const r = ranges[1];
  const dest = path.join(tmpDir('dest'), 'out');
  const got = restoreArchiveFromFile(file, r.start, r.length, dest);
  assert.is(got.narHash, r.narHash);
  assert.is(got.narSize, r.length);
  assert.is((await hashPath(dest)).narHash, r.narHash);
  const viaStream = path.join(tmpDir('dest'), 'out');
  const bytes = fs.readFileSync(file).subarray(r.start, r.start + r.length);
  // The same bytes in odd-sized pieces, through restoreArchive.
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 4099) pieces.push(bytes.subarray(i, i + 4099));
  assert.is((await restoreArchive(Readable.from(pieces), viaStream)).narHash, r.narHash);
  sameTree(dest, viaStream);
  assert.is(fs.readFileSync(path.join(dest, 'lib', 'big.so')).equals(fs.readFileSync(path.join(sources[1], 'lib', 'big.so'))), true);
});

test('a range cut short or running into the next bytes is refused, leaving nothing', () => {
  const base = tmpDir('short');
  const src = tree(path.join(base, 'src'), 'short');
  const file = path.join(base, 'a');
  return collect(packPath(src)).then((bytes) => {
    fs.writeFileSync(file, Buffer.concat([bytes, Buffer.from('trailing')]));
    const cut = path.join(base, 'cut');
    const e1 = expectStoreError(() => restoreArchiveFromFile(file, 0, bytes.length - 1024 - 100, cut), 'HOSTILE_ARCHIVE');
    assert.match(e1.message, /corrupt or truncated|truncated/);
    assert.not.ok(exists(cut));
    const long = path.join(base, 'long');
    expectStoreError(() => restoreArchiveFromFile(file, 0, bytes.length + 4, long), 'HOSTILE_ARCHIVE');
    assert.not.ok(exists(long));
    // The file ends before the range does.
    const past = path.join(base, 'past');
    expectStoreError(() => restoreArchiveFromFile(file, 0, bytes.length + 10_000, past), 'HOSTILE_ARCHIVE');
    assert.not.ok(exists(past));
    assert.equal(fs.readdirSync(base).sort(), ['a', 'src']);
  });
});

test('restoreRanges on two threads restores every archive, in order, with its narHash', async () => {
  const { file, ranges } = await archiveFile(5);
  const out = tmpDir('par');
  const done: number[] = [];
  const results = await restoreRanges(
    ranges.map((r, i) => ({ file, start: r.start, length: r.length, dest: path.join(out, `p${i}`) })),
    { threads: 2, onDone: (i) => done.push(i) },
  );
  assert.equal(results.map((r) => (r instanceof Error || r === undefined ? r : r.narHash)), ranges.map((r) => r.narHash));
  assert.equal(done.sort(), [0, 1, 2, 3, 4]);
  for (let i = 0; i < ranges.length; i++) assert.is((await hashPath(path.join(out, `p${i}`))).narHash, ranges[i].narHash);
});

test('restoreRanges: a corrupt archive fails with its own error and leaves nothing at its destination; later ones are not started', async () => {
  const { file, ranges } = await archiveFile(6);
  const bytes = fs.readFileSync(file);
  // Corrupt a header checksum in the third archive.
  bytes[ranges[2].start + 512 + 5] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const out = tmpDir('par-bad');
  for (const threads of [1, 2]) {
    const dir = path.join(out, `t${threads}`);
    fs.mkdirSync(dir);
    const results = await restoreRanges(
      ranges.map((r, i) => ({ file, start: r.start, length: r.length, dest: path.join(dir, `p${i}`) })),
      { threads },
    );
    assert.ok(results[2] instanceof StoreError, `threads ${threads}: ${results[2]}`);
    assert.is((results[2] as StoreError).code, 'HOSTILE_ARCHIVE');
    assert.not.ok(exists(path.join(dir, 'p2')));
    assert.equal([results[0], results[1]].map((r) => (r as { narHash: string }).narHash), [ranges[0].narHash, ranges[1].narHash]);
    // Nothing was started after the failure was seen, beyond what a thread already held.
    assert.is(results[5], undefined, `threads ${threads}`);
  }
});

test.run();
