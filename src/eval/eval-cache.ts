/**
 * The evaluation cache: what evaluating an expression file (one attribute, for one store
 * directory and system) gave — each root's attribute, .drv path and the outputs it asks for —
 * kept while nothing the evaluation read has changed: the files the expression is made of
 * (their contents), what it read while running (record-inputs.ts: files, `path()` trees,
 * directory listings, environment variables, host-tool identities), this build of hepstore and
 * its dependencies, and Node.js. An evaluation with untracked I/O is not kept. Entries live in
 * `var/cache/eval/` beside the bundles; they are written atomically, and one that cannot be
 * read or does not match is a miss, never an error.
 *
 * An entry is three lines' worth: a JSON header (what it was made from; the hash of the rest),
 * the roots as JSON ([attr, .drv path, [output names]] without the store directory), and every
 * output path, one per line, in the order of the roots — so that a no-op reads the header,
 * checks, and takes the paths without building an object per root. `store eval` keeps its own
 * entry (`.eval` beside realize's `.roots`), with the same header and what it prints as JSON:
 * each root's attribute, name, .drv path, every output, and the host tools of its closure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { inputsUnchanged } from './check-inputs.js';
import type { EvalInputs } from './record-inputs.js';
import type { RecordedRead } from '../expr/record.js';

/** Changes whenever what an entry holds or means changes. */
const FORMAT = 3;

export interface EvalCacheKey {
  /** The expression file (absolute). */
  file: string;
  attr?: string;
  storeDir: string;
  system: string;
  /** The arguments given with --arg/--argstr, as canonical JSON ('' for none). */
  args?: string;
}

export interface CachedRoot {
  attr: string;
  drvPath: string;
  /** The outputs the root asks for, by name. */
  outputs: Record<string, string>;
}

export interface CachedEvaluation {
  /** Every output the roots ask for, in order (as the roots and their outputs list them). */
  outPaths: string[];
  /** The roots (made when first asked for). */
  readonly roots: CachedRoot[];
  /** Whether anything in the closures uses a host tool or host-path builder (undefined: not known). */
  hostDependencies?: boolean;
}

interface Header {
  format: number;
  identity: Identity;
  modules: Record<string, string>;
  reads: RecordedRead[];
  env: Record<string, string | null>;
  hostDependencies?: boolean;
  /** How many output paths, and the sha256 of everything after the header's line. */
  paths: number;
  body: string;
}

type Identity = EvalCacheKey & { attr: string; args: string; hepstore: string; node: string };

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
  return { file: key.file, attr: key.attr ?? '', args: key.args ?? '', storeDir: key.storeDir, system: key.system, hepstore, node: process.version };
}

/** The two kinds of entry: realize's roots and output paths, and what `store eval` prints. */
const ROOTS = 'roots';
const EVAL = 'eval';

function entryFile(cacheDir: string, id: Identity, ext: string): string {
  return path.join(cacheDir, 'eval', `${sha(JSON.stringify([id.file, id.attr, id.args, id.storeDir, id.system])).slice(0, 32)}.${ext}`);
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.file === b.file && a.attr === b.attr && a.args === b.args && a.storeDir === b.storeDir && a.system === b.system && a.hepstore === b.hepstore && a.node === b.node;
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

function isHeader(e: unknown): e is Header {
  const x = e as Header;
  return (
    typeof x === 'object' && x !== null && x.format === FORMAT && typeof x.identity === 'object' && x.identity !== null &&
    typeof x.modules === 'object' && x.modules !== null && Array.isArray(x.reads) && typeof x.env === 'object' && x.env !== null &&
    Number.isInteger(x.paths) && x.paths > 0 && typeof x.body === 'string' &&
    x.reads.every((r) => typeof r === 'object' && r !== null && typeof r.fn === 'string' && Array.isArray(r.args) && typeof r.value === 'string')
  );
}

type RootRecord = [attr: string, drv: string, outputs: string[]];

function rootsOf(json: string, outPaths: string[], storeDir: string): CachedRoot[] {
  const records = JSON.parse(json) as RootRecord[];
  const roots: CachedRoot[] = [];
  let k = 0;
  for (const [attr, drv, names] of records) {
    const outputs: Record<string, string> = {};
    for (const o of names) outputs[o] = outPaths[k++];
    roots.push({ attr, drvPath: `${storeDir}/${drv}`, outputs });
  }
  if (k !== outPaths.length) throw new Error('the roots and their outputs do not match');
  return roots;
}

/** The header and body of the entry `ext` of `key`, if there is one and every input is as it was. */
async function readEntry(cacheDir: string, key: EvalCacheKey, ext: string): Promise<{ header: Header; body: Buffer } | undefined> {
  const id = identityOf(key);
  if (!id) return undefined;
  let data: Buffer;
  let header: unknown;
  let end: number;
  try {
    data = fs.readFileSync(entryFile(cacheDir, id, ext));
    end = data.indexOf(10);
    if (end < 0) return undefined;
    header = JSON.parse(data.toString('utf8', 0, end));
  } catch {
    return undefined;
  }
  if (!isHeader(header) || !sameIdentity(header.identity, id)) return undefined;
  if (!modulesUnchanged(header.modules) || !(await inputsUnchanged(header))) return undefined;
  const body = data.subarray(end + 1);
  if (sha(body) !== header.body) return undefined;
  return { header, body };
}

/**
 * Write the entry `ext` of `key`: a header for what it was made from, then `body`. Nothing is
 * kept for an evaluation with untracked I/O, or without a build stamp; a failure to write is no
 * error (the next run evaluates again).
 */
function writeEntry(cacheDir: string, key: EvalCacheKey, ext: string, modules: Record<string, string>, inputs: EvalInputs, paths: number, body: string, hostDependencies: boolean | undefined): void {
  if (inputs.untracked || paths === 0) return;
  const id = identityOf(key);
  if (!id) return;
  const file = entryFile(cacheDir, id, ext);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const header: Header = {
      format: FORMAT,
      identity: id,
      modules,
      reads: inputs.reads,
      env: inputs.env,
      ...(hostDependencies === undefined ? {} : { hostDependencies }),
      paths,
      body: sha(body),
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, `${JSON.stringify(header)}\n${body}`);
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

/** The cached result of evaluating `key` for realize, if there is one and every input is as it was. */
export async function lookupEvaluation(cacheDir: string, key: EvalCacheKey): Promise<CachedEvaluation | undefined> {
  const entry = await readEntry(cacheDir, key, ROOTS);
  if (!entry) return undefined;
  const { header, body } = entry;
  const split = body.indexOf(10);
  if (split < 0) return undefined;
  const outPaths = body.toString('utf8', split + 1).split('\n');
  const prefix = key.storeDir + '/';
  if (outPaths.length !== header.paths || !outPaths.every((p) => p.startsWith(prefix))) return undefined;
  let roots: CachedRoot[] | undefined;
  return {
    outPaths,
    get roots() {
      return (roots ??= rootsOf(body.toString('utf8', 0, split), outPaths, key.storeDir));
    },
    ...(header.hostDependencies === undefined ? {} : { hostDependencies: header.hostDependencies }),
  };
}

/** Keep what evaluating `key` gave, for the next realize (see writeEntry). */
export function saveEvaluation(cacheDir: string, key: EvalCacheKey, modules: Record<string, string>, inputs: EvalInputs, result: { roots: CachedRoot[]; hostDependencies?: boolean }): void {
  const prefix = key.storeDir + '/';
  const records: RootRecord[] = [];
  const outPaths: string[] = [];
  for (const r of result.roots) {
    if (!r.drvPath.startsWith(prefix)) return;
    records.push([r.attr, r.drvPath.slice(prefix.length), Object.keys(r.outputs)]);
    for (const p of Object.values(r.outputs)) {
      if (!p.startsWith(prefix) || p.includes('\n')) return;
      outPaths.push(p);
    }
  }
  writeEntry(cacheDir, key, ROOTS, modules, inputs, outPaths.length, `${JSON.stringify(records)}\n${outPaths.join('\n')}`, result.hostDependencies);
}

/** What `store eval` prints of a root. */
export interface EvalRecord {
  attr: string;
  name: string;
  drvPath: string;
  /** Every output of the derivation, by name. */
  outputs: Record<string, string>;
  /** The host tools and host-path builders of its closure (host-deps.ts), when they were looked for. */
  hostTools?: unknown[];
}

function isEvalRecord(r: unknown, prefix: string): r is EvalRecord {
  const x = r as EvalRecord;
  return (
    typeof x === 'object' && x !== null && typeof x.attr === 'string' && typeof x.name === 'string' && typeof x.drvPath === 'string' && x.drvPath.startsWith(prefix) &&
    typeof x.outputs === 'object' && x.outputs !== null && Object.values(x.outputs).every((p) => typeof p === 'string' && p.startsWith(prefix)) &&
    (x.hostTools === undefined || Array.isArray(x.hostTools))
  );
}

/**
 * The cached records of `store eval` for `key`, if every input is as it was. `hostTools`: only
 * an entry that has each root's host tools; `pure`: only one made when the closure was known to
 * use nothing of the host.
 */
export async function lookupEvalRecords(cacheDir: string, key: EvalCacheKey, want: { hostTools: boolean; pure: boolean }): Promise<EvalRecord[] | undefined> {
  const entry = await readEntry(cacheDir, key, EVAL);
  if (!entry || (want.pure && entry.header.hostDependencies !== false)) return undefined;
  let records: unknown;
  try {
    records = JSON.parse(entry.body.toString('utf8'));
  } catch {
    return undefined;
  }
  const prefix = key.storeDir + '/';
  if (!Array.isArray(records) || !records.every((r) => isEvalRecord(r, prefix))) return undefined;
  if (want.hostTools && !records.every((r) => r.hostTools !== undefined)) return undefined;
  return records;
}

/** Keep the records `store eval` printed for `key` (see writeEntry); `hostDependencies` as the realize entry's. */
export function saveEvalRecords(cacheDir: string, key: EvalCacheKey, modules: Record<string, string>, inputs: EvalInputs, records: EvalRecord[], hostDependencies: boolean | undefined): void {
  const prefix = key.storeDir + '/';
  if (!records.every((r) => isEvalRecord(r, prefix))) return;
  writeEntry(cacheDir, key, EVAL, modules, inputs, records.length, JSON.stringify(records), hostDependencies);
}
