/**
 * Restore a canonical archive into a new directory entry. Every header is checked before
 * anything is written for it; on any error the partly restored object is removed, so a
 * hostile or corrupt archive leaves nothing behind. One synchronous pass: each piece read is
 * hashed, parsed (tar-stream's header decoder, its framing) and its file data written while
 * the piece is still in the CPU's cache.
 *
 * Only the bytes `store dump` writes are accepted (Invariant 8): every header region (a pax
 * header and its records, if any, then the ustar header) must equal, byte for byte, the one
 * canonicalHeaderBytes gives for the entry it describes; padding must be zero; names and link
 * targets must be valid UTF-8. So what is restored dumps again to exactly the archive read.
 * The checks before the byte comparison only give a clearer reason for common cases.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type tar from 'tar-stream';
import { StoreError } from '../errors.js';
import { HashSink } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { ARCHIVE_MTIME, canonicalHeaderBytes, canonicalMode, canonicaliseTree, pathExists, removeTree } from './canonical.js';
import { entryPath, type EntryType } from './walk.js';
import type { NarInfo } from './dump.js';
import { tarHeaders } from './tar-headers.js';

const ALLOWED_PAX_KEYS = new Set(['path', 'linkpath']);

function hostile(name: string, why: string): never {
  throw new StoreError('HOSTILE_ARCHIVE', `archive entry '${name}' refused: ${why}`, {
    hint: 'the archive is corrupt or was not written by `store dump`/`store export`; nothing was restored',
  });
}

/** After the leading './': a component that is empty, '.' or '..'. */
const BAD_COMPONENT = /^\.\/(?:\.{0,2}(?:\/|$))|\/(?:\.{0,2}(?:\/|$))/;

function checkName(name: string): void {
  if (name === '.') return;
  if (name.startsWith('/')) hostile(name, 'absolute path');
  if (!name.startsWith('./')) hostile(name, "names must start with './'");
  if (name.includes('\0')) hostile(name, 'NUL in name');
  if (BAD_COMPONENT.test(name)) {
    for (const part of name.slice(2).split('/')) {
      if (part === '..') hostile(name, "'..' component");
      if (part === '' || part === '.') hostile(name, 'empty or "." component');
    }
  }
}

function parentOf(name: string): string {
  const i = name.lastIndexOf('/');
  return i <= 1 ? '.' : name.slice(0, i);
}

interface Checked {
  type: EntryType;
  executable: boolean;
}

function checkHeader(h: tar.Header): Checked {
  const name = h.name;
  switch (h.type) {
    case 'file':
    case 'directory':
    case 'symlink':
      break;
    case 'link':
      hostile(name, `hard link to '${h.linkname}'`);
    case 'character-device':
    case 'block-device':
      hostile(name, 'device file');
    case 'fifo':
      hostile(name, 'fifo');
    default:
      hostile(name, `unsupported entry type '${h.type}'`);
  }
  const type = h.type as EntryType;
  const mode = (h.mode ?? 0) & 0o7777;
  const executable = type === 'file' && (mode & 0o111) !== 0;
  if (type === 'symlink' && (!h.linkname || h.linkname.includes('\0'))) hostile(name, 'symlink with an empty or invalid target');
  if (type !== 'file' && (h.size ?? 0) !== 0) hostile(name, `${type} with a non-zero size`);
  if (mode !== canonicalMode(type, executable)) hostile(name, `non-canonical mode ${mode.toString(8)}`);
  if ((h.mtime?.getTime() ?? 0) !== ARCHIVE_MTIME.getTime()) hostile(name, 'non-canonical mtime');
  if (h.uid || h.gid || h.uname || h.gname) hostile(name, 'non-canonical owner');
  if (type !== 'symlink' && h.linkname) hostile(name, `a ${type} with a link target '${h.linkname}'`);
  if (h.devmajor || h.devminor) hostile(name, 'device numbers on a non-device entry');
  for (const key of Object.keys(h.pax ?? {})) if (!ALLOWED_PAX_KEYS.has(key)) hostile(name, `extended header '${key}'`);
  // tar-stream decodes names as UTF-8, turning invalid bytes into U+FFFD; `store dump` refuses
  // such names, so no canonical archive holds one.
  if (name.includes('\uFFFD')) hostile(name, 'its name is not valid UTF-8 (or holds U+FFFD)');
  if (type === 'symlink' && h.linkname!.includes('\uFFFD')) hostile(name, 'its link target is not valid UTF-8 (or holds U+FFFD)');
  return { type, executable };
}

/** The ustar header's fields, by offset, to say which one differs from the canonical header. */
const USTAR_FIELDS: ReadonlyArray<[number, string]> = [
  [0, 'name'],
  [100, 'mode'],
  [108, 'uid'],
  [116, 'gid'],
  [124, 'size'],
  [136, 'mtime'],
  [148, 'checksum'],
  [156, 'type flag'],
  [157, 'link name'],
  [257, 'magic'],
  [263, 'version'],
  [265, 'owner name'],
  [297, 'group name'],
  [329, 'device major'],
  [337, 'device minor'],
  [345, 'name prefix'],
  [500, 'padding'],
];

function fieldAt(offset: number): string {
  let name = USTAR_FIELDS[0][1];
  for (const [at, field] of USTAR_FIELDS) if (offset >= at) name = field;
  return name;
}

/**
 * Where two header blocks first differ, outside the checksum field if they differ anywhere
 * else (a changed field changes the checksum too; the field is the better reason).
 */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  let checksum = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (i < 148 || i >= 156) return i;
    if (checksum < 0) checksum = i;
  }
  return checksum;
}

/** Refuse a header block that differs from the canonical one, naming the field. */
function sameBlock(name: string, got: Buffer, want: Buffer, what: string): void {
  if (got.equals(want)) return;
  const at = firstDifference(got, want);
  hostile(name, `${what} is not the canonical one: its ${fieldAt(at)} field differs (byte ${at})`);
}

const BLOCK = 512;
/** tar-stream's packer ends an archive with two zero blocks, and nothing after them. */
const END_OF_ARCHIVE = 2 * BLOCK;

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

const ZEROS = Buffer.alloc(END_OF_ARCHIVE);

function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}


/** Extended headers longer than this are refused (tar-stream's limit). */
const MAX_PAX = 4 << 20;

/**
 * One archive being restored, fed in pieces of any size, synchronously: every piece is hashed,
 * then parsed, and file data is written as it arrives, while it is still in the CPU's cache.
 * The framing is tar-stream's (ustar headers, each entry's optional pax header, zero blocks
 * skipped); what is accepted is decided by the checks above. Not reusable after an error.
 */
class ArchiveRestorer {
  readonly sink = new HashSink();
  /** The header block being assembled across pieces. */
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  /** Offset of the first byte not parsed yet. */
  private pos = 0;
  /** Bytes still to come of the current pax data, file data or padding. */
  private remaining = 0;
  private state: 'header' | 'pax' | 'data' | 'skip' = 'header';
  private paxData: Buffer | undefined;
  private paxFill = 0;
  private pax: Record<string, string> | undefined;
  /** The pending pax header's own block and offset. */
  private paxBlock: Buffer | undefined;
  private paxStart = 0;
  /** Whose padding is being skipped (for the error if it is not zero). */
  private skipOwner = '';
  private fd: number | undefined;
  private fileName = '';
  private fileSize = 0;
  private fileWritten = 0;
  /** The last bytes fed: a complete archive ends with its end-of-archive marker. */
  private tail = Buffer.alloc(0);
  private readonly written: Array<{ name: string; type: EntryType; executable: boolean }> = [];
  private readonly directories = new Set<string>();
  private previous: Buffer | undefined;
  /** The entry being restored, and the last one restored completely. */
  private current: string | undefined;
  private last: string | undefined;
  /** Offset just after the last entry's (padded) data: where the next header must start. */
  private end = 0;

  constructor(private readonly dest: string) {
    if (pathExists(dest)) throw new StoreError('IO', `cannot restore to '${dest}': it already exists`);
  }

  feed(chunk: Buffer): void {
    this.sink.update(chunk);
    this.tail = chunk.length >= END_OF_ARCHIVE ? Buffer.from(chunk.subarray(chunk.length - END_OF_ARCHIVE)) : Buffer.concat([this.tail, chunk]).subarray(-END_OF_ARCHIVE);
    let i = 0;
    while (i < chunk.length) {
      const avail = chunk.length - i;
      if (this.state === 'header') {
        const n = Math.min(BLOCK - this.blockFill, avail);
        chunk.copy(this.block, this.blockFill, i, i + n);
        this.blockFill += n;
        i += n;
        if (this.blockFill === BLOCK) {
          this.blockFill = 0;
          this.header(this.pos);
          this.pos += BLOCK;
        }
      } else if (this.state === 'pax') {
        const n = Math.min(this.remaining, avail);
        chunk.copy(this.paxData!, this.paxFill, i, i + n);
        this.paxFill += n;
        this.remaining -= n;
        i += n;
        this.pos += n;
        if (this.remaining === 0) {
          this.pax = tarHeaders().decodePax(this.paxData!);
          this.skip(padded(this.paxFill) - this.paxFill, `the extended header of '${this.pax.path ?? '?'}'`);
        }
      } else if (this.state === 'data') {
        const n = Math.min(this.remaining, avail);
        let off = 0;
        while (off < n) off += fs.writeSync(this.fd!, chunk, i + off, n - off);
        this.fileWritten += n;
        this.remaining -= n;
        i += n;
        this.pos += n;
        if (this.remaining === 0) this.closeFile();
      } else {
        const n = Math.min(this.remaining, avail);
        if (chunk.compare(ZEROS, 0, n, i, i + n) !== 0) hostile(this.skipOwner, 'non-zero bytes in the padding after its data');
        this.remaining -= n;
        i += n;
        this.pos += n;
        if (this.remaining === 0) this.state = 'header';
      }
    }
  }

  private skip(n: number, owner: string): void {
    this.skipOwner = owner;
    this.remaining = n;
    this.state = n > 0 ? 'skip' : 'header';
  }

  private header(offset: number): void {
    const h = tarHeaders().decode(this.block, 'utf-8', false);
    if (h === null) {
      // A zero block (only the end-of-archive marker is one): skipped here, judged by the
      // layout checks. The decoder also takes a block whose only bytes are in the checksum
      // field for one.
      if (!this.block.equals(ZEROS.subarray(0, BLOCK))) this.refuse('a header block that is neither a header nor zeros');
      if (this.paxBlock) hostile(this.pax?.path ?? 'PaxHeader', 'an extended header not followed by its entry');
      return;
    }
    if (!Number.isSafeInteger(h.size) || h.size < 0) hostile(h.name, `bad size ${h.size}`);
    if ((h.type as string) === 'pax-header') {
      if (this.paxBlock) hostile(h.name, 'two extended headers in a row');
      if (h.size > MAX_PAX) hostile(h.name, `an extended header of ${h.size} bytes`);
      this.paxBlock = Buffer.from(this.block);
      this.paxStart = offset;
      this.paxData = Buffer.alloc(h.size);
      this.paxFill = 0;
      this.remaining = h.size;
      this.state = h.size > 0 ? 'pax' : 'header';
      if (h.size === 0) this.pax = {};
      return;
    }
    let start = offset;
    let paxBlock: Buffer | undefined;
    let paxData: Buffer | undefined;
    if (this.paxBlock) {
      if (this.pax!.path) h.name = this.pax!.path;
      if (this.pax!.linkpath) h.linkname = this.pax!.linkpath;
      h.pax = this.pax!;
      start = this.paxStart;
      paxBlock = this.paxBlock;
      paxData = this.paxData;
      this.pax = this.paxBlock = this.paxData = undefined;
    }
    this.entry(h, offset, start, paxBlock, paxData);
  }

  /** Refuse, naming the last entry restored (or the start of the archive). */
  private refuse(why: string): never {
    if (this.last === undefined) throw new StoreError('HOSTILE_ARCHIVE', `archive refused at the start: ${why}`, { hint: 'the archive is corrupt or was not written by `store dump`/`store export`; nothing was restored' });
    hostile(this.last, `after it, ${why}`);
  }

  /**
   * `offset` is where the entry's ustar header is, `start` where its header region begins
   * (its pax header's block, if it has one).
   */
  private entry(h: tar.Header, offset: number, start: number, paxBlock: Buffer | undefined, paxData: Buffer | undefined): void {
    this.current = h.name;
    checkName(h.name);
    const { type, executable } = checkHeader(h);
    // Nothing may hide between entries: no extra zero blocks, long-name or global headers.
    if (start !== this.end) hostile(h.name, `non-canonical layout: ${start - this.end} unexpected bytes before it`);
    const want = canonicalHeaderBytes(h.name, type, type === 'file' ? h.size : 0, executable, type === 'symlink' ? h.linkname! : undefined);
    if (paxBlock === undefined) {
      if (want.length !== BLOCK) hostile(h.name, 'its name or link target is written without the extended header `store dump` writes for it');
      sameBlock(h.name, this.block, want, 'its header');
    } else {
      if (want.length === BLOCK) hostile(h.name, 'an extended header that `store dump` does not write for it');
      sameBlock(h.name, paxBlock, want.subarray(0, BLOCK), "its extended header's own header");
      // The records' padding was checked to be zero as it was skipped.
      if (!paxData!.equals(want.subarray(BLOCK, BLOCK + paxData!.length)) || padded(paxData!.length) !== want.length - 2 * BLOCK) {
        hostile(h.name, 'its extended header records are not the canonical ones');
      }
      sameBlock(h.name, this.block, want.subarray(want.length - BLOCK), 'its header');
    }
    const key = Buffer.from(h.name);
    if (this.previous === undefined) {
      if (h.name !== '.') hostile(h.name, "the first entry must be the root '.'");
    } else {
      const cmp = Buffer.compare(this.previous, key);
      if (cmp === 0) hostile(h.name, 'duplicate entry');
      if (cmp > 0) hostile(h.name, 'entries are not sorted');
      // The parent must be a directory restored by this archive: nothing is ever written
      // through a symlink or below a file.
      if (!this.directories.has(parentOf(h.name))) hostile(h.name, 'its parent is not a directory of this archive');
    }
    this.previous = key;
    const p = entryPath(this.dest, h.name);
    this.written.push({ name: h.name, type, executable });
    this.end = offset + BLOCK + padded(type === 'file' ? h.size : 0);
    if (type === 'directory') {
      fs.mkdirSync(p, { mode: 0o755 });
      this.directories.add(h.name);
    } else if (type === 'symlink') {
      fs.symlinkSync(h.linkname!, p);
    } else {
      this.fd = fs.openSync(p, 'wx', 0o644);
      this.fileName = h.name;
      this.fileSize = h.size;
      this.fileWritten = 0;
      this.remaining = h.size;
      this.state = 'data';
      if (h.size === 0) this.closeFile();
      return;
    }
    this.entryDone();
  }

  private closeFile(): void {
    const fd = this.fd!;
    this.fd = undefined;
    fs.closeSync(fd);
    if (this.fileWritten !== this.fileSize) hostile(this.fileName, `truncated: ${this.fileWritten} of ${this.fileSize} bytes`);
    this.skip(padded(this.fileSize) - this.fileSize, this.fileName);
    this.entryDone();
  }

  private entryDone(): void {
    this.last = this.current;
    this.current = undefined;
  }

  /** After the last piece: check that the archive ended where it should, then canonicalise. */
  finish(): NarInfo {
    if (this.state !== 'header' || this.blockFill !== 0) throw new Error('Unexpected end of data');
    if (this.written.length === 0) throw new StoreError('HOSTILE_ARCHIVE', 'the archive holds no entries', { hint: 'it is empty or truncated; nothing was restored' });
    if (this.sink.size < this.end + END_OF_ARCHIVE || !this.tail.equals(ZEROS)) {
      hostile(this.last!, 'the archive is truncated after it (no end-of-archive marker)');
    }
    if (this.sink.size !== this.end + END_OF_ARCHIVE) {
      hostile(this.last!, `non-canonical layout: ${this.sink.size - this.end - END_OF_ARCHIVE} extra bytes after the end-of-archive marker`);
    }
    canonicaliseTree(this.dest, this.written);
    const digest = this.sink.digest();
    return { narHash: toSRI(digest), narSize: this.sink.size, digest };
  }

  /** Remove what was restored; the error to throw, as a StoreError that names the entry. */
  abort(err: unknown): StoreError {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    removeTree(this.dest);
    if (err instanceof StoreError) return err;
    const current = this.current ?? (this.state === 'data' ? this.fileName : undefined);
    const why = (err as Error)?.message ?? String(err);
    if (isSystemError(err)) {
      return new StoreError('IO', `cannot restore ${current === undefined ? 'archive' : `entry '${current}'`} to '${this.dest}': ${why}`, { cause: err });
    }
    const where = current === undefined ? `archive refused ${this.last === undefined ? 'at the start of the archive' : `after entry '${this.last}'`}` : `archive entry '${current}' refused`;
    return new StoreError('HOSTILE_ARCHIVE', `${where}: corrupt or truncated (${why})`, {
      cause: err,
      hint: 'the archive is corrupt or truncated; nothing was restored',
    });
  }
}

/**
 * Restore the archive read from `source` to `dest`, which must not exist. Returns the hash and
 * size of the bytes read, so callers can compare them with what they expected.
 */
export async function restoreArchive(source: Readable | AsyncIterable<Buffer>, dest: string): Promise<NarInfo> {
  const r = new ArchiveRestorer(dest);
  try {
    for await (const chunk of source) r.feed(chunk as Buffer);
    return r.finish();
  } catch (err) {
    throw r.abort(err);
  }
}

/** Pieces small enough that a piece is still in the CPU's cache when it is written out. */
const READ_PIECE = 256 << 10;

/**
 * restoreArchive for an archive stored at `start` in `file`, `length` bytes long (one archive
 * of a bundle): read, hashed and written piece by piece, synchronously, without streams.
 */
export function restoreArchiveFromFile(file: string, start: number, length: number, dest: string): NarInfo {
  const r = new ArchiveRestorer(dest);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.allocUnsafe(Math.min(READ_PIECE, Math.max(length, 1)));
    for (let done = 0; done < length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - done), start + done);
      if (n === 0) break; // the file is shorter than it said: finish() reports the truncation
      r.feed(buf.subarray(0, n));
      done += n;
    }
    return r.finish();
  } catch (err) {
    throw r.abort(err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
