/**
 * Closure bundles (`store export` / `store import`): one file holding store paths with their
 * metadata and canonical archives, dependencies first.
 *
 *   "HEPSTORE-BUNDLE\n"                         16 bytes of magic
 *   u32le n, n bytes of JSON {format, version, storeDir}
 *   per path: u8 1, u32le m, m bytes of JSON metadata {path, narHash, narSize, references,
 *             deriver, ca, sigs}, u64le a, a bytes of canonical archive (a = narSize)
 *   u8 0                                        end of bundle
 *
 * Import reads every metadata record first (skipping the archives), checks the store
 * directory, the closure and the signatures, then restores every archive under a temporary
 * name (on several threads: archive/restore-pool.ts) and checks its narHash, and only then moves them all into place and registers them in
 * one transaction: a bundle that fails any check changes nothing.
 */
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { StoreError } from '../errors.js';
import { packPath } from '../archive/index.js';
import { restoreRanges } from '../archive/restore-pool.js';
import { removeTree } from '../archive/canonical.js';
import { HashSink } from '../hash/sha256.js';
import { parseSRI, toSRI } from '../hash/sri.js';
import type { Store, NewPathInfo, PathInfo } from '../store/store.js';
import { acceptable, addSignatures, untrustedReason, vouchedFor, type SecretKey, type TrustedKeys } from './trust/signing.js';
import { checkContentAddress } from './trust/content-address.js';
import { exportThreads, packArchives, type ArchiveJob } from './export-threads.js';
import type { TransferProgress } from './binary/transfer.js';

export const BUNDLE_MAGIC = Buffer.from('HEPSTORE-BUNDLE\n');
const FORMAT = 'hepstore-bundle';
const VERSION = 1;
const MAX_META = 16 << 20;

export interface PathMeta {
  path: string;
  narHash: string;
  narSize: number;
  references: string[];
  deriver?: string;
  ca?: string;
  sigs: string[];
}

export function metaOf(info: PathInfo): PathMeta {
  const m: PathMeta = { path: info.path, narHash: info.narHash, narSize: info.narSize, references: [...info.references].sort(), sigs: info.sigs };
  if (info.deriver) m.deriver = info.deriver;
  if (info.ca) m.ca = info.ca;
  return m;
}

/** Writes with back-pressure, failing with the stream's own error (e.g. ENOSPC). */
class Sink {
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  constructor(private readonly out: Writable) {
    out.on('error', (e) => {
      this.error ??= e;
      this.wake?.();
    });
    out.on('drain', () => this.wake?.());
  }
  async write(b: Buffer): Promise<void> {
    if (this.error) throw this.error;
    if (!this.out.write(b)) await new Promise<void>((r) => (this.wake = r));
    this.wake = undefined;
    if (this.error) throw this.error;
  }
  async end(): Promise<void> {
    if (this.error) throw this.error;
    await new Promise<void>((resolve, reject) => {
      this.out.once('finish', resolve);
      this.out.once('error', reject);
      this.out.end();
    });
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

export interface ExportOptions {
  /** Include the closure of the paths (default true). */
  closure?: boolean;
  /** Sign each path's metadata in the bundle with these keys. */
  keys?: readonly SecretKey[];
  /** Paths written, and archive bytes (narSize) of the paths to write. */
  onProgress?: (p: TransferProgress) => void;
  /**
   * Threads that pack and hash archives when the bundle is a file (`{ fd }`); default: by
   * the size of the export (export-threads.ts), 0 for none.
   */
  threads?: number;
}

/** A bundle written to a regular file, open for writing at any offset, empty. */
export interface BundleFile {
  fd: number;
}

function mismatch(p: string, info: PathInfo, narHash: string, size: number): StoreError {
  return new StoreError('HASH_MISMATCH', `path '${p}' was modified: its archive has ${narHash === info.narHash ? `${size} bytes` : `hash ${narHash}`}, the database says ${info.narHash} (${info.narSize} bytes)`, {
    hint: 'run `store verify --check-contents --repair`; the bundle is incomplete',
  });
}

/**
 * Write `paths` (and, by default, their closure) to `out` as a bundle; returns the paths
 * written. Every archive is checked against the database's narHash as it is written.
 */
export async function exportBundle(store: Store, paths: readonly string[], out: Writable | BundleFile, opts: ExportOptions = {}): Promise<{ paths: string[]; bytes: number }> {
  store.addTempRoots(paths);
  for (const p of paths) store.pathInfo(p);
  let order: string[];
  if (opts.closure ?? true) {
    store.addTempRoots(store.queryClosure(paths));
    order = store.topoSortClosure(paths);
  } else {
    const set = new Set(paths);
    order = store.topoSortClosure(paths).filter((p) => set.has(p));
  }
  const progress: TransferProgress = { donePaths: 0, totalPaths: order.length, doneBytes: 0, totalBytes: 0 };
  for (const p of order) progress.totalBytes += store.pathInfo(p).narSize;
  opts.onProgress?.(progress);
  if (!('write' in out)) {
    const threads = opts.threads ?? exportThreads(order.length, progress.totalBytes);
    if (threads > 0) return exportToFile(store, order, out.fd, threads, progress, opts);
    out = fs.createWriteStream('', { fd: out.fd, autoClose: false, highWaterMark: 1 << 20 });
  }
  // One stream in order: each record, then its path's archive.
  const { records, jobs } = layout(store, order, opts.keys);
  const sink = new Sink(out);
  let bytes = 0;
  const put = async (b: Buffer) => {
    bytes += b.length;
    await sink.write(b);
  };
  await put(records[0].bytes);
  for (let i = 0; i < jobs.length; i++) {
    const p = jobs[i].path;
    const info = store.pathInfo(p);
    await put(records[i + 1].bytes);
    const hash = new HashSink();
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const chunk of packPath(p)) {
      const c = chunk as Buffer;
      hash.update(c);
      if (hash.size > info.narSize) break;
      pending.push(c);
      pendingBytes += c.length;
      progress.doneBytes += c.length;
      if (pendingBytes >= 1 << 20) {
        await put(pending.length === 1 ? pending[0] : Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
        opts.onProgress?.(progress);
      }
    }
    const narHash = toSRI(hash.digest());
    if (hash.size !== info.narSize || narHash !== info.narHash) throw mismatch(p, info, narHash, hash.size);
    if (pendingBytes) await put(Buffer.concat(pending));
    progress.donePaths++;
    opts.onProgress?.(progress);
  }
  await put(records[records.length - 1].bytes);
  await sink.end();
  return { paths: order, bytes };
}

/** The bundle's records (the header, one before each archive, the end) with their offsets, and the archives' places: one layout for the stream and for the threads. */
function layout(store: Store, order: readonly string[], keys: readonly SecretKey[] | undefined): { records: Array<{ offset: number; bytes: Buffer }>; jobs: ArchiveJob[]; size: number } {
  const records: Array<{ offset: number; bytes: Buffer }> = [];
  const jobs: ArchiveJob[] = [];
  const header = Buffer.from(JSON.stringify({ format: FORMAT, version: VERSION, storeDir: store.storeDir }));
  let offset = 0;
  const add = (bytes: Buffer) => {
    records.push({ offset, bytes });
    offset += bytes.length;
  };
  add(Buffer.concat([BUNDLE_MAGIC, u32(header.length), header]));
  for (const p of order) {
    const info = store.pathInfo(p);
    const meta = metaOf(info);
    if (keys?.length) meta.sigs = addSignatures(meta, meta.sigs, keys);
    const m = Buffer.from(JSON.stringify(meta));
    add(Buffer.concat([Buffer.from([1]), u32(m.length), m, u64(info.narSize)]));
    jobs.push({ path: p, offset, narSize: info.narSize });
    offset += info.narSize;
  }
  add(Buffer.from([0]));
  return { records, jobs, size: offset };
}

function writeAllAt(fd: number, b: Buffer, pos: number): void {
  for (let done = 0; done < b.length; ) done += fs.writeSync(fd, b, done, b.length - done, pos + done);
}

/** The bundle written to a file: the records by this thread, the archives on `threads` threads at their own offsets (export-threads.ts). */
async function exportToFile(store: Store, order: string[], fd: number, threads: number, progress: TransferProgress, opts: ExportOptions): Promise<{ paths: string[]; bytes: number }> {
  const { records, jobs, size } = layout(store, order, opts.keys);
  for (const r of records) writeAllAt(fd, r.bytes, r.offset);
  let shown = 0;
  const packed = await packArchives(
    fd,
    jobs,
    threads,
    (bytes) => {
      progress.doneBytes += bytes;
      // An update a MiB or so: the display redraws on its own clock.
      if (progress.doneBytes - shown >= 1 << 20) {
        shown = progress.doneBytes;
        opts.onProgress?.(progress);
      }
    },
    () => {
      progress.donePaths++;
      opts.onProgress?.(progress);
    },
  );
  for (let i = 0; i < jobs.length; i++) {
    const info = store.pathInfo(jobs[i].path);
    if (packed[i].size !== info.narSize || packed[i].narHash !== info.narHash) throw mismatch(jobs[i].path, info, packed[i].narHash, packed[i].size);
  }
  return { paths: order, bytes: size };
}

// ---- reading ---------------------------------------------------------------------------------

interface Entry {
  meta: PathMeta;
  /** Offset of the archive in the file. */
  offset: number;
}

function corrupt(file: string, why: string): never {
  throw new StoreError('HOSTILE_ARCHIVE', `bundle ${file} is corrupt: ${why}`, { hint: 'it was truncated or altered; nothing was imported' });
}

async function readExact(fh: fs.promises.FileHandle, pos: number, len: number, file: string): Promise<Buffer> {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(b, got, len - got, pos + got);
    if (bytesRead === 0) corrupt(file, `it ends at byte ${pos + got}, inside a record`);
    got += bytesRead;
  }
  return b;
}

/** Control characters (newlines included) and Unicode line separators: no field may hold one. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function describeChar(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function checkMeta(v: unknown, store: Store, file: string): PathMeta {
  const m = v as PathMeta;
  const shown = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x).slice(1, -1) : '?');
  const bad = (why: string): never => corrupt(file, `metadata of '${shown((m as { path?: unknown })?.path)}': ${why}`);
  if (!m || typeof m !== 'object') bad('not an object');
  // Every string field is checked before anything is done with it: a newline in a signature
  // or a reference would be written as it is into the database, narinfo files and messages.
  const fields: Array<[string, unknown]> = [['path', m.path], ['narHash', m.narHash], ['deriver', m.deriver], ['ca', m.ca]];
  if (Array.isArray(m.references)) m.references.forEach((r, i) => fields.push([`references[${i}]`, r]));
  if (Array.isArray(m.sigs)) m.sigs.forEach((x, i) => fields.push([`sigs[${i}]`, x]));
  for (const [field, value] of fields) {
    const c = typeof value === 'string' ? CONTROL.exec(value) : null;
    if (c) bad(`${field} holds a control character (${describeChar(c[0])})`);
  }
  if (typeof m.path !== 'string') bad('no path');
  store.parse(m.path);
  if (typeof m.narHash !== 'string') bad('no narHash');
  try {
    parseSRI(m.narHash);
  } catch {
    bad(`narHash '${m.narHash}' is not a sha256 SRI string`);
  }
  if (!Number.isSafeInteger(m.narSize) || m.narSize < 0) bad('bad narSize');
  if (!Array.isArray(m.references) || m.references.some((r) => typeof r !== 'string')) bad('bad references');
  for (const r of m.references) store.parse(r);
  if (m.deriver !== undefined && (typeof m.deriver !== 'string' || (store.parse(m.deriver), false))) bad('bad deriver');
  if (m.ca !== undefined && typeof m.ca !== 'string') bad('bad ca');
  if (m.sigs === undefined) m.sigs = [];
  if (!Array.isArray(m.sigs) || m.sigs.some((s) => typeof s !== 'string')) bad('bad sigs');
  // Signatures are stored separated by spaces.
  m.sigs.forEach((x, i) => /\s/.test(x) && bad(`sigs[${i}] holds white space`));
  return { path: m.path, narHash: m.narHash, narSize: m.narSize, references: [...m.references].sort(), deriver: m.deriver, ca: m.ca, sigs: m.sigs };
}

/** Read a bundle's header and metadata records, skipping the archives. */
export async function readBundleIndex(file: string, store: Store): Promise<{ storeDir: string; entries: Entry[] }> {
  const fh = await fs.promises.open(file, 'r').catch((e) => {
    throw new StoreError('IO', `cannot open bundle ${file}: ${(e as Error).message}`);
  });
  try {
    const size = (await fh.stat()).size;
    const magic = await readExact(fh, 0, BUNDLE_MAGIC.length, file).catch(() => Buffer.alloc(0));
    if (!magic.equals(BUNDLE_MAGIC)) throw new StoreError('USAGE', `${file} is not a hepstore bundle`, { hint: 'make one with `store export PATH... -o FILE`' });
    let pos = BUNDLE_MAGIC.length;
    const hlen = (await readExact(fh, pos, 4, file)).readUInt32LE();
    if (hlen > MAX_META) corrupt(file, 'header too long');
    pos += 4;
    let header: { format?: string; version?: number; storeDir?: string };
    try {
      header = JSON.parse((await readExact(fh, pos, hlen, file)).toString('utf8'));
    } catch {
      corrupt(file, 'its header is not JSON');
    }
    pos += hlen;
    if (header.format !== FORMAT || header.version !== VERSION) corrupt(file, `unknown format ${header.format} version ${header.version}`);
    if (typeof header.storeDir !== 'string') corrupt(file, 'no store directory in the header');
    if (CONTROL.test(header.storeDir)) corrupt(file, 'the store directory in its header holds a control character');
    const entries: Entry[] = [];
    for (;;) {
      const tag = (await readExact(fh, pos, 1, file))[0];
      pos += 1;
      if (tag === 0) break;
      if (tag !== 1) corrupt(file, `unexpected record tag ${tag} at byte ${pos - 1}`);
      const mlen = (await readExact(fh, pos, 4, file)).readUInt32LE();
      if (mlen > MAX_META) corrupt(file, `metadata record of ${mlen} bytes at byte ${pos}`);
      pos += 4;
      let raw: unknown;
      try {
        raw = JSON.parse((await readExact(fh, pos, mlen, file)).toString('utf8'));
      } catch {
        corrupt(file, `metadata at byte ${pos} is not JSON`);
      }
      pos += mlen;
      const alen = Number((await readExact(fh, pos, 8, file)).readBigUInt64LE());
      pos += 8;
      if (header.storeDir !== store.storeDir) break; // reported by the caller
      const meta = checkMeta(raw, store, file);
      if (alen !== meta.narSize) corrupt(file, `archive of '${meta.path}' has ${alen} bytes, its narSize says ${meta.narSize}`);
      if (pos + alen > size) corrupt(file, `it ends inside the archive of '${meta.path}'`);
      entries.push({ meta, offset: pos });
      pos += alen;
    }
    if (header.storeDir === store.storeDir && pos !== size) corrupt(file, `${size - pos} bytes after the end of the bundle`);
    return { storeDir: header.storeDir, entries };
  } finally {
    await fh.close();
  }
}

export interface ImportOptions {
  /** Require a signature by a trusted key on every path that is not content-addressed (default true). */
  requireSigs?: boolean;
  trusted?: TrustedKeys;
  /** Archives restored (and bytes, narSize), of those to import. */
  onProgress?: (p: TransferProgress) => void;
}

export interface ImportResult {
  imported: string[];
  alreadyValid: string[];
  bytes: number;
  /** The bundle's tops: its paths that none of its other paths refers to (what was exported). */
  tops: string[];
}

/** Import a bundle; see the module comment for what is checked. */
export async function importBundle(store: Store, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const { storeDir, entries } = await readBundleIndex(file, store);
  if (storeDir !== store.storeDir) {
    throw new StoreError('STORE_MISMATCH', `bundle ${file} was made for the store directory ${storeDir}, not ${store.storeDir}`, {
      hint: 'store paths include their store directory: import it into a store at the same directory',
    });
  }
  const all = entries.map((e) => e.meta.path);
  // GC: root everything (and every reference) before looking at validity.
  store.addTempRoots([...all, ...entries.flatMap((e) => e.meta.references)]);
  const seen = new Set<string>();
  const todo: Entry[] = [];
  const alreadyValid: string[] = [];
  for (const e of entries) {
    const m = e.meta;
    if (seen.has(m.path)) corrupt(file, `'${m.path}' appears twice`);
    for (const r of m.references) {
      if (r === m.path || seen.has(r) || store.isValid(r)) continue;
      throw new StoreError('NOT_VALID', `cannot import '${m.path}': its reference '${r}' is neither in the bundle (before it) nor valid in the store`, {
        hint: 'the bundle does not hold a complete closure: export it again with its closure (the default), or import its dependencies first',
      });
    }
    seen.add(m.path);
    if (store.isValid(m.path)) alreadyValid.push(m.path);
    else todo.push(e);
  }
  const requireSigs = opts.requireSigs ?? true;
  const trusted = opts.trusted ?? new Map();
  if (requireSigs) {
    for (const { meta: m } of todo) {
      if (acceptable(m, m.sigs, trusted, requireSigs)) continue;
      throw new StoreError('VERIFY_FAILED', `cannot import '${m.path}': ${untrustedReason(m.sigs, trusted, store.layout.configFile)}`, {
        hint: 'or pass --no-require-sigs if you trust where the bundle comes from',
      });
    }
  }
  const staged = todo.map(({ meta: m }) => ({
    temp: store.tempPath('import'),
    info: { path: m.path, narHash: m.narHash, narSize: m.narSize, references: m.references, deriver: m.deriver, ca: m.ca, sigs: m.sigs, ultimate: false } as NewPathInfo,
  }));
  let bytes = 0;
  try {
    // Every archive is restored (several at once) and hashed as it is read; then each is
    // checked, in bundle order, and only if all pass is anything registered.
    const progress: TransferProgress = { donePaths: 0, totalPaths: todo.length, doneBytes: 0, totalBytes: todo.reduce((n, e) => n + e.meta.narSize, 0) };
    opts.onProgress?.(progress);
    const restored = await restoreRanges(
      todo.map((e, i) => ({ file, start: e.offset, length: e.meta.narSize, dest: staged[i].temp })),
      {
        onDone: (i) => {
          progress.donePaths++;
          progress.doneBytes += todo[i].meta.narSize;
          opts.onProgress?.(progress);
        },
      },
    );
    for (let i = 0; i < todo.length; i++) {
      const m = todo[i].meta;
      const temp = staged[i].temp;
      const got = restored[i];
      if (got === undefined) continue; // not started: an earlier failure is reported below
      if (got instanceof Error) {
        if (got instanceof StoreError) throw new StoreError(got.code, `importing '${m.path}': ${got.message}`, { hint: got.hint, cause: got });
        throw got;
      }
      if (got.narHash !== m.narHash || got.narSize !== m.narSize) {
        throw new StoreError('HASH_MISMATCH', `hash mismatch importing path '${m.path}':\n  wanted: ${m.narHash} (${m.narSize} bytes)\n  got:    ${got.narHash} (${got.narSize} bytes)`, {
          hint: 'the bundle was altered or damaged; nothing was imported',
        });
      }
      if (m.ca) {
        const why = checkContentAddress(m, store.storeDir, temp);
        if (why && !vouchedFor(m, m.sigs, trusted, requireSigs)) {
          throw new StoreError('VERIFY_FAILED', `cannot import '${m.path}': ${why}`, { hint: 'the bundle was altered; nothing was imported' });
        }
      }
      bytes += m.narSize;
    }
    if (restored.some((r) => r === undefined)) throw new Error('internal error: an archive of the bundle was not restored');
    store.commitPaths(staged);
  } finally {
    for (const s of staged) removeTree(s.temp);
  }
  const referenced = new Set(entries.flatMap((e) => e.meta.references.filter((r) => r !== e.meta.path)));
  const tops = all.filter((p) => !referenced.has(p)).sort();
  return { imported: todo.map((e) => e.meta.path), alreadyValid, bytes, tops };
}
