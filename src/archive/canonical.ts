/** The canonical form of objects on disk and in archive headers (Invariant 4). */
import fs from 'node:fs';
import path from 'node:path';
import { nodeCrypto } from '../hash/crypto.js';
import type { TreeEntry, EntryType } from './walk.js';
import { entryPath, listTree } from './walk.js';
import { tarHeaders } from './tar-headers.js';

export const MODE_FILE = 0o444;
export const MODE_EXECUTABLE = 0o555;
export const MODE_DIRECTORY = 0o555;
export const MODE_SYMLINK = 0o777;
/** Files in the store get mtime 1 (as Nix does: 0 is often read as "unknown"). */
export const STORE_MTIME = 1;
export const ARCHIVE_MTIME = new Date(0);

/** The tar header of an entry in the canonical archive: only type, mode, size and target vary. */
export function canonicalHeader(name: string, type: EntryType, size: number, executable: boolean, target?: string) {
  return {
    name,
    type,
    mode: canonicalMode(type, executable),
    size,
    linkname: type === 'symlink' ? target : undefined,
    mtime: ARCHIVE_MTIME,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
  };
}

const BLOCK = 512;

/**
 * Every byte the canonical archive holds before an entry's data: its ustar header, preceded by
 * a pax header (and its zero-padded records) when the name or link target does not fit ustar —
 * the framing of tar-stream's packer (Pack._encodePax), which `store dump` writes through, with
 * tar-stream's own encoder. Restoring compares each header it reads with this, byte for byte.
 */
export function canonicalHeaderBytes(name: string, type: EntryType, size: number, executable: boolean, target?: string): Buffer {
  const h = canonicalHeader(name, type, size, executable, target);
  const codec = tarHeaders();
  const plain = codec.encode(h);
  if (plain) return plain;
  const pax = codec.encodePax({ name: h.name, linkname: h.linkname });
  const paxHeader = { ...h, name: 'PaxHeader', size: pax.byteLength, type: 'pax-header', linkname: h.linkname && 'PaxHeader' };
  const padded = Math.ceil(pax.byteLength / BLOCK) * BLOCK;
  const out = Buffer.alloc(BLOCK + padded + BLOCK);
  codec.encode(paxHeader)!.copy(out, 0);
  pax.copy(out, BLOCK);
  codec.encode({ ...paxHeader, size: h.size, type: h.type })!.copy(out, BLOCK + padded);
  return out;
}

/** Whether anything (a dangling symlink included) is at `p`. */
export function pathExists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

export function canonicalMode(type: EntryType, executable: boolean): number {
  if (type === 'directory') return MODE_DIRECTORY;
  if (type === 'symlink') return MODE_SYMLINK;
  return executable ? MODE_EXECUTABLE : MODE_FILE;
}

/**
 * Make the tree at `root` read-only with fixed timestamps. `entries` (names relative to root,
 * canonical order) may be passed when the caller already walked it; entries that carry a link
 * count (listTree's) have their hard links broken first.
 */
export function canonicaliseTree(root: string, entries?: readonly Pick<TreeEntry, 'name' | 'type' | 'executable' | 'links'>[]): void {
  const list = entries ?? listTree(root);
  // Children before parents, so that a directory is made read-only only after its contents.
  for (let i = list.length - 1; i >= 0; i--) {
    const e = list[i];
    const p = entryPath(root, e.name);
    if (e.links !== undefined && e.links > 1) unshare(p, e.type, p !== root);
    if (e.type !== 'symlink') fs.chmodSync(p, canonicalMode(e.type, e.executable));
    fs.lutimesSync(p, STORE_MTIME, STORE_MTIME);
  }
}

/**
 * Give a hard-linked file (or symlink) an inode of its own, so that making it canonical
 * changes nothing else: a build without the sandbox can link a host file (or another store
 * object) into its output, and chmod or utimes on the link would change that file too.
 */
function unshare(p: string, type: EntryType, inTree: boolean): void {
  // Its directory is still the builder's (canonicalised after its contents), but may be read-only.
  if (inTree) fs.chmodSync(path.dirname(p), 0o755);
  if (type === 'symlink') {
    const target = fs.readlinkSync(p);
    fs.unlinkSync(p);
    fs.symlinkSync(target, p);
    return;
  }
  const copy = `${p}.unshare-${nodeCrypto().randomBytes(6).toString('hex')}`;
  try {
    fs.copyFileSync(p, copy);
    fs.renameSync(copy, p);
  } finally {
    fs.rmSync(copy, { force: true });
  }
}

/** Make a tree (possibly read-only, as store objects are) writable again so it can be removed. */
export function makeWritable(root: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(root);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    try {
      fs.chmodSync(dir, 0o755);
    } catch {
      /* not ours to change; removal will say so */
    }
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      if (d.isDirectory()) stack.push(`${dir}/${d.name}`);
    }
  }
}

/** Remove a tree that may be read-only. Missing paths are fine. */
export function removeTree(root: string): void {
  makeWritable(root);
  fs.rmSync(root, { recursive: true, force: true });
}
