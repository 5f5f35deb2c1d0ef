/**
 * Evaluate an expression file: load it (TypeScript or JavaScript) with the "hepstore" API
 * resolved, pick the default export or `--attr NAME`, and return the derivations it names.
 * Errors name the file, the line and the chain of attributes, and touch no store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from '../errors.js';
import { beginEvaluation } from '../expr/context.js';
import { Drv, brokenError } from '../expr/drv.js';
import { bundleExpression } from './bundle.js';
import type { EvalInputs } from './record-inputs.js';
import { startWatchdog } from './watchdog.js';
import { closest } from '../expr/check.js';

/** How long an evaluation may take unless the caller says otherwise. */
export const DEFAULT_EVAL_TIMEOUT_MS = 300_000;

export interface EvalOptions {
  storeDir: string;
  attr?: string;
  system?: string;
  /** Where transformed files and host-tool identities are cached. */
  cacheDir?: string;
  /** Milliseconds the evaluation may take (DEFAULT_EVAL_TIMEOUT_MS by default). */
  timeoutMs?: number;
  /**
   * The arguments (`--arg NAME VALUE`): every exported function the evaluation calls gets them
   * as one object, as Nix calls a file's function with `--arg`. Each must be read by some call.
   */
  args?: Readonly<Record<string, unknown>>;
}

export interface EvalRoot {
  /** Attribute path that selected it ('' for a lone default export). */
  attr: string;
  drv: Drv;
}

/** The first stack frame inside the expression files, as "file:line". */
function userFrame(err: unknown, file: string): string | undefined {
  const stack = (err as Error)?.stack ?? '';
  const dir = path.dirname(file);
  for (const line of stack.split('\n')) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!m) continue;
    const f = m[1].replace(/^file:\/\//, '');
    if (f.includes('/node_modules/') || f.includes('/dist/src/')) continue;
    if (f.startsWith(dir) || f.endsWith('.ts')) return `${decodeURIComponent(f)}:${m[2]}`;
  }
  return undefined;
}

/** The location a StoreError (or one it wraps) was found at, when the API named it. */
function locationOf(e: unknown): string | undefined {
  for (let x = e, depth = 0; x && depth < 8; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof StoreError && x.location !== undefined) return x.location;
  }
  return undefined;
}

function evalError(err: unknown, file: string, chain: string[]): StoreError {
  const attrs = chain.length ? `\n  while evaluating attribute '${chain.join('.')}'` : '';
  if (err instanceof RangeError && /call stack/.test(err.message)) {
    return new StoreError('EVAL', `${file}: infinite recursion${attrs}`, { hint: 'a package probably depends on itself; use packageSet() to get the cycle named' });
  }
  if (err instanceof StoreError) {
    // A mistake the API found names its own place (file:line:column and a code frame).
    const where = locationOf(err) ?? userFrame(err, file);
    const msg = where && !err.message.includes(where) ? `${where}: ${err.message}` : err.message;
    const location = locationOf(err);
    return new StoreError(err.code === 'CYCLE' ? 'CYCLE' : err.code, `${msg}${attrs}`, { hint: err.hint, cause: err, ...(location ? { location } : {}) });
  }
  const e = err as Error;
  if (e instanceof SyntaxError || /ERR_MODULE_NOT_FOUND|Cannot find/.test(String((e as { code?: string }).code ?? e?.message))) {
    return new StoreError('EVAL', `${e.message}${attrs}`, { hint: `fix ${file} and run again`, cause: e });
  }
  const where = userFrame(e, file) ?? file;
  return new StoreError('EVAL', `${where}: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}${attrs}`, { cause: e });
}

async function force(v: unknown, at: Progress): Promise<unknown> {
  let x = v instanceof Promise ? await v : v;
  if (typeof x === 'function' && !(x instanceof Drv)) x = await (x as (args: object) => unknown)(at.args);
  return x instanceof Promise ? await x : x;
}

/** What the evaluation is waiting on, for the errors of an export that never settles or takes too long. */
interface Progress {
  /** An attribute path ('default.b'), or undefined while the module itself loads. */
  attr?: string;
  /** The path given to collect() is relative to this ('default' unless --attr). */
  base: string[];
  /** What exported functions are called with: the --arg values, recording which are read. */
  args: object;
}

/**
 * The arguments as the expression sees them: a read-only object that notes each name asked
 * for (a destructuring default asks too), so that an argument nobody reads is reported.
 */
function argumentsObject(given: Readonly<Record<string, unknown>>, asked: Set<string>): object {
  const target = Object.freeze({ ...given });
  return new Proxy(target, {
    get(t, k, r) {
      if (typeof k === 'string') asked.add(k);
      return Reflect.get(t, k, r);
    },
    has(t, k) {
      if (typeof k === 'string') asked.add(k);
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      for (const k of Object.keys(t)) asked.add(k);
      return Reflect.ownKeys(t);
    },
  });
}

/** An error for --arg names that no function of the expression read. */
function unusedArguments(file: string, given: readonly string[], asked: Set<string>): StoreError | undefined {
  const unused = given.filter((k) => !asked.has(k));
  if (unused.length === 0) return undefined;
  const wanted = [...asked].filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && !['then', 'constructor', 'toJSON'].includes(k) && !unused.includes(k));
  const guess = unused.length === 1 ? closest(unused[0], wanted.filter((k) => !given.includes(k))) : undefined;
  const names = unused.map((k) => `'${k}'`).join(', ');
  return new StoreError('USAGE', `${file} takes no argument${unused.length > 1 ? 's' : ''} ${names}${guess ? ` (did you mean '${guess}'?)` : ''}`, {
    hint: wanted.length
      ? `the functions it called read: ${wanted.slice(0, 20).join(', ')}`
      : 'arguments go to the exported functions of the file (export default ({ name = 1 }) => …); this evaluation called none that reads one',
  });
}

function waitingOn(p: Progress): string {
  return p.attr === undefined ? 'the module itself' : `attribute '${p.attr}'`;
}

async function collect(value: unknown, attr: string[], out: EvalRoot[], file: string, at: Progress): Promise<void> {
  if (value instanceof Drv) {
    out.push({ attr: attr.join('.'), drv: value });
    return;
  }
  at.attr = [...at.base, ...attr].join('.');
  const v = await force(value, at);
  if (v instanceof Drv) {
    out.push({ attr: attr.join('.'), drv: v });
    return;
  }
  // Derivations among the elements are taken as they are: a list of thousands of them costs
  // no promise each.
  const prefix = attr.length ? `${attr.join('.')}.` : '';
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (x instanceof Drv) out.push({ attr: prefix + i, drv: x });
      else await collect(x, [...attr, String(i)], out, file, at);
    }
    return;
  }
  if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      let child: unknown;
      try {
        child = (v as Record<string, unknown>)[k];
        if (child instanceof Drv) out.push({ attr: prefix + k, drv: child });
        else await collect(child, [...attr, k], out, file, at);
      } catch (e) {
        if (e instanceof StoreError && e.message.includes('while evaluating attribute')) throw e;
        throw evalError(e, file, [...attr, k]);
      }
    }
    return;
  }
  throw new StoreError('EVAL', `${file}: attribute '${attr.join('.') || '(default export)'}' is ${v === undefined ? 'undefined' : `a ${typeof v}`}, not a derivation`, {
    hint: 'export a derivation, an array of them, or an object of them',
  });
}

/**
 * Run `work` (the evaluation of `file`) to its end, or fail: when nothing is left that could
 * settle what it awaits (the event loop is empty: a promise nobody resolves), or when it takes
 * longer than `timeoutMs`. The work itself cannot be cancelled: after a timeout the caller is
 * expected to exit (the watchdog stays armed, so that work stuck in a loop is stopped).
 */
function settled<T>(file: string, timeoutMs: number, at: Progress, work: Promise<T>): Promise<T> {
  const limit = `${+(timeoutMs / 1000).toFixed(3)} s`;
  const tooLong = () => `${file}: evaluation took longer than ${limit} (while evaluating ${waitingOn(at)})`;
  const hint = 'look for a loop or a wait that never ends; or raise "evalTimeout" (seconds) in etc/hepstore.json or pass --eval-timeout SECONDS';
  let over = false;
  const dog = startWatchdog(timeoutMs, () => (over ? undefined : `${tooLong()}\nhint: ${hint}`));
  return new Promise<T>((resolve, reject) => {
    const end = (err?: StoreError) => {
      over = true;
      clearTimeout(timer);
      process.off('beforeExit', never);
      if (err) reject(err);
    };
    const timedOut = () => end(new StoreError('EVAL', tooLong(), { hint }));
    const never = () => {
      if (dog.fired()) return timedOut();
      dog.stop();
      end(
        new StoreError('EVAL', `${file}: ${at.attr === undefined ? 'the module never finishes loading: a top-level await' : `attribute '${at.attr}' never settles: it`} waits on a promise that nothing is left to resolve`, {
          hint: 'export derivations, or promises (and async functions) that resolve to them',
        }),
      );
    };
    const timer = setTimeout(timedOut, timeoutMs);
    // Neither keeps the process alive: an evaluation with nothing left to wait on is caught by 'beforeExit'.
    timer.unref();
    process.on('beforeExit', never);
    work.then(
      (v) => {
        if (over) return;
        dog.stop();
        end();
        resolve(v);
      },
      (e) => {
        if (over) return;
        dog.stop();
        end();
        reject(e);
      },
    );
  });
}

export async function evaluateFile(file: string, opts: EvalOptions): Promise<EvalRoot[]> {
  return (await evaluateWithin(file, opts, false)).roots;
}

export interface RecordedEvaluation {
  roots: EvalRoot[];
  /** The files the expression is made of, with their contents' sha256 (hex). */
  modules: Record<string, string>;
  /** What it read while running (untracked says when that cannot be checked again). */
  inputs: EvalInputs;
}

/** evaluateFile(), recording everything the evaluation read (for the evaluation cache). */
export function evaluateFileRecorded(file: string, opts: EvalOptions): Promise<RecordedEvaluation> {
  return evaluateWithin(file, opts, true);
}

async function evaluateWithin(file: string, opts: EvalOptions, record: boolean): Promise<RecordedEvaluation> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new StoreError('EVAL', `expression file '${file}' does not exist`);
  const asked = new Set<string>();
  const at: Progress = { base: opts.attr ? [] : ['default'], args: argumentsObject(opts.args ?? {}, asked) };
  const result = await settled(abs, opts.timeoutMs ?? DEFAULT_EVAL_TIMEOUT_MS, at, evaluate(abs, opts, record, at));
  const unused = unusedArguments(abs, Object.keys(opts.args ?? {}), asked);
  if (unused) throw unused;
  return result;
}

async function evaluate(abs: string, opts: EvalOptions, record: boolean, at: Progress): Promise<RecordedEvaluation> {
  process.setSourceMapsEnabled(true);
  const bundle = await bundleExpression(abs, opts.cacheDir);
  beginEvaluation({ storeDir: opts.storeDir, ...(opts.system ? { system: opts.system } : {}), cacheDir: opts.cacheDir });
  // The compiled file is named by its contents, which `bundle.inputs` stand for.
  const recording = record ? (await import('./record-inputs.js')).startRecording([fileURLToPath(bundle.url)]) : undefined;
  let roots: EvalRoot[];
  try {
    roots = await run(bundle.url, abs, opts, at);
  } catch (e) {
    recording?.stop();
    throw e;
  }
  const inputs = recording?.stop();
  if (bundle.dynamicImport && inputs) inputs.untracked ??= 'an import() of a module named at run time';
  return { roots, modules: bundle.inputs, inputs: inputs ?? { reads: [], env: {}, untracked: 'not recorded' } };
}

async function run(url: string, abs: string, opts: EvalOptions, at: Progress): Promise<EvalRoot[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw evalError(e, abs, []);
  }
  const chain = opts.attr ? opts.attr.split('.') : ['default'];
  let value: unknown = mod;
  const walked: string[] = [];
  for (const k of chain) {
    try {
      if (walked.length) at.attr = walked.join('.');
      value = await force(value, at);
      if (value === null || typeof value !== 'object' || !(k in (value as object))) {
        const have = value && typeof value === 'object' ? Object.keys(value).filter((x) => x !== 'default') : [];
        throw new StoreError('EVAL', `${abs}: attribute '${[...walked, k].join('.')}' does not exist${have.length ? ` (there are: ${have.slice(0, 20).join(', ')})` : ''}`, {
          hint: opts.attr ? 'check --attr' : 'export default a derivation, or pass --attr NAME',
        });
      }
      value = (value as Record<string, unknown>)[k];
      walked.push(k);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'EVAL' && e.message.includes('does not exist')) throw e;
      throw evalError(e, abs, [...walked, k]);
    }
  }
  const roots: EvalRoot[] = [];
  try {
    await collect(value, opts.attr ? walked : [], roots, abs, at);
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw evalError(e, abs, walked);
  }
  // A root that could not be made raises its mistake now (one that nothing asked for is never raised).
  for (const r of roots) {
    const broken = brokenError(r.drv);
    if (broken) throw evalError(broken, abs, r.attr ? r.attr.split('.') : opts.attr ? walked : []);
  }
  return roots;
}
