/**
 * The per-path metadata file of a binary cache, `<hashpart>.narinfo`, in Nix's shape:
 * `Key: value` lines; References and Deriver hold base names; Sig may repeat.
 * NarHash and FileHash are SRI strings (sha256-…), as everywhere in this store.
 */
import path from 'node:path';
import { StoreError } from '../../errors.js';
import { parseSRI } from '../../hash/sri.js';
import { parseStorePath } from '../../store/path.js';

export type Compression = 'none' | 'gzip' | 'br';

export interface NarInfo {
  storePath: string;
  url: string;
  compression: Compression;
  fileHash: string;
  fileSize: number;
  narHash: string;
  narSize: number;
  references: string[];
  deriver?: string;
  sigs: string[];
  ca?: string;
}

/** Control characters (a newline among them) would let a value add lines of its own. */
const CONTROL = /[\x00-\x1f\x7f]/;

function printable(v: string): string {
  return JSON.stringify(v).slice(1, -1);
}

export function serialiseNarInfo(n: NarInfo): string {
  const values: Array<[string, string | undefined]> = [
    ['StorePath', n.storePath],
    ['URL', n.url],
    ['Deriver', n.deriver],
    ['CA', n.ca],
    ...n.references.map((r): [string, string] => ['References', r]),
    ...n.sigs.map((s): [string, string] => ['Sig', s]),
  ];
  for (const [k, v] of values) {
    if (v !== undefined && CONTROL.test(v)) {
      throw new StoreError('VERIFY_FAILED', `the narinfo of ${printable(n.storePath)} cannot be written: its ${k} '${printable(v)}' holds a control character`, {
        hint: k === 'Sig' ? 'remove the bad signature (re-sign the path with `store sign`)' : 'the database holds a value no narinfo may carry; run `store verify`',
      });
    }
  }
  const lines = [
    `StorePath: ${n.storePath}`,
    `URL: ${n.url}`,
    `Compression: ${n.compression}`,
    `FileHash: ${n.fileHash}`,
    `FileSize: ${n.fileSize}`,
    `NarHash: ${n.narHash}`,
    `NarSize: ${n.narSize}`,
    `References: ${n.references.map((r) => path.basename(r)).sort().join(' ')}`,
  ];
  if (n.deriver) lines.push(`Deriver: ${path.basename(n.deriver)}`);
  for (const s of n.sigs) lines.push(`Sig: ${s}`);
  if (n.ca) lines.push(`CA: ${n.ca}`);
  return lines.join('\n') + '\n';
}

/** Parse and check a narinfo; `where` names it in errors. Every reference must be a store path of `storeDir`. */
export function parseNarInfo(text: string, storeDir: string, where: string): NarInfo {
  const fields = new Map<string, string>();
  const sigs: string[] = [];
  const bad = (why: string): never => {
    throw new StoreError('VERIFY_FAILED', `${where} is malformed: ${why}`);
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (CONTROL.test(line)) bad(`the line '${printable(line.slice(0, 100))}' holds a control character`);
    const i = line.indexOf(': ');
    const key = i < 0 ? line.replace(/:$/, '') : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 2);
    if (key === 'Sig') sigs.push(value);
    else if (fields.has(key)) bad(`'${key}' appears twice`);
    else fields.set(key, value);
  }
  const need = (k: string) => fields.get(k) ?? bad(`no '${k}' field`);
  const int = (k: string) => {
    const v = need(k);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) bad(`${k} '${v.slice(0, 40)}' is not a whole number`);
    return Number(v);
  };
  const sri = (k: string) => {
    const v = need(k);
    try {
      parseSRI(v);
    } catch {
      bad(`${k} '${v}' is not a sha256 SRI string`);
    }
    return v;
  };
  const storePath = need('StorePath');
  try {
    parseStorePath(storePath, storeDir);
  } catch (e) {
    bad((e as Error).message);
  }
  const compression = (fields.get('Compression') ?? 'none') as Compression;
  if (!['none', 'gzip', 'br'].includes(compression)) bad(`unknown compression '${compression}'`);
  const url = need('URL');
  if (url.startsWith('/') || url.split('/').includes('..') || /^[a-z]+:/i.test(url)) bad(`URL '${url}' is not a relative file name in the cache`);
  if (!fields.has('References')) bad("no 'References' field");
  const toPath = (base: string) => {
    const p = `${storeDir}/${base}`;
    try {
      parseStorePath(p, storeDir);
    } catch (e) {
      bad((e as Error).message);
    }
    return p;
  };
  const refs = fields.get('References')!.split(' ').filter(Boolean).map(toPath);
  const deriver = fields.get('Deriver');
  return {
    storePath,
    url,
    compression,
    fileHash: sri('FileHash'),
    fileSize: int('FileSize'),
    narHash: sri('NarHash'),
    narSize: int('NarSize'),
    references: refs.sort(),
    deriver: deriver && deriver !== 'unknown-deriver' ? toPath(deriver) : undefined,
    sigs,
    ca: fields.get('CA') || undefined,
  };
}

export interface CacheInfo {
  storeDir: string;
  priority: number;
}

export const CACHE_INFO_FILE = 'hepstore-cache-info';

export function serialiseCacheInfo(c: CacheInfo): string {
  return `StoreDir: ${c.storeDir}\nPriority: ${c.priority}\n`;
}

export function parseCacheInfo(text: string, where: string): CacheInfo {
  if (/[\x00-\x09\x0b-\x1f\x7f]/.test(text)) throw new StoreError('VERIFY_FAILED', `${where} is malformed: it holds a control character`);
  const m = new Map(text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
  const storeDir = m.get('StoreDir');
  if (!storeDir) throw new StoreError('VERIFY_FAILED', `${where} has no StoreDir`);
  return { storeDir, priority: Number(m.get('Priority') ?? 50) || 50 };
}
