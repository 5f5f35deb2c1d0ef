/**
 * `builtin:unpack-deb`: the data archives of Debian packages extracted into one tree, in-process,
 * exactly as dpkg lays them out below `/` (no /usr merge, no relocation), with no host program:
 * the `ar` container is read here, the data archive decompressed by libraries (xz: xz-embedded
 * compiled to WebAssembly; zstd: fzstd; gzip: node:zlib — see ./decompress.ts; xz and zstd on
 * other threads while this one extracts) and extracted with tar-stream. The
 * output depends only on the bytes of the packages and their order.
 *
 * Refused: names that are absolute (after a leading `./`) or contain `..`, entries written
 * through a symlink or below a file extracted earlier, hard links to anything but an earlier
 * file of the same archive, and one path with different contents in two packages (directories
 * may repeat; files and symlinks only if identical). Devices and FIFOs are skipped (logged).
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { StoreError } from '../errors.js';
import { UNPACK_DEB } from '../derivation/builtins.js';
import { COMPRESSIONS, DecompressError, decompressedRange, type Compression } from './decompress.js';
import { DecompressThreads } from './decompress-threads.js';

const UNPACK_DEB_BUILDER = UNPACK_DEB.builder;

export interface UnpackOptions {
  log?: (line: string) => void;
  /**
   * Threads that decompress xz and zstd archives while this one extracts (default: two, where
   * there are two cores and the packages hold at least 4 MiB; 0: all on this thread).
   */
  threads?: number;
}

/** Below this many compressed bytes, starting threads costs more than it saves. */
const PARALLEL_BYTES = 4 << 20;
/** Archives decompressed ahead of the one being extracted, at most. */
const AHEAD = 4;

export interface UnpackStats {
  debs: number;
  files: number;
  directories: number;
  symlinks: number;
  hardLinks: number;
  skipped: number;
}

const AR_MAGIC = '!<arch>\n';
const AR_HEADER = 60;

interface Member {
  name: string;
  offset: number;
  size: number;
}

function bad(deb: string, what: string, hint?: string): StoreError {
  return new StoreError('BUILD_FAILED', `${UNPACK_DEB_BUILDER}: '${deb}' ${what}`, hint ? { hint } : {});
}

function hostile(deb: string, what: string): StoreError {
  return new StoreError('HOSTILE_ARCHIVE', `${UNPACK_DEB_BUILDER}: '${deb}': ${what}`);
}

/** The members of the `ar` archive `deb` (a .deb is one), checked to lie inside the file. */
async function arMembers(deb: string): Promise<Member[]> {
  const fh = await fs.promises.open(deb, 'r');
  try {
    const { size } = await fh.stat();
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    };
    if ((await read(0, AR_MAGIC.length)).toString('latin1') !== AR_MAGIC) {
      throw bad(deb, 'is not a Debian package: it is not an ar archive', 'give the .deb files of Debian binary packages');
    }
    const members: Member[] = [];
    let off = AR_MAGIC.length;
    // The last member's padding byte may be missing.
    while (off < size && !(off === size - 1 && members.length > 0)) {
      if (off + AR_HEADER > size) throw bad(deb, `is truncated: the ar header at byte ${off} ends past the end of the file (${size} bytes)`);
      const h = await read(off, AR_HEADER);
      if (h.toString('latin1', 58, 60) !== '`\n') throw bad(deb, `is corrupt: no ar member header at byte ${off}`);
      const name = h.toString('latin1', 0, 16).trimEnd().replace(/\/$/, '');
      const sizeField = h.toString('latin1', 48, 58).trim();
      if (!/^\d+$/.test(sizeField)) throw bad(deb, `is corrupt: the ar member at byte ${off} has the size '${sizeField}'`);
      const msize = Number(sizeField);
      const start = off + AR_HEADER;
      if (start + msize > size) throw bad(deb, `is truncated: its member '${name}' ends at byte ${start + msize}, past the end of the file (${size} bytes)`);
      members.push({ name, offset: start, size: msize });
      off = start + msize + (msize % 2);
    }
    const first = members[0];
    const version = first?.name === 'debian-binary' ? (await read(first.offset, Math.min(first.size, 16))).toString('latin1') : '';
    if (!/^2\.\d+\n/.test(version)) throw bad(deb, 'is not a Debian binary package: its first member is not debian-binary with format 2.x');
    return members;
  } finally {
    await fh.close();
  }
}

interface DataArchive {
  deb: string;
  member: Member;
  compression: Compression;
}

/** The data archive of a package and its compression. */
function dataMember(deb: string, members: Member[]): { member: Member; compression: Compression } {
  const data = members.filter((m) => m.name === 'data.tar' || m.name.startsWith('data.tar.'));
  if (data.length === 0) throw bad(deb, `has no data archive (members: ${members.map((m) => m.name).join(', ')})`);
  if (data.length > 1) throw bad(deb, `has ${data.length} data archives (${data.map((m) => m.name).join(', ')})`);
  const suffix = data[0].name.slice('data.tar'.length);
  if (!(COMPRESSIONS as readonly string[]).includes(suffix)) {
    throw bad(deb, `has its data archive compressed as '${data[0].name}', which ${UNPACK_DEB_BUILDER} cannot read`, 'it reads data.tar, data.tar.xz, data.tar.gz and data.tar.zst');
  }
  return { member: data[0], compression: suffix as Compression };
}

/** xz-embedded's return codes, for messages. */
const XZ_ERRORS: Record<string, string> = {
  '2': 'an unsupported integrity check',
  '3': 'not enough memory',
  '4': 'a dictionary too large',
  '5': 'not xz data',
  '6': 'unsupported xz options',
  '7': 'corrupt xz data',
  '8': 'truncated xz data',
};

function describeFailure(e: unknown, compression: Compression): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (compression === '.xz') {
    const code = /get_next_output failed with error code (\d+)/.exec(msg)?.[1];
    if (code !== undefined) return XZ_ERRORS[code] ?? `xz error ${code}`;
  }
  if (e instanceof DecompressError) return msg;
  if ((e as NodeJS.ErrnoException).code?.startsWith('Z_')) return `corrupt gzip data: ${msg}`;
  if (msg === 'Unexpected end of data') return 'the tar archive ends in the middle of an entry (truncated)';
  return msg;
}

/** Write `source` into the tar parser (a streamx stream), ending it, or destroying it on an error. */
async function feed(source: Readable, sink: tar.Extract): Promise<void> {
  try {
    for await (const chunk of source) {
      if (sink.destroyed) return;
      if (!sink.write(chunk as Buffer)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            sink.off('drain', done);
            sink.off('close', done);
            resolve();
          };
          sink.on('drain', done);
          sink.on('close', done);
        });
      }
    }
    (sink as unknown as { end(): void }).end();
  } catch (e) {
    sink.destroy(e as Error);
    throw e;
  } finally {
    source.destroy();
  }
}

type Entry = tar.Extract extends AsyncIterable<infer E> ? E : never;

type Kind = 'directory' | 'file' | 'symlink';

interface Placed {
  kind: Kind;
  /** The package that put it there. */
  deb: string;
  target?: string;
  executable?: boolean;
}

const KIND_WORDS: Record<Kind, string> = { directory: 'a directory', file: 'a file', symlink: 'a symlink' };

/** Unpacks packages one after the other into `out`, remembering what is where. */
class Unpacker {
  /** Relative path → what was extracted there ('' is the root). */
  private readonly placed = new Map<string, Placed>([['', { kind: 'directory', deb: '' }]]);
  readonly stats: UnpackStats = { debs: 0, files: 0, directories: 0, symlinks: 0, hardLinks: 0, skipped: 0 };
  private readonly log: (line: string) => void;

  constructor(
    private readonly out: string,
    opts: UnpackOptions,
  ) {
    this.log = opts.log ?? (() => {});
    fs.mkdirSync(out, { mode: 0o755 });
  }

  async unpack({ deb, member, compression }: DataArchive, source: Readable): Promise<void> {
    this.log(`unpacking '${deb}' (${member.name}, ${member.size} bytes)`);
    const extract = tar.extract();
    // The parser's own error (e.g. the archive ends inside an entry) says more than what
    // reading the entry then reports (a premature close), whichever comes first.
    let parseError: unknown;
    extract.on('error', (e: unknown) => {
      parseError ??= e;
    });
    let feedError: unknown;
    const feeding = feed(source, extract).catch((e: unknown) => {
      feedError ??= e;
    });
    try {
      for await (const entry of extract) await this.entry(deb, entry);
    } catch (e) {
      await feeding;
      if (e instanceof StoreError) throw e;
      throw bad(deb, `has a corrupt data archive (${member.name}): ${describeFailure(feedError ?? parseError ?? e, compression)}`);
    }
    await feeding;
    if (feedError) throw bad(deb, `has a corrupt data archive (${member.name}): ${describeFailure(feedError, compression)}`);
    this.stats.debs++;
  }

  /** The entry's name relative to `/`, or undefined for the root itself. */
  private name(deb: string, raw: string, what = 'an entry'): string | undefined {
    if (raw.includes('\uFFFD')) throw hostile(deb, `${what} has a name that is not valid UTF-8: '${raw}'`);
    let n = raw;
    while (n.startsWith('./')) n = n.slice(2);
    if (n.startsWith('/')) throw hostile(deb, `${what} has an absolute name: '${raw}'`);
    const parts = n.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw hostile(deb, `${what} has a name with '..': '${raw}'`);
    return parts.length ? parts.join('/') : undefined;
  }

  /** Make sure every directory above `rel` is a real directory extracted here (creating missing ones). */
  private parents(deb: string, rel: string): void {
    let i = rel.indexOf('/');
    while (i >= 0) {
      const dir = rel.slice(0, i);
      const p = this.placed.get(dir);
      if (p === undefined) {
        fs.mkdirSync(path.join(this.out, dir), { mode: 0o755 });
        this.placed.set(dir, { kind: 'directory', deb });
        this.stats.directories++;
      } else if (p.kind === 'symlink') {
        throw hostile(deb, `'${rel}' would be written through the symlink '${dir}' -> '${p.target}'${p.deb === deb ? '' : ` of '${p.deb}'`}`);
      } else if (p.kind === 'file') {
        throw hostile(deb, `'${rel}' is below '${dir}', which is a file${p.deb === deb ? '' : ` of '${p.deb}'`}`);
      }
      i = rel.indexOf('/', i + 1);
    }
  }

  private collision(deb: string, rel: string, before: Placed, now: Kind, why: string): StoreError {
    const where = before.deb === deb ? `twice in '${deb}'` : `in both '${before.deb}' and '${deb}'`;
    return new StoreError('BUILD_FAILED', `${UNPACK_DEB_BUILDER}: '${rel}' is ${where}, ${why}`, {
      hint: before.kind === now ? undefined : `it is ${KIND_WORDS[before.kind]} in '${before.deb}' and ${KIND_WORDS[now]} in '${deb}'`,
    });
  }

  private async entry(deb: string, entry: Entry): Promise<void> {
    const h = entry.header;
    const rel = this.name(deb, h.name);
    switch (h.type) {
      case 'directory': {
        entry.resume();
        if (rel === undefined) return;
        this.parents(deb, rel);
        const before = this.placed.get(rel);
        if (before === undefined) {
          fs.mkdirSync(path.join(this.out, rel), { mode: 0o755 });
          this.placed.set(rel, { kind: 'directory', deb });
          this.stats.directories++;
        } else if (before.kind !== 'directory') throw this.collision(deb, rel, before, 'directory', `as ${KIND_WORDS[before.kind]} and as a directory`);
        return;
      }
      case 'file':
      case 'contiguous-file':
        return this.file(deb, this.named(deb, rel, h.name), entry, Boolean((h.mode ?? 0) & 0o111));
      case 'symlink': {
        entry.resume();
        const at = this.named(deb, rel, h.name);
        const target = h.linkname ?? '';
        if (target === '' || target.includes('\uFFFD')) throw hostile(deb, `the symlink '${at}' has ${target === '' ? 'no target' : `a target that is not valid UTF-8: '${target}'`}`);
        this.parents(deb, at);
        const before = this.placed.get(at);
        if (before !== undefined) {
          if (before.kind === 'symlink' && before.target === target) return;
          throw this.collision(deb, at, before, 'symlink', before.kind === 'symlink' ? `as symlinks to '${before.target}' and to '${target}'` : `as ${KIND_WORDS[before.kind]} and as a symlink`);
        }
        fs.symlinkSync(target, path.join(this.out, at));
        this.placed.set(at, { kind: 'symlink', deb, target });
        this.stats.symlinks++;
        return;
      }
      case 'link': {
        entry.resume();
        const at = this.named(deb, rel, h.name);
        const from = this.name(deb, h.linkname ?? '', `the hard link '${at}'`);
        const src = from === undefined ? undefined : this.placed.get(from);
        if (from === undefined || src === undefined || src.kind !== 'file' || src.deb !== deb) {
          throw hostile(deb, `the hard link '${at}' does not lead to a file extracted earlier from this package: '${h.linkname}'`);
        }
        const contents = fs.readFileSync(path.join(this.out, from));
        if (await this.place(deb, at, contents, src.executable!)) this.stats.hardLinks++;
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo':
        entry.resume();
        this.stats.skipped++;
        this.log(`skipping the ${h.type} '${rel ?? h.name}' of '${deb}'`);
        return;
      default:
        entry.resume();
        throw hostile(deb, `the entry '${h.name}' is of a type that a package does not hold (${h.type})`);
    }
  }

  private named(deb: string, rel: string | undefined, raw: string): string {
    if (rel === undefined) throw hostile(deb, `an entry that is not a directory is named '${raw}' (the root)`);
    return rel;
  }

  private async file(deb: string, rel: string, entry: Entry, executable: boolean): Promise<void> {
    this.parents(deb, rel);
    if (this.placed.has(rel)) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      await this.place(deb, rel, Buffer.concat(chunks), executable);
      return;
    }
    const fh = await fs.promises.open(path.join(this.out, rel), 'wx', executable ? 0o755 : 0o644);
    try {
      for await (const c of entry) await fh.write(c as Buffer);
    } finally {
      await fh.close();
    }
    this.placed.set(rel, { kind: 'file', deb, executable });
    this.stats.files++;
  }

  /** Put a file whose contents are known at `rel`: a new file (true), or the same file again (false). */
  private async place(deb: string, rel: string, contents: Buffer, executable: boolean): Promise<boolean> {
    this.parents(deb, rel);
    const before = this.placed.get(rel);
    if (before !== undefined) {
      if (before.kind !== 'file') throw this.collision(deb, rel, before, 'file', `as ${KIND_WORDS[before.kind]} and as a file`);
      const same = before.executable === executable && fs.readFileSync(path.join(this.out, rel)).equals(contents);
      if (!same) throw this.collision(deb, rel, before, 'file', 'with different contents or executable bit');
      return false;
    }
    await fs.promises.writeFile(path.join(this.out, rel), contents, { flag: 'wx', mode: executable ? 0o755 : 0o644 });
    this.placed.set(rel, { kind: 'file', deb, executable });
    return true;
  }
}

/** Extract the data archives of `debs` (paths of .deb files), in order, into `out` (which must not exist). */
export async function unpackDebs(debs: readonly string[], out: string, opts: UnpackOptions = {}): Promise<UnpackStats> {
  const archives: DataArchive[] = [];
  for (const deb of debs) archives.push({ deb, ...dataMember(deb, await arMembers(deb)) });
  const threaded = (a: DataArchive) => a.compression === '.xz' || a.compression === '.zst';
  const onThreads = archives.filter(threaded);
  const bytes = onThreads.reduce((n, a) => n + a.member.size, 0);
  const threads = Math.min(opts.threads ?? (bytes >= PARALLEL_BYTES ? Math.min(2, os.availableParallelism()) : 0), onThreads.length);
  // The output is made first: a failure there leaves no thread running.
  const u = new Unpacker(out, opts);
  const pool = threads > 0 ? new DecompressThreads(threads) : undefined;
  // The archive being extracted and the next few are being decompressed (each at most
  // WINDOW bytes ahead of the extraction).
  const ahead = new Map<number, Readable>();
  try {
    for (let i = 0; i < archives.length; i++) {
      for (let j = i; pool && j < Math.min(archives.length, i + AHEAD); j++) {
        const a = archives[j];
        if (!ahead.has(j) && threaded(a)) ahead.set(j, pool.stream(a.deb, a.member.offset, a.member.size, a.compression));
      }
      const a = archives[i];
      const source = ahead.get(i) ?? (await decompressedRange(a.deb, a.member.offset, a.member.size, a.compression));
      ahead.delete(i);
      await u.unpack(a, source);
    }
  } finally {
    for (const s of ahead.values()) s.destroy();
    await pool?.close();
  }
  const s = u.stats;
  opts.log?.(`hepstore: unpacked ${s.debs} packages: ${s.files} files, ${s.directories} directories, ${s.symlinks} symlinks, ${s.hardLinks} hard links${s.skipped ? `, ${s.skipped} devices or FIFOs skipped` : ''}`);
  return s;
}
