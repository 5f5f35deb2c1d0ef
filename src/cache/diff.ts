/**
 * `store diff A B`: two closures side by side by package name — added, removed, changed
 * (version, size delta) — and for a changed package, the first input that made its hash
 * differ, found by comparing the two .drv files and descending into the first input
 * derivation that differs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDerivation, type Derivation } from '../derivation/derivation.js';
import type { Store } from '../store/store.js';
import { parseStorePath } from '../store/path.js';

export interface ClosureEntry {
  path: string;
  narSize: number;
  deriver?: string;
}

export interface PackageChange {
  name: string;
  from?: { path: string; version: string; narSize: number };
  to?: { path: string; version: string; narSize: number };
  sizeDelta: number;
  /** Why the hashes differ: a chain from this package to the root cause. */
  cause?: string[];
}

export interface ClosureDiff {
  added: PackageChange[];
  removed: PackageChange[];
  changed: PackageChange[];
  sizeA: number;
  sizeB: number;
}

/** The closure of store paths, with sizes and derivers, as diffClosures takes it (`except` left out). */
export function storeClosure(store: Store, roots: readonly string[], except: ReadonlySet<string> = new Set()): ClosureEntry[] {
  return store
    .queryClosure(roots)
    .filter((q) => !except.has(q))
    .map((q) => {
      const i = store.pathInfo(q);
      return { path: q, narSize: i.narSize, deriver: i.deriver };
    });
}

/** Split `<hash>-name-1.2.3[-output]` into a package name and a version. */
export function splitName(storePath: string): { name: string; version: string } {
  const base = path.basename(storePath).slice(33);
  const m = /^(.*?)-(\d[^-]*)(-[a-z][a-z0-9]*)?$/.exec(base);
  if (!m) return { name: base, version: '' };
  return { name: m[1] + (m[3] ?? ''), version: m[2] };
}

/** Reads a derivation by .drv path (from the store, a lock file, an evaluation), or undefined. */
export type DrvReader = (drvPath: string) => Derivation | undefined;

/** Reads .drv files of the store (valid ones only). */
export function storeDrvReader(store: Store): DrvReader {
  return (drvPath) => {
    if (!drvPath || !store.isValid(drvPath)) return undefined;
    try {
      return parseDerivation(fs.readFileSync(drvPath, 'utf8'), drvPath);
    } catch {
      return undefined;
    }
  };
}

function drvName(drvPath: string): string {
  return path.basename(drvPath).slice(33).replace(/\.drv$/, '');
}

/**
 * One step of the walk: derivation `label` differs because its input `input` does (the walk
 * goes on there), or for `reason`.
 */
export interface DifferenceStep {
  label: string;
  input?: string;
  reason?: string;
}

/** The first difference between two derivations, descending into inputs (at most `depth` levels). */
export function differenceSteps(read: DrvReader, a: string, b: string, depth = 32): DifferenceStep[] {
  const da = read(a);
  const db = read(b);
  const label = drvName(b);
  const step = (reason: string): DifferenceStep[] => [{ label, reason }];
  if (!da || !db) return step(`the .drv files are not both in the store`);
  const strip = (d: Derivation) => ({ ...d.env, ...Object.fromEntries(Object.keys(d.outputs).map((o) => [o, ''])) });
  if (da.builder !== db.builder) return step(`builder ${da.builder} -> ${db.builder}`);
  if (da.system !== db.system) return step(`system ${da.system} -> ${db.system}`);
  const ia = Object.keys(da.inputDrvs);
  const ib = Object.keys(db.inputDrvs);
  const byName = (xs: string[]) => new Map(xs.map((x) => [drvName(x), x]));
  const na = byName(ia);
  const nb = byName(ib);
  for (const [n, pb] of nb) {
    const pa = na.get(n);
    if (pa === undefined) return step(`new input ${n}`);
    if (pa !== pb) return [{ label, input: n }, ...(depth > 0 ? differenceSteps(read, pa, pb, depth - 1) : [])];
  }
  for (const n of na.keys()) if (!nb.has(n)) return step(`input ${n} was removed`);
  const sa = [...da.inputSrcs].sort();
  const sb = [...db.inputSrcs].sort();
  for (const s of sb) if (!sa.includes(s)) return step(`source ${path.basename(s).slice(33)} differs (${s})`);
  for (const s of sa) if (!sb.includes(s)) return step(`source ${path.basename(s).slice(33)} was removed`);
  const ea = strip(da);
  const eb = strip(db);
  for (const k of [...new Set([...Object.keys(ea), ...Object.keys(eb)])].sort()) {
    if (ea[k] !== eb[k]) return step(`environment variable ${k}: ${JSON.stringify(ea[k] ?? null)} -> ${JSON.stringify(eb[k] ?? null)}`);
  }
  // Arguments embed input paths, so they are compared only once the inputs agree.
  if (JSON.stringify(da.args) !== JSON.stringify(db.args)) return step(`builder arguments differ`);
  const oa = JSON.stringify(Object.entries(da.outputs).map(([k, o]) => [k, o.hashAlgo, o.hash]));
  const ob = JSON.stringify(Object.entries(db.outputs).map(([k, o]) => [k, o.hashAlgo, o.hash]));
  if (oa !== ob) return step(`outputs differ`);
  return step(`the derivations are the same (the store directories differ?)`);
}

/** The walk as `store diff` prints it: one line per step ("x: input y differs", "y: builder …"). */
export function firstDifference(store: Store | DrvReader, a: string, b: string, depth = 32): string[] {
  const read = typeof store === 'function' ? store : storeDrvReader(store);
  return differenceSteps(read, a, b, depth).map((s) => (s.input !== undefined ? `${s.label}: input ${s.input} differs` : `${s.label}: ${s.reason}`));
}

/**
 * The walk in one sentence: "app-1.0 differs because its input 'lib-2.0' differs, whose input
 * 'xz-5.4.1' differs: xz-5.4.1: environment variable version: …".
 */
export function explainDifference(steps: readonly DifferenceStep[]): string {
  if (steps.length === 0) return '';
  let out = '';
  let i = 0;
  for (; i < steps.length && steps[i].input !== undefined; i++) out += i === 0 ? `${steps[i].label} differs because its input '${steps[i].input}' differs` : `, whose input '${steps[i].input}' differs`;
  const last = steps[i];
  if (!last) return out;
  return out ? `${out}: ${last.label}: ${last.reason}` : `${last.label} differs: ${last.reason}`;
}

export function diffClosures(store: Store, a: readonly ClosureEntry[], b: readonly ClosureEntry[]): ClosureDiff {
  const group = (xs: readonly ClosureEntry[]) => {
    const m = new Map<string, ClosureEntry & { version: string }>();
    for (const x of xs) {
      const { name, version } = splitName(x.path);
      // Several paths with one name (e.g. two versions): key the extra ones by path.
      m.set(m.has(name) ? `${name} (${path.basename(x.path)})` : name, { ...x, version });
    }
    return m;
  };
  const ga = group(a);
  const gb = group(b);
  const d: ClosureDiff = { added: [], removed: [], changed: [], sizeA: a.reduce((n, x) => n + x.narSize, 0), sizeB: b.reduce((n, x) => n + x.narSize, 0) };
  const side = (x: ClosureEntry & { version: string }) => ({ path: x.path, version: x.version, narSize: x.narSize });
  for (const [name, x] of gb) {
    const y = ga.get(name);
    if (!y) d.added.push({ name, to: side(x), sizeDelta: x.narSize });
    else if (y.path !== x.path) {
      const c: PackageChange = { name, from: side(y), to: side(x), sizeDelta: x.narSize - y.narSize };
      if (y.deriver && x.deriver) c.cause = firstDifference(store, y.deriver, x.deriver);
      d.changed.push(c);
    }
  }
  for (const [name, y] of ga) if (!gb.has(name)) d.removed.push({ name, from: side(y), sizeDelta: -y.narSize });
  const byName = (p: PackageChange, q: PackageChange) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0);
  d.added.sort(byName);
  d.removed.sort(byName);
  d.changed.sort(byName);
  return d;
}

export function isStorePathOf(p: string, storeDir: string): boolean {
  try {
    parseStorePath(p, storeDir);
    return true;
  } catch {
    return false;
  }
}
