/**
 * The evaluation cache: what evaluating an expression file (one attribute, for one store
 * directory and system) gave — each root's attribute, .drv path and the outputs it asks for —
 * kept while nothing the evaluation read has changed: the files the expression is made of
 * (their contents), what it read while running (record-inputs.ts: files, `path()` trees,
 * directory listings, environment variables, host-tool identities), this build of hepstore and
 * its dependencies, and Node.js. An evaluation with untracked I/O is not kept. Entries live in
 * `var/cache/eval/` beside the bundles; they are written atomically, and one that cannot be
 * read or does not match is a miss, never an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { inputsUnchanged } from './check-inputs.js';
import type { EvalInputs } from './record-inputs.js';
import type { RecordedRead } from '../expr/record.js';

/** Changes whenever what an entry holds or means changes. */
const FORMAT = 1;

export interface EvalCacheKey {
  /** The expression file (absolute). */
  file: string;
  attr?: string;
  storeDir: string;
  system: string;
}

export interface CachedRoot {
  attr: string;
  drvPath: string;
  /** The outputs the root asks for, by name. */
  outputs: Record<string, string>;
}

export interface CachedEvaluation {
  roots: CachedRoot[];
  /** Whether anything in the closures uses a host tool or host-path builder (undefined: not known). */
  hostDependencies?: boolean;
}

interface Entry {
  format: number;
  identity: Identity;
  modules: Record<string, string>;
  reads: RecordedRead[];
  env: Record<string, string | null>;
  /** [attr, drv (without the store directory), [output, path without it]...] */
  roots: Array<[string, string, ...string[]]>;
  hostDependencies?: boolean;
}

type Identity = EvalCacheKey & { attr: string; hepstore: string; node: string };

const sha = (d: string | Uint8Array) => createHash('sha256').update(d).digest('hex');

const ROOT = new URL('../../../', import.meta.url);

/**
 * This build of hepstore: the stamp `npm run build` writes over the compiled code and the
 * dependencies' versions, with the installed dependencies' lock file as it is now. Without a
 * stamp there is no cache.
 */
function buildIdentity(): string | undefined {
  let stamp: string;
  try {
    stamp = fs.readFileSync(new URL('dist/build-id', ROOT), 'utf8').trim();
  } catch {
    return undefined;
  }
  let deps = '';
  try {
    const st = fs.statSync(new URL('node_modules/.package-lock.json', ROOT));
    deps = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    /* installed without one: the stamp's versions stand */
  }
  return `${stamp}:${deps}`;
}

function identityOf(key: EvalCacheKey): Identity | undefined {
  const hepstore = buildIdentity();
  if (!hepstore) return undefined;
  return { file: key.file, attr: key.attr ?? '', storeDir: key.storeDir, system: key.system, hepstore, node: process.version };
}

function entryFile(cacheDir: string, id: Identity): string {
  return path.join(cacheDir, 'eval', `${sha(JSON.stringify([id.file, id.attr, id.storeDir, id.system])).slice(0, 32)}.roots.json`);
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.file === b.file && a.attr === b.attr && a.storeDir === b.storeDir && a.system === b.system && a.hepstore === b.hepstore && a.node === b.node;
}

function modulesUnchanged(modules: Record<string, string>): boolean {
  for (const [file, hash] of Object.entries(modules)) {
    try {
      if (sha(fs.readFileSync(file)) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function isEntry(e: unknown): e is Entry {
  const x = e as Entry;
  return (
    typeof x === 'object' && x !== null && x.format === FORMAT && typeof x.identity === 'object' && x.identity !== null &&
    typeof x.modules === 'object' && x.modules !== null && Array.isArray(x.reads) && typeof x.env === 'object' && x.env !== null &&
    Array.isArray(x.roots) && x.roots.every((r) => Array.isArray(r) && r.length >= 4 && r.length % 2 === 0 && r.every((s) => typeof s === 'string')) &&
    x.reads.every((r) => typeof r === 'object' && r !== null && typeof r.fn === 'string' && Array.isArray(r.args) && typeof r.value === 'string')
  );
}

/** The cached result of evaluating `key`, if there is one and every input is as it was. */
export async function lookupEvaluation(cacheDir: string, key: EvalCacheKey): Promise<CachedEvaluation | undefined> {
  const id = identityOf(key);
  if (!id) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(fs.readFileSync(entryFile(cacheDir, id), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isEntry(entry) || !sameIdentity(entry.identity, id)) return undefined;
  if (!modulesUnchanged(entry.modules) || !(await inputsUnchanged(entry))) return undefined;
  const dir = key.storeDir + '/';
  const roots = entry.roots.map(([attr, drv, ...outs]) => {
    const outputs: Record<string, string> = {};
    for (let i = 0; i < outs.length; i += 2) outputs[outs[i]] = dir + outs[i + 1];
    return { attr, drvPath: dir + drv, outputs };
  });
  return { roots, ...(entry.hostDependencies === undefined ? {} : { hostDependencies: entry.hostDependencies }) };
}

/**
 * Keep what evaluating `key` gave. Nothing is kept for an evaluation with untracked I/O, or
 * without a build stamp; a failure to write is no error (the next run evaluates again).
 */
export function saveEvaluation(cacheDir: string, key: EvalCacheKey, modules: Record<string, string>, inputs: EvalInputs, result: CachedEvaluation): void {
  if (inputs.untracked) return;
  const id = identityOf(key);
  if (!id) return;
  const dir = key.storeDir + '/';
  const strip = (p: string) => {
    if (!p.startsWith(dir)) throw new Error(`not in the store: ${p}`);
    return p.slice(dir.length);
  };
  const file = entryFile(cacheDir, id);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const entry: Entry = {
      format: FORMAT,
      identity: id,
      modules,
      reads: inputs.reads,
      env: inputs.env,
      roots: result.roots.map((r) => [r.attr, strip(r.drvPath), ...Object.entries(r.outputs).flatMap(([o, p]) => [o, strip(p)])] as [string, string, ...string[]]),
      ...(result.hostDependencies === undefined ? {} : { hostDependencies: result.hostDependencies }),
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(entry));
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}
