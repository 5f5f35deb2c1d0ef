import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { collect, exists, rejectsStoreError, tmpDir, writeTree } from '../helpers.js';
import { packPath } from '../../src/archive/dump.js';
import { restoreArchive } from '../../src/archive/restore.js';

type Type = 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo' | 'contiguous-file';

interface Spec {
  name: string;
  type?: Type;
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  mtime?: Date;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

const DEFAULT_MODE: Record<string, number> = { file: 0o444, directory: 0o555, symlink: 0o777 };

/** Write an archive entry by entry with tar-stream's packer, canonical unless the spec says otherwise. */
async function craft(specs: Spec[]): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack);
  for (const s of specs) {
    const type = s.type ?? (s.body !== undefined ? 'file' : 'directory');
    const header = {
      name: s.name,
      type,
      mode: s.mode ?? DEFAULT_MODE[type] ?? 0o444,
      mtime: s.mtime ?? new Date(0),
      uid: s.uid ?? 0,
      gid: s.gid ?? 0,
      uname: s.uname ?? '',
      gname: s.gname ?? '',
      linkname: s.linkname,
      devmajor: s.devmajor,
      devminor: s.devminor,
      pax: s.pax,
    };
    if (s.body !== undefined) pack.entry(header, s.body);
    else pack.entry(header);
  }
  pack.finalize();
  return done;
}

const ROOT: Spec = { name: '.' };

interface Outcome {
  message: string;
  dest: string;
  base: string;
}

/** Restore `bytes`; it must be refused as hostile, and nothing may remain at the destination. */
async function refused(bytes: Buffer | Buffer[], why?: RegExp): Promise<Outcome> {
  const base = tmpDir('hostile');
  const dest = path.join(base, 'dest');
  const chunks = Array.isArray(bytes) ? bytes : [bytes];
  const err = await rejectsStoreError(restoreArchive(Readable.from(chunks), dest), 'HOSTILE_ARCHIVE');
  if (why) assert.match(err.message, why);
  assert.not.ok(exists(dest), `${dest} must not exist after a refused restore`);
  assert.equal(fs.readdirSync(base), [], 'nothing is written next to the destination either');
  return { message: err.message, dest, base };
}

/** Must be refused with a message that names `entry`. */
async function refusedNaming(specs: Spec[], entry: string, why?: RegExp): Promise<Outcome> {
  const out = await refused(await craft(specs), why);
  assert.ok(out.message.includes(`'${entry}'`), `message names '${entry}': ${out.message}`);
  return out;
}

test('a crafted canonical archive is accepted (the crafting helper is sound)', async () => {
  const bytes = await craft([ROOT, { name: './a', body: 'x' }, { name: './b' }, { name: './b/c', type: 'symlink', linkname: '../a' }, { name: './d', body: 'run', mode: 0o555 }]);
  const dest = path.join(tmpDir('crafted'), 'dest');
  await restoreArchive(Readable.from([bytes]), dest);
  assert.is(fs.readFileSync(path.join(dest, 'a'), 'utf8'), 'x');
  assert.is(fs.readlinkSync(path.join(dest, 'b/c')), '../a');
  assert.is(fs.statSync(path.join(dest, 'd')).mode & 0o777, 0o555);
  // And it is byte-identical to what dump writes for the restored tree.
  assert.ok((await collect(packPath(dest))).equals(bytes));
});

test("'..' components are refused", async () => {
  await refusedNaming([ROOT, { name: './..', body: 'x' }], './..', /'\.\.'/);
  await refusedNaming([ROOT, { name: './../evil', body: 'x' }], './../evil', /'\.\.'/);
  await refusedNaming([ROOT, { name: './a' }, { name: './a/../../evil', body: 'x' }], './a/../../evil', /'\.\.'/);
  await refusedNaming([ROOT, { name: '..' }], '..');
});

test('absolute paths are refused and nothing is written there', async () => {
  const outside = path.join(tmpDir('outside'), 'evil');
  await refusedNaming([ROOT, { name: outside, body: 'pwned' }], outside, /absolute/);
  assert.not.ok(exists(outside));
  await refusedNaming([{ name: '/', type: 'directory' }], '/', /absolute/);
});

test('names without the ./ prefix or with empty or "." components are refused', async () => {
  await refusedNaming([ROOT, { name: 'a', body: 'x' }], 'a');
  await refusedNaming([ROOT, { name: './a//b', body: 'x' }], './a//b');
  await refusedNaming([ROOT, { name: './a/./b', body: 'x' }], './a/./b');
});

test('an entry written through a symlink is refused, and nothing is created where the link points', async () => {
  const outsideDir = tmpDir('through-link');
  const missing = path.join(outsideDir, 'x');
  await refusedNaming([ROOT, { name: './l', type: 'symlink', linkname: missing }, { name: './l/evil', body: 'pwned' }], './l/evil', /parent/);
  assert.not.ok(exists(missing));
  // The link points at an existing directory: writing through it would succeed if allowed.
  await refusedNaming([ROOT, { name: './l', type: 'symlink', linkname: outsideDir }, { name: './l/evil', body: 'pwned' }], './l/evil', /parent/);
  assert.equal(fs.readdirSync(outsideDir), []);
  // A relative link that climbs out.
  await refusedNaming([ROOT, { name: './l', type: 'symlink', linkname: '../..' }, { name: './l/evil', body: 'pwned' }], './l/evil');
  // Through a link to a directory inside the archive, too.
  await refusedNaming([ROOT, { name: './d' }, { name: './l', type: 'symlink', linkname: 'd' }, { name: './l/x', body: 'x' }], './l/x', /parent/);
});

test('an entry below a file, or below a directory the archive never created, is refused', async () => {
  await refusedNaming([ROOT, { name: './f', body: 'x' }, { name: './f/g', body: 'y' }], './f/g', /parent/);
  await refusedNaming([ROOT, { name: './missing/g', body: 'y' }], './missing/g', /parent/);
});

test('duplicate entries are refused', async () => {
  await refusedNaming([ROOT, { name: './a', body: 'one' }, { name: './a', body: 'two' }], './a', /duplicate/);
  await refusedNaming([ROOT, { name: './a' }, { name: './a' }], './a', /duplicate/);
  await refusedNaming([ROOT, { name: './a', type: 'symlink', linkname: '/etc' }, { name: './a' }], './a', /duplicate/);
  await refusedNaming([ROOT, ROOT], '.', /duplicate/);
});

test('hard links are refused', async () => {
  await refusedNaming([ROOT, { name: './a', body: 'x' }, { name: './b', type: 'link', linkname: './a' }], './b', /hard link/);
  await refusedNaming([ROOT, { name: './b', type: 'link', linkname: '/etc/passwd' }], './b', /hard link/);
});

test('device files and fifos are refused', async () => {
  await refusedNaming([ROOT, { name: './null', type: 'character-device', mode: 0o444, devmajor: 1, devminor: 3 }], './null', /device/);
  await refusedNaming([ROOT, { name: './sda', type: 'block-device', mode: 0o444, devmajor: 8, devminor: 0 }], './sda', /device/);
  await refusedNaming([ROOT, { name: './pipe', type: 'fifo', mode: 0o444 }], './pipe', /fifo/);
  await refusedNaming([ROOT, { name: './c', type: 'contiguous-file', mode: 0o444, body: 'c' }], './c', /unsupported/);
  await refusedNaming([{ name: '.', type: 'character-device', mode: 0o444, devmajor: 1, devminor: 3 }], '.', /device/);
});

test('unsorted entries are refused', async () => {
  await refusedNaming([ROOT, { name: './b', body: 'b' }, { name: './a', body: 'a' }], './a', /sorted/);
  // Byte order: './a-b' (0x2d) sorts before './a/b' (0x2f).
  await refusedNaming([ROOT, { name: './a' }, { name: './a/b', body: '' }, { name: './a-b', body: '' }], './a-b', /sorted/);
});

test('an archive without the root first is refused', async () => {
  await refusedNaming([{ name: './a', body: 'x' }], './a', /root/);
  await refusedNaming([{ name: './a' }, ROOT], './a', /root/);
});

test('non-canonical modes are refused', async () => {
  await refusedNaming([ROOT, { name: './a', body: 'x', mode: 0o644 }], './a', /mode 644/);
  await refusedNaming([ROOT, { name: './a', body: 'x', mode: 0o755 }], './a', /mode 755/);
  await refusedNaming([ROOT, { name: './a', body: 'x', mode: 0o4555 }], './a', /mode 4555/);
  await refusedNaming([ROOT, { name: './d', mode: 0o755 }], './d', /mode 755/);
  await refusedNaming([{ name: '.', mode: 0o1777 }], '.', /mode 1777/);
  await refusedNaming([ROOT, { name: './l', type: 'symlink', linkname: 'x', mode: 0o755 }], './l', /mode/);
});

test('non-canonical mtime, owner and extended headers are refused', async () => {
  await refusedNaming([ROOT, { name: './a', body: 'x', mtime: new Date(1_700_000_000_000) }], './a', /mtime/);
  await refusedNaming([{ name: '.', mtime: new Date(1000) }], '.', /mtime/);
  await refusedNaming([ROOT, { name: './a', body: 'x', uid: 1000 }], './a', /owner/);
  await refusedNaming([ROOT, { name: './a', body: 'x', gid: 100 }], './a', /owner/);
  await refusedNaming([ROOT, { name: './a', body: 'x', uname: 'root' }], './a', /owner/);
  await refusedNaming([ROOT, { name: './a', body: 'x', gname: 'wheel' }], './a', /owner/);
  await refusedNaming([ROOT, { name: './a', body: 'x', pax: { mtime: '12345.5' } }], './a', /extended header 'mtime'/);
  await refusedNaming([ROOT, { name: './a', body: 'x', linkname: '/etc/passwd' }], './a', /link target/);
  await refusedNaming([ROOT, { name: './d', devmajor: 8, devminor: 1 }], './d', /device numbers/);
});

test('symlinks without a target are refused', async () => {
  await refusedNaming([ROOT, { name: './l', type: 'symlink', linkname: '' }], './l', /target/);
});

test('a truncated archive is refused wherever it is cut, naming an entry', async () => {
  const src = writeTree(path.join(tmpDir('trunc-src'), 'tree'), { a: 'x'.repeat(1500), b: { c: 'cc' }, z: '' });
  const full = await collect(packPath(src));
  const cuts = new Set<number>();
  for (let c = 0; c < full.length; c += 512) [c, c + 1, c + 100, c + 511].forEach((x) => x < full.length && cuts.add(x));
  for (const cut of [...cuts].sort((x, y) => x - y)) {
    if (cut === 0) continue;
    const { message } = await refused(full.subarray(0, cut));
    // Before the first header is complete there is no entry to name.
    if (cut < 512) assert.match(message, /at the start of the archive/);
    else assert.match(message, /'\.(\/[a-z]+)*'/, `cut at ${cut}: message names an entry: ${message}`);
  }
  // Cut inside a file's data: that file is named.
  const { message } = await refused(full.subarray(0, 1024 + 700));
  assert.ok(message.includes("'./a'"), message);
  // Cut exactly after the last entry: the end-of-archive marker is missing.
  const lastEntryEnd = full.length - 1024;
  const noMarker = await refused(full.subarray(0, lastEntryEnd), /truncated/);
  assert.ok(noMarker.message.includes("'./z'"), noMarker.message);
});

test('an empty input is refused', async () => {
  await refused(Buffer.alloc(0), /no entries/);
  await refused(Buffer.alloc(1024), /no entries/);
});

test('garbage bytes are refused', async () => {
  const garbage = Buffer.from('this is not a tar archive at all\n'.repeat(64));
  await refused(garbage, /corrupt/);
  const random = Buffer.alloc(4096);
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) & 0xff;
  await refused(random, /corrupt/);
  // A valid archive followed by garbage: the last good entry is named.
  const good = await craft([ROOT, { name: './a', body: 'x' }]);
  const trailing = await refused(Buffer.concat([good.subarray(0, good.length - 1024), garbage]));
  assert.ok(trailing.message.includes("'./a'"), trailing.message);
  // A corrupted header checksum inside an otherwise valid archive.
  const flipped = Buffer.from(good);
  flipped[512 + 10] ^= 0xff;
  await refused(flipped, /corrupt/);
});

test('data hidden between or after entries is refused', async () => {
  const good = await craft([ROOT, { name: './a', body: 'x' }, { name: './b', body: 'y' }]);
  // A zero block inserted before './b' (tar readers skip it; a canonical archive has none).
  const gap = Buffer.concat([good.subarray(0, 1536), Buffer.alloc(512), good.subarray(1536)]);
  const g = await refused(gap, /non-canonical/);
  assert.ok(g.message.includes("'./b'"), g.message);
  // More zero blocks at the end.
  await refused(Buffer.concat([good, Buffer.alloc(512)]), /non-canonical/);
  // A second archive appended after the end-of-archive marker.
  const second = await craft([{ name: './zz', body: 'sneaky' }]);
  await refused(Buffer.concat([good, second]), /sorted|non-canonical/);
});

test('a hostile archive fed in small chunks is refused the same way', async () => {
  const bytes = await craft([ROOT, { name: './l', type: 'symlink', linkname: '/tmp' }, { name: './l/evil', body: 'x' }]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 100) chunks.push(bytes.subarray(i, i + 100));
  const out = await refused(chunks, /parent/);
  assert.ok(out.message.includes("'./l/evil'"));
});

test('restoring onto an existing path is refused and leaves it alone', async () => {
  const base = tmpDir('exists');
  const dest = path.join(base, 'dest');
  fs.writeFileSync(dest, 'keep me');
  const bytes = await craft([ROOT]);
  await rejectsStoreError(restoreArchive(Readable.from([bytes]), dest), 'IO');
  assert.is(fs.readFileSync(dest, 'utf8'), 'keep me');
  // A dangling symlink counts as existing.
  const link = path.join(base, 'link');
  fs.symlinkSync(path.join(base, 'nowhere'), link);
  await rejectsStoreError(restoreArchive(Readable.from([bytes]), link), 'IO');
  assert.ok(fs.lstatSync(link).isSymbolicLink());
  assert.not.ok(exists(path.join(base, 'nowhere')));
});

test.run();
