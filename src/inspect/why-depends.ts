/**
 * `store why-depends A B`: a shortest chain of references from A down to B, and for each hop
 * where in the referring path the next one's hash appears — a file's contents, a symlink's
 * target or an entry's name — with a few characters around it, as `nix why-depends` shows.
 */
import fs from 'node:fs';
import { StoreError } from '../errors.js';
import { listTree } from '../archive/walk.js';
import type { Store } from '../store/store.js';
import { hashPartOf } from '../store/path.js';

/** Characters shown on each side of a hash in an excerpt. */
const MARGIN = 32;
const CHUNK = 1 << 20;

export interface Hit {
  /** The entry inside the referring path: '' for the path itself, else 'a/b'. */
  file: string;
  /** Where the hash was seen. */
  in: 'contents' | 'target' | 'name';
  /** Byte offset of the hash in the file (contents only). */
  offset?: number;
  /** The hash with up to MARGIN characters on each side, unprintable bytes as '.' (a whole symlink target or name). */
  excerpt: string;
}

export interface Hop {
  path: string;
  /** Where `path` refers to the next path of the chain (none for the last). */
  hits: Hit[];
}

/** A shortest chain of references from `from` to `to` (both included), or undefined if `from` does not depend on `to`. */
export function referenceChain(store: Store, from: string, to: string): string[] | undefined {
  const prev = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const p = queue[head];
    if (p === to) {
      const chain: string[] = [];
      for (let q: string | null = p; q !== null; q = prev.get(q)!) chain.push(q);
      return chain.reverse();
    }
    for (const r of store.pathInfo(p).references) {
      if (prev.has(r)) continue;
      prev.set(r, p);
      queue.push(r);
    }
  }
  return undefined;
}

function printable(b: Buffer): string {
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  return s;
}

/** The first place `needle` occurs in a file, read in chunks, with the bytes around it. */
function searchFile(abs: string, needle: Buffer): { offset: number; excerpt: string } | undefined {
  const fd = fs.openSync(abs, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(CHUNK + needle.length);
    let carry = 0;
    for (let pos = 0; pos < size; ) {
      const n = fs.readSync(fd, buf, carry, CHUNK, pos);
      if (n <= 0) break;
      const len = carry + n;
      const i = buf.subarray(0, len).indexOf(needle);
      if (i >= 0) {
        const at = pos - carry + i;
        const from = Math.max(0, at - MARGIN);
        const around = Buffer.alloc(Math.min(size, at + needle.length + MARGIN) - from);
        fs.readSync(fd, around, 0, around.length, from);
        const end = from + around.length;
        return { offset: at, excerpt: `${from > 0 ? '…' : ''}${printable(around)}${end < size ? '…' : ''}` };
      }
      pos += n;
      carry = Math.min(needle.length - 1, len);
      buf.copy(buf, 0, len - carry, len);
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Every entry of store path `p` in which the hash part of `ref` appears. */
export function findReferences(p: string, ref: string): Hit[] {
  const hash = hashPartOf(ref);
  const needle = Buffer.from(hash);
  const hits: Hit[] = [];
  for (const e of listTree(p)) {
    const file = e.name === '.' ? '' : e.name.slice(2);
    const base = file.slice(file.lastIndexOf('/') + 1);
    if (base.includes(hash)) hits.push({ file, in: 'name', excerpt: base });
    if (e.type === 'symlink') {
      const at = e.target!.indexOf(hash);
      if (at >= 0) hits.push({ file, in: 'target', excerpt: e.target! });
    } else if (e.type === 'file' && e.size >= hash.length) {
      const found = searchFile(e.abs, needle);
      if (found) hits.push({ file, in: 'contents', ...found });
    }
  }
  return hits;
}

/** The chain from `from` to `to` with, for each hop, where it refers to the next. */
export function whyDepends(store: Store, from: string, to: string): Hop[] {
  store.pathInfo(from);
  store.pathInfo(to);
  const chain = referenceChain(store, from, to);
  if (!chain) {
    throw new StoreError('USAGE', `'${from}' does not depend on '${to}'`, { hint: `'${to}' is not in its closure (store path-info -r ${from})` });
  }
  return chain.map((p, i) => ({ path: p, hits: i + 1 < chain.length ? findReferences(p, chain[i + 1]) : [] }));
}
