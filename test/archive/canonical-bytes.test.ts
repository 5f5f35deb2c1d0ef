/**
 * Invariant 8: restore accepts exactly the bytes `store dump` writes. Each variant below is a
 * valid tar archive that a tar reader takes for the same tree, but not byte for byte what the
 * dumper writes; every one is refused with a message naming the entry and what was wrong.
 * Valid archives restore to trees that dump again to the very same bytes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { collect, exists, pseudoRandomBytes, rejectsStoreError, tmpDir, writeTree } from '../helpers.js';
import { packPath } from '../../src/archive/dump.js';
import { hashPathSync } from '../../src/archive/hash-sync.js';
import { restoreArchive, restoreArchiveFromFile } from '../../src/archive/restore.js';
import { canonicalHeaderBytes } from '../../src/archive/canonical.js';

const BLOCK = 512;

/** Restore `bytes` from a stream and from a file; both must succeed with the same narHash. */
async function restoreBoth(bytes: Buffer): Promise<string> {
  const base = tmpDir('canon-ok');
  const dest = path.join(base, 'stream');
  const viaStream = await restoreArchive(Readable.from([bytes]), dest);
  const file = path.join(base, 'archive');
  fs.writeFileSync(file, bytes);
  const viaFile = restoreArchiveFromFile(file, 0, bytes.length, path.join(base, 'file'));
  assert.is(viaFile.narHash, viaStream.narHash);
  return dest;
}

/** Must be refused, naming `entry`, with a reason matching `why`; nothing is left behind. */
async function refused(bytes: Buffer, entry: string, why: RegExp): Promise<string> {
  const base = tmpDir('canon-bad');
  const dest = path.join(base, 'dest');
  // In pieces of odd sizes too, so that checks spanning pieces are exercised.
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 777) pieces.push(bytes.subarray(i, i + 777));
  for (const input of [[bytes], pieces]) {
    const err = await rejectsStoreError(restoreArchive(Readable.from(input), dest), 'HOSTILE_ARCHIVE');
    assert.ok(err.message.includes(`'${entry}'`), `the message names '${entry}': ${err.message}`);
    assert.match(err.message, why);
    assert.not.ok(exists(dest));
  }
  const file = path.join(base, 'archive');
  fs.writeFileSync(file, bytes);
  const err = (() => {
    try {
      restoreArchiveFromFile(file, 0, bytes.length, dest);
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  assert.ok(err && err.message.includes(`'${entry}'`), `from a file too: ${err?.message}`);
  assert.not.ok(exists(dest));
  return err!.message;
}

/** Put the checksum a tar reader accepts into the header at `at`, written as the dumper does. */
function fixChecksum(buf: Buffer, at: number, format = (sum: number) => sum.toString(8).padStart(6, '0') + ' \0'): void {
  buf.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[at + i];
  buf.write(format(sum), at + 148, 'latin1');
}

/** A copy of `bytes` with `field` of the header at `at` overwritten, checksum fixed. */
function patched(bytes: Buffer, at: number, offset: number, value: Buffer | string): Buffer {
  const b = Buffer.from(bytes);
  (typeof value === 'string' ? Buffer.from(value, 'latin1') : value).copy(b, at + offset);
  fixChecksum(b, at);
  return b;
}

async function dumped(spec: Parameters<typeof writeTree>[1]): Promise<{ src: string; bytes: Buffer }> {
  const src = writeTree(path.join(tmpDir('canon-src'), 'tree'), spec);
  return { src, bytes: await collect(packPath(src)) };
}

/** Offsets of every ustar header in a canonical archive (pax headers' own blocks included), with their names. */
function headerOffsets(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + BLOCK <= bytes.length - 1024; ) {
    out.push(at);
    const size = parseInt(bytes.toString('latin1', at + 124, at + 135), 8);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

test('the dumper writes canonicalHeaderBytes for every entry, pax headers included', async () => {
  const { bytes } = await dumped({ ['ü'.repeat(60)]: 'x', ['l'.repeat(120)]: { link: 't'.repeat(150) }, ['d'.repeat(90)]: { ['e'.repeat(90)]: 'y' } });
  const wants = [
    canonicalHeaderBytes(`./${'ü'.repeat(60)}`, 'file', 1, false),
    canonicalHeaderBytes(`./${'l'.repeat(120)}`, 'symlink', 0, false, 't'.repeat(150)),
    canonicalHeaderBytes(`./${'d'.repeat(90)}/${'e'.repeat(90)}`, 'file', 1, false),
  ];
  assert.equal(wants.map((w) => w.length > BLOCK), [true, true, false]);
  for (const want of wants) assert.ok(bytes.indexOf(want) > 0, 'the canonical header bytes appear in the dump');
});

test('valid archives restore to trees that dump again to exactly the same bytes', async () => {
  const specs: Array<Parameters<typeof writeTree>[1]> = [
    { a: '' },
    { a: 'x', b: 'y'.repeat(511), c: 'z'.repeat(512), d: 'w'.repeat(513), run: { exec: '#!/bin/sh\n' } },
    { lib: { 'big.so': pseudoRandomBytes(300_000, 'big'), 'lib.a': pseudoRandomBytes(1025, 'a') }, link: { link: 'lib/big.so' }, dangling: { link: '/nowhere/at/all' } },
    // Names that need the ustar prefix field, and names and targets that need a pax header.
    { ['d'.repeat(99)]: { ['e'.repeat(99)]: 'deep' }, ['n'.repeat(150)]: 'long', ['é'.repeat(30)]: 'utf8', ['ü'.repeat(60)]: 'pax', t: { link: 'x'.repeat(101) }, u: { link: 'ü' } },
    { 'a-b': '', a: { b: { c: { d: 'nested' } } }, 'a.b': '', 'Z': '', '\u{1F600}': 'astral', '\uE000': 'private use' },
  ];
  for (const spec of specs) {
    const { src, bytes } = await dumped(spec);
    const dest = await restoreBoth(bytes);
    const again = await collect(packPath(dest));
    assert.ok(again.equals(bytes), `re-dumping ${Object.keys(spec).join(',')} gives the same bytes`);
    assert.is(hashPathSync(dest).narHash, hashPathSync(src).narHash);
  }
  // A single file and a single symlink as the root.
  const base = tmpDir('canon-root');
  fs.writeFileSync(path.join(base, 'f'), 'file at the root');
  fs.symlinkSync('target', path.join(base, 'l'));
  for (const root of ['f', 'l']) {
    const bytes = await collect(packPath(path.join(base, root)));
    const dest = await restoreBoth(bytes);
    assert.ok((await collect(packPath(dest))).equals(bytes));
  }
});

test('non-zero padding after file data is refused', async () => {
  const { bytes } = await dumped({ a: 'x' });
  const b = Buffer.from(bytes);
  b[2 * BLOCK + 1 + 10] = 0x41; // './a' has its header at 512, one byte of data at 1024
  await refused(b, './a', /padding/);
  // The last byte of the padding.
  const c = Buffer.from(bytes);
  c[3 * BLOCK - 1] = 1;
  await refused(c, './a', /padding/);
});

test('garbage in a header (its padding, after the NUL of a name or link name, owner fields) is refused', async () => {
  const { bytes } = await dumped({ a: 'x', l: { link: 'a' } });
  const [, a, l] = headerOffsets(bytes);
  await refused(patched(bytes, a, 500, 'junk'), './a', /padding field/);
  await refused(patched(bytes, a, 10, 'junk'), './a', /name field/);
  await refused(patched(bytes, l, 157 + 5, 'junk'), './l', /link name field/);
  await refused(patched(bytes, a, 265 + 3, 'x'), './a', /owner name field/);
  await refused(patched(bytes, a, 297 + 3, 'x'), './a', /group name field/);
  await refused(patched(bytes, 0, 200, '\x01'), '.', /link name field/);
});

test('other number formats for mode, size, mtime, ids, device numbers and the checksum are refused', async () => {
  const { bytes } = await dumped({ a: 'x' });
  const a = headerOffsets(bytes)[1];
  // Mode 0444 with NULs instead of a space, and with leading spaces.
  await refused(patched(bytes, a, 100, '0000444\0'), './a', /mode field/);
  await refused(patched(bytes, a, 100, '   444 \0'), './a', /mode field/);
  // Size 1 in base-256, and in octal without the trailing space.
  const size256 = Buffer.alloc(12);
  size256[0] = 0x80;
  size256[11] = 1;
  await refused(patched(bytes, a, 124, size256), './a', /size field/);
  await refused(patched(bytes, a, 124, '000000000001'), './a', /size field/);
  await refused(patched(bytes, a, 136, '0000000000\0\0'), './a', /mtime field/);
  await refused(patched(bytes, a, 108, '0000000\0'), './a', /uid field/);
  await refused(patched(bytes, a, 329, '       \0'), './a', /device major field/);
  // The same checksum written with a NUL before the space, with 7 digits, or with spaces in front.
  for (const format of [(s: number) => s.toString(8).padStart(6, '0') + '\0 ', (s: number) => s.toString(8).padStart(7, '0') + '\0', (s: number) => s.toString(8).padStart(6, ' ') + ' \0']) {
    const b = Buffer.from(bytes);
    fixChecksum(b, a, format);
    await refused(b, './a', /checksum field/);
  }
});

test('GNU magic, a name moved into the ustar prefix field, and a pax header the dumper would not write are refused', async () => {
  const { bytes } = await dumped({ a: 'x' });
  const a = headerOffsets(bytes)[1];
  await refused(patched(bytes, a, 257, 'ustar  \0'), './a', /magic field/);
  // './a' as prefix '.' and name 'a'.
  const moved = Buffer.from(bytes);
  moved.fill(0, a, a + 100);
  moved.write('a', a, 'latin1');
  moved.write('.', a + 345, 'latin1');
  fixChecksum(moved, a);
  await refused(moved, './a', /name field/);
  // A long name split into the prefix field at another slash than the dumper's.
  const deep = await dumped({ ['d'.repeat(40)]: { ['e'.repeat(40)]: { ['f'.repeat(40)]: 'x' } } });
  const at = headerOffsets(deep.bytes)[3];
  const name = `./${'d'.repeat(40)}/${'e'.repeat(40)}/${'f'.repeat(40)}`;
  const resplit = Buffer.from(deep.bytes);
  resplit.fill(0, at, at + 100);
  resplit.fill(0, at + 345, at + 500);
  const cut = name.lastIndexOf('/');
  resplit.write(name.slice(cut + 1), at, 'latin1');
  resplit.write(name.slice(0, cut), at + 345, 'latin1');
  fixChecksum(resplit, at);
  await refused(resplit, name, /name/);
});

test('a pax header for a name that fits ustar, garbage in pax padding, and non-canonical pax records are refused', async () => {
  const tar = (await import('tar-stream')).default;
  const hdr = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
  const pack = tar.pack();
  pack.entry({ ...hdr, name: '.', type: 'directory', mode: 0o555 });
  pack.entry({ ...hdr, name: './a', type: 'file', mode: 0o444, pax: { path: './a' } }, 'x');
  pack.finalize();
  await refused(await collect(pack), './a', /extended header/);
  // A name that needs a pax header: garbage after its records, then records spelled otherwise.
  const { bytes } = await dumped({ ['ü'.repeat(60)]: 'x' });
  const name = `./${'ü'.repeat(60)}`;
  const paxAt = headerOffsets(bytes)[1];
  const paxLen = parseInt(bytes.toString('latin1', paxAt + 124, paxAt + 135), 8);
  const g = Buffer.from(bytes);
  g[paxAt + BLOCK + paxLen + 3] = 0x7a;
  await refused(g, name, /padding/);
  // The record ended by another byte than a newline (tar-stream's decoder does not look at it).
  const r = Buffer.from(bytes);
  assert.is(r[paxAt + BLOCK + paxLen - 1], 0x0a);
  r[paxAt + BLOCK + paxLen - 1] = 0x20;
  await refused(r, name, /extended header records/);
});

test('names that are not valid UTF-8 or hold U+FFFD are refused, and so are such link targets', async () => {
  const { bytes } = await dumped({ ab: 'x', l: { link: 'ab' } });
  const [, ab, l] = headerOffsets(bytes);
  // './a\xff': tar-stream decodes it as './a\uFFFD'.
  await refused(patched(bytes, ab, 3, Buffer.from([0xff])), './a\uFFFD', /not valid UTF-8/);
  // A lone continuation byte, an overlong encoding.
  await refused(patched(bytes, ab, 3, Buffer.from([0x80])), './a\uFFFD', /not valid UTF-8/);
  // A valid encoding of U+FFFD itself (the dumper refuses such names, so no canonical archive holds one).
  const fffd = await dumped({ a: 'x' });
  const at = headerOffsets(fffd.bytes)[1];
  const withFffd = Buffer.from(fffd.bytes);
  Buffer.from('./\uFFFD').copy(withFffd, at);
  fixChecksum(withFffd, at);
  await refused(withFffd, './\uFFFD', /not valid UTF-8/);
  await refused(patched(bytes, l, 157, Buffer.from([0x61, 0xc0, 0xaf])), './l', /link target is not valid UTF-8/);
});

test('garbage in a zero block (the end-of-archive marker, or between entries) is refused', async () => {
  const { bytes } = await dumped({ a: 'x' });
  // Bytes only in the checksum field of the marker: the decoder alone would take it for zeros.
  const m = Buffer.from(bytes);
  m.write('1', bytes.length - 1024 + 150, 'latin1');
  await refused(m, './a', /neither a header nor zeros|truncated/);
  const m2 = Buffer.from(bytes);
  m2[bytes.length - 1] = 1;
  await refused(m2, './a', /neither a header nor zeros|truncated/);
});

test('store dump refuses a symlink whose target is not valid UTF-8 (it could not be restored as it is)', async () => {
  const base = tmpDir('bad-target');
  fs.mkdirSync(path.join(base, 'tree'));
  fs.symlinkSync(Buffer.from([0x61, 0xff]) as unknown as string, Buffer.from(path.join(base, 'tree', 'l')) as unknown as string);
  let thrown: Error | undefined;
  try {
    await collect(packPath(path.join(base, 'tree')));
  } catch (e) {
    thrown = e as Error;
  }
  assert.match(String(thrown?.message), /symlink target is not valid UTF-8/);
});

test.run();
