/** List a file-system object in canonical order: entry names compared as UTF-8 bytes. */
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

function compareNames(a: { key: Buffer }, b: { key: Buffer }): number {
  return Buffer.compare(a.key, b.key);
}

/** All entries of the object at `root`, the root first, then in byte order of their names. */
export function listTree(root: string): TreeEntry[] {
  const st = fs.lstatSync(root);
  const out: Array<TreeEntry & { key: Buffer }> = [];
  const push = (e: TreeEntry) => out.push(Object.assign(e, { key: Buffer.from(e.name) }));
  push(entryFor(root, '.', st));
  if (st.isDirectory()) {
    const stack: Array<[string, string]> = [[root, '.']];
    while (stack.length) {
      const [dirAbs, dirName] = stack.pop()!;
      for (const d of fs.readdirSync(dirAbs)) {
        if (d.includes('\uFFFD')) {
          throw new StoreError('IO', `cannot store '${path.join(dirAbs, d)}': its name is not valid UTF-8`);
        }
        const abs = path.join(dirAbs, d);
        const name = `${dirName}/${d}`;
        const e = entryFor(abs, name, fs.lstatSync(abs));
        push(e);
        if (e.type === 'directory') stack.push([abs, name]);
      }
    }
  }
  out.sort(compareNames);
  return out.map(({ key: _key, ...e }) => e);
}

/**
 * Path on disk of entry `name` below `root`. Names are clean ('./a/b', no '.', '..' or empty
 * components: listTree makes them so, restore refuses others), so no normalising is needed.
 */
export function entryPath(root: string, name: string): string {
  if (name === '.') return root;
  return root === '' ? name.slice(2) : root.endsWith('/') ? root + name.slice(2) : root + name.slice(1);
}
