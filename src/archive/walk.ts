/** Walk a file-system object in canonical order: entry names compared as UTF-8 bytes. */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';

export type EntryType = 'file' | 'directory' | 'symlink';

export interface TreeEntry {
  /** '.' for the root, './a/b' below it. */
  name: string;
  /** Absolute path on disk. */
  abs: string;
  type: EntryType;
  executable: boolean;
  size: number;
  target?: string;
  /** Hard links to it (files and symlinks), from lstat. */
  links?: number;
}

const EXEC_BITS = 0o111;

function describe(st: fs.Stats): string {
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'of an unknown type';
}

/**
 * A symlink's target, which must be valid UTF-8 as names must: Node decodes invalid bytes as
 * U+FFFD, so such a target would be archived as something else than it is.
 */
export function readTarget(abs: string): string {
  const target = fs.readlinkSync(abs);
  if (target.includes('\uFFFD')) throw new StoreError('IO', `cannot store '${abs}': its symlink target is not valid UTF-8`);
  return target;
}

export function entryFor(abs: string, name: string, st: fs.Stats): TreeEntry {
  if (st.isFile()) return { name, abs, type: 'file', executable: (st.mode & EXEC_BITS) !== 0, size: st.size, links: st.nlink };
  if (st.isDirectory()) return { name, abs, type: 'directory', executable: false, size: 0 };
  if (st.isSymbolicLink()) {
    return { name, abs, type: 'symlink', executable: false, size: 0, target: readTarget(abs), links: st.nlink };
  }
  throw new StoreError('IO', `cannot store '${abs}': it is ${describe(st)}`, {
    hint: 'only regular files, directories and symlinks can be stored',
  });
}

/** An entry of a tree as a directory listing tells it, without a stat: files are stat'ed when read. */
export interface WalkEntry {
  /** '.' for the root, './a/b' below it. */
  name: string;
  /** Absolute path on disk. */
  abs: string;
  type: EntryType;
  target?: string;
}

const NEEDS_BYTE_ORDER = /[\uD800-\uFFFF]/;

/** What entry './a/b' below `root` is on disk without its 'a/b' (as path.join spells it). */
export function childPrefix(root: string): string {
  return path.join(root, 'x').slice(0, -1);
}

/**
 * The one walk of a tree: its entries, the root first, then in canonical order (byte order of
 * the UTF-8 names), from directory listings alone (their entry types say what each is; no stat
 * per entry). Refuses, before returning anything, a name or symlink target that is not UTF-8
 * and anything but files, directories and symlinks. `manyFiles.call` is called once, as soon as
 * `manyFiles.at` files have been seen (dump starts its reader thread then).
 */
export function walkTree(root: string, manyFiles?: { at: number; call: () => void }): WalkEntry[] {
  const rootEntry = entryFor(root, '.', fs.lstatSync(root));
  const out: WalkEntry[] = [{ name: '.', abs: root, type: rootEntry.type, target: rootEntry.target }];
  if (rootEntry.type !== 'directory') return out;
  let byteOrder = false;
  let files = 0;
  const prefix = childPrefix(root);
  const stack: Array<[string, string]> = [[root, '.']];
  while (stack.length) {
    const [dirAbs, dirName] = stack.pop()!;
    for (const d of fs.readdirSync(dirAbs, { withFileTypes: true })) {
      const base = d.name;
      if (base.includes('\uFFFD')) {
        throw new StoreError('IO', `cannot store '${path.join(dirAbs, base)}': its name is not valid UTF-8`);
      }
      if (!byteOrder && NEEDS_BYTE_ORDER.test(base)) byteOrder = true;
      const name = `${dirName}/${base}`;
      const abs = prefix + name.slice(2);
      if (d.isFile()) {
        out.push({ name, abs, type: 'file' });
        if (++files === manyFiles?.at) manyFiles.call();
      } else if (d.isDirectory()) {
        out.push({ name, abs, type: 'directory' });
        stack.push([abs, name]);
      } else if (d.isSymbolicLink()) out.push({ name, abs, type: 'symlink', target: readTarget(abs) });
      else entryFor(abs, name, fs.lstatSync(abs)); // throws, naming what it is
    }
  }
  // UTF-16 code unit order is UTF-8 byte order unless a name has a character from U+D800 up.
  if (byteOrder) {
    const keyed = out.map((e) => ({ e, key: Buffer.from(e.name) }));
    keyed.sort((a, b) => Buffer.compare(a.key, b.key));
    return keyed.map((k) => k.e);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * All entries of the object at `root`, the root first, then in byte order of their names, with
 * what an lstat tells of files and symlinks (size, exec bit, hard links).
 */
export function listTree(root: string): TreeEntry[] {
  return walkTree(root).map((w) => {
    if (w.type === 'directory') return { name: w.name, abs: w.abs, type: 'directory', executable: false, size: 0 };
    const st = fs.lstatSync(w.abs);
    if (w.type === 'symlink') return { name: w.name, abs: w.abs, type: 'symlink', executable: false, size: 0, target: w.target, links: st.nlink };
    return { name: w.name, abs: w.abs, type: 'file', executable: (st.mode & EXEC_BITS) !== 0, size: st.size, links: st.nlink };
  });
}

/**
 * Path on disk of entry `name` below `root`. Names are clean ('./a/b', no '.', '..' or empty
 * components: listTree makes them so, restore refuses others), so no normalising is needed.
 */
export function entryPath(root: string, name: string): string {
  if (name === '.') return root;
  return root === '' ? name.slice(2) : root.endsWith('/') ? root + name.slice(2) : root + name.slice(1);
}
