/**
 * Restore a canonical archive into a new directory entry. Every header is checked before
 * anything is written for it; on any error the partly restored object is removed, so a
 * hostile or corrupt archive leaves nothing behind.
 */
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { StoreError } from '../errors.js';
import { HashSink } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { ARCHIVE_MTIME, canonicalMode, canonicaliseTree, pathExists, removeTree } from './canonical.js';
import { entryPath, type EntryType } from './walk.js';
import type { NarInfo } from './dump.js';

const ALLOWED_PAX_KEYS = new Set(['path', 'linkpath']);

function hostile(name: string, why: string): never {
  throw new StoreError('HOSTILE_ARCHIVE', `archive entry '${name}' refused: ${why}`, {
    hint: 'the archive is corrupt or was not written by `store dump`/`store export`; nothing was restored',
  });
}

function checkName(name: string): void {
  if (name === '.') return;
  if (name.startsWith('/')) hostile(name, 'absolute path');
  if (!name.startsWith('./')) hostile(name, "names must start with './'");
  if (name.includes('\0')) hostile(name, 'NUL in name');
  for (const part of name.slice(2).split('/')) {
    if (part === '..') hostile(name, "'..' component");
    if (part === '' || part === '.') hostile(name, 'empty or "." component');
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

function checkHeader(h: tar.Header, canonical: boolean): Checked {
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
  if (canonical) {
    if (mode !== canonicalMode(type, executable)) hostile(name, `non-canonical mode ${mode.toString(8)}`);
    if ((h.mtime?.getTime() ?? 0) !== ARCHIVE_MTIME.getTime()) hostile(name, 'non-canonical mtime');
    if (h.uid || h.gid || h.uname || h.gname) hostile(name, 'non-canonical owner');
    if (type !== 'symlink' && h.linkname) hostile(name, `a ${type} with a link target '${h.linkname}'`);
    if (h.devmajor || h.devminor) hostile(name, 'device numbers on a non-device entry');
    for (const key of Object.keys(h.pax ?? {})) if (!ALLOWED_PAX_KEYS.has(key)) hostile(name, `extended header '${key}'`);
  }
  return { type, executable };
}

export interface RestoreOptions {
  /** Refuse headers that `store dump` would not have written (default: true). */
  canonical?: boolean;
}

const BLOCK = 512;
/** tar-stream's packer ends an archive with two zero blocks, and nothing after them. */
const END_OF_ARCHIVE = 2 * BLOCK;

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Length of one pax record as tar-stream writes it: "<len> <key>=<value>\n", len counting itself. */
function paxRecordLength(key: string, value: string): number {
  const len = Buffer.byteLength(` ${key}=${value}\n`);
  let digits = String(len).length;
  if (len + digits >= 10 ** digits) digits++;
  return len + digits;
}

/** Bytes the canonical packer writes before an entry's own header when it needs a pax header. */
function paxRegionLength(h: tar.Header): number {
  const body = paxRecordLength('path', h.name) + (h.linkname ? paxRecordLength('linkpath', h.linkname) : 0);
  return BLOCK + padded(body);
}

function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}


/**
 * Restore the archive read from `source` to `dest`, which must not exist. Returns the hash and
 * size of the bytes read, so callers can compare them with what they expected.
 */
export async function restoreArchive(source: Readable | AsyncIterable<Buffer>, dest: string, opts: RestoreOptions = {}): Promise<NarInfo> {
  const canonical = opts.canonical ?? true;
  if (pathExists(dest)) throw new StoreError('IO', `cannot restore to '${dest}': it already exists`);
  const sink = new HashSink();
  // The last bytes read: a complete archive ends with its end-of-archive marker.
  let tail = Buffer.alloc(0);
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sink.update(chunk);
      tail = chunk.length >= END_OF_ARCHIVE ? Buffer.from(chunk.subarray(chunk.length - END_OF_ARCHIVE)) : Buffer.concat([tail, chunk]).subarray(-END_OF_ARCHIVE);
      cb(null, chunk);
    },
  });
  const extract = tar.extract();
  const feeding = pipeline(source, tap, extract);
  const written: Array<{ name: string; type: EntryType; executable: boolean }> = [];
  const directories = new Set<string>();
  let previous: Buffer | undefined;
  /** The entry being restored, and the last one restored completely. */
  let current: string | undefined;
  let last: string | undefined;
  /** Offset just after the last entry's (padded) data: where the next header must start. */
  let end = 0;
  const after = () => (last === undefined ? 'at the start of the archive' : `after entry '${last}'`);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      current = h.name;
      checkName(h.name);
      const { type, executable } = checkHeader(h, canonical);
      if (canonical) {
        // Nothing may hide between entries: no extra zero blocks, long-name or global headers.
        const start = entry.offset - (h.pax ? paxRegionLength(h) : 0);
        if (start !== end) hostile(h.name, `non-canonical layout: ${start - end} unexpected bytes before it`);
      }
      const key = Buffer.from(h.name);
      if (previous === undefined) {
        if (h.name !== '.') hostile(h.name, "the first entry must be the root '.'");
      } else {
        const cmp = Buffer.compare(previous, key);
        if (cmp === 0) hostile(h.name, 'duplicate entry');
        if (cmp > 0) hostile(h.name, 'entries are not sorted');
        // The parent must be a directory restored by this archive: nothing is ever written
        // through a symlink or below a file.
        if (!directories.has(parentOf(h.name))) hostile(h.name, 'its parent is not a directory of this archive');
      }
      previous = key;
      const p = entryPath(dest, h.name);
      if (type === 'directory') {
        fs.mkdirSync(p, { mode: 0o755 });
        directories.add(h.name);
        entry.resume();
      } else if (type === 'symlink') {
        fs.symlinkSync(h.linkname!, p);
        entry.resume();
      } else {
        const fd = fs.openSync(p, 'wx', 0o644);
        let size = 0;
        try {
          for await (const chunk of entry) {
            fs.writeSync(fd, chunk as Buffer);
            size += (chunk as Buffer).length;
          }
        } finally {
          fs.closeSync(fd);
        }
        if (size !== h.size) hostile(h.name, `truncated: ${size} of ${h.size} bytes`);
      }
      written.push({ name: h.name, type, executable });
      end = entry.offset + BLOCK + padded(type === 'file' ? h.size : 0);
      last = h.name;
      current = undefined;
    }
    await feeding;
    if (written.length === 0) throw new StoreError('HOSTILE_ARCHIVE', 'the archive holds no entries', { hint: 'it is empty or truncated; nothing was restored' });
    if (sink.size < end + END_OF_ARCHIVE || !tail.equals(Buffer.alloc(END_OF_ARCHIVE))) {
      hostile(last!, 'the archive is truncated after it (no end-of-archive marker)');
    }
    if (canonical && sink.size !== end + END_OF_ARCHIVE) {
      hostile(last!, `non-canonical layout: ${sink.size - end - END_OF_ARCHIVE} extra bytes after the end-of-archive marker`);
    }
    canonicaliseTree(dest, written);
  } catch (err) {
    extract.destroy();
    await feeding.catch(() => {});
    removeTree(dest);
    if (err instanceof StoreError) throw err;
    const why = (err as Error)?.message ?? String(err);
    if (isSystemError(err)) {
      throw new StoreError('IO', `cannot restore ${current === undefined ? 'archive' : `entry '${current}'`} to '${dest}': ${why}`, { cause: err });
    }
    const where = current === undefined ? `archive refused ${after()}` : `archive entry '${current}' refused`;
    throw new StoreError('HOSTILE_ARCHIVE', `${where}: corrupt or truncated (${why})`, {
      cause: err,
      hint: 'the archive is corrupt or truncated; nothing was restored',
    });
  }
  const digest = sink.digest();
  return { narHash: toSRI(digest), narSize: sink.size, digest };
}
