/**
 * The `derivation()` primitive and the value it returns. A Drv's string form is its output
 * path; `drv.dev` etc. name other outputs. Inputs are found from the store paths that occur
 * in builder, args and env (string context), as in Nix.
 */
import { StoreError } from '../errors.js';
import { sha256Hex } from '../hash/sha256.js';
import { parseSRI } from '../hash/sri.js';
import { makeStorePath, validateName, hashPartOf } from '../store/path.js';
import { type Derivation } from '../derivation/derivation.js';
import { assignOutputPathsByHash, derivationPath } from '../derivation/paths.js';
import { contextOf, evalState, hostToolsIn, type ContextEntry } from './context.js';
import type { SourcePath } from './path.js';
import type { HostTool } from './host.js';
import { captureCallSite, siteLocation, type CallSite } from './caller.js';
import { checkArgsObject, checkKeys, checkText, describe, exprError, optionalArray, optionalRecord, optionalString, stringElement } from './check.js';

export type Stringish = string | number | boolean | { toString(): string } | null | undefined;

export interface DerivationArgs {
  name: string;
  builder: Stringish;
  args?: Stringish[];
  env?: Record<string, Stringish | Stringish[]>;
  system?: string;
  outputs?: string[];
  /** SRI hash of the output: makes this a fixed-output derivation (network allowed, content checked). */
  outputHash?: string;
  /** 'flat' (default): the output is one file with that hash; 'recursive': the hash of its archive. */
  outputHashMode?: 'flat' | 'recursive';
}

/** Properties of a Drv that an output may not be called. */
const RESERVED = new Set(['name', 'kind', 'output', 'drv', 'drvPath', 'outPath', 'outputName', 'outputs', 'inputs', 'sources', 'hostTools', 'hashModulo', 'location', 'toString', 'toJSON', 'constructor', 'valueOf', 'then', 'all', 'meta', 'out', 'core']);

/**
 * What all output views of one derivation share. The .drv (with its input .drv paths) and its
 * own store path are made only when asked for: output paths need just the hash modulo, and a
 * no-op realize needs nothing more. Evaluation makes one of these per derivation (tens of
 * thousands for a large graph), so what is rarely used is made on first use.
 */
interface Core {
  /** The derivation with `inputDrvs` still empty until materialised. */
  readonly d: Derivation;
  /** Input derivations and the outputs of each that are used. */
  readonly inputs: ReadonlyMap<Core, readonly string[]>;
  readonly hashModulo: string;
  /** Local sources; undefined when there are none. */
  readonly sources: Map<string, SourcePath> | undefined;
  readonly hostTools: HostTool[];
  readonly site: CallSite;
  readonly storeDir: string;
  drvPath?: string;
  /** The view of the first output; views of the others once asked for. */
  first?: Drv;
  views?: Map<string, Drv>;
  meta?: Record<string, unknown>;
}

const NO_HOST_TOOLS: HostTool[] = Object.freeze([]) as unknown as HostTool[];

/** Fill in the input .drv paths and compute .drv paths, inputs first, without recursion. */
function materialise(root: Core): string {
  if (root.drvPath !== undefined) return root.drvPath;
  const stack: Array<[Core, boolean]> = [[root, false]];
  while (stack.length) {
    const [c, expanded] = stack.pop()!;
    if (c.drvPath !== undefined) continue;
    if (!expanded) {
      stack.push([c, true]);
      for (const [i] of c.inputs) if (i.drvPath === undefined) stack.push([i, false]);
      continue;
    }
    for (const [i, outs] of c.inputs) {
      const key = i.drvPath!;
      const prev = c.d.inputDrvs[key];
      c.d.inputDrvs[key] = prev ? [...new Set([...prev, ...outs])] : [...outs];
    }
    c.drvPath = derivationPath(c.d, c.storeDir);
  }
  return root.drvPath!;
}

export class Drv {
  /** Outputs other than the one viewed: `drv.dev`, `drv.lib`… */
  readonly [output: string]: unknown;
  readonly outputName: string;
  readonly outPath: string;
  private readonly core: Core;

  constructor(core: Core, outputName: string) {
    this.core = core;
    this.outputName = outputName;
    this.outPath = core.d.outputs[outputName].path;
    for (const o in core.d.outputs) {
      if (o !== 'out') Object.defineProperty(this, o, { enumerable: false, get: () => this.output(o) });
    }
  }

  get kind(): 'derivation' {
    return 'derivation';
  }
  get name(): string {
    return this.core.d.name;
  }
  get hashModulo(): string {
    return this.core.hashModulo;
  }
  /** The derivation record (its .drv file's contents). */
  get drv(): Derivation {
    materialise(this.core);
    return this.core.d;
  }
  /** The store path of the .drv file. */
  get drvPath(): string {
    return materialise(this.core);
  }
  /** Derivations this one uses, by .drv path. */
  get inputs(): Map<string, Drv> {
    return new Map([...this.core.inputs.keys()].map((i) => [materialise(i), viewOf(i, firstOutput(i))]));
  }
  get sources(): Map<string, SourcePath> {
    return this.core.sources ?? new Map();
  }
  get hostTools(): HostTool[] {
    return this.core.hostTools;
  }
  /** Free-form package metadata (version, description…); never part of any hash. */
  get meta(): Record<string, unknown> {
    return (this.core.meta ??= {});
  }
  set meta(m: Record<string, unknown>) {
    this.core.meta = m;
  }
  /** Where in the expression files it was made ("file:line"), when known. */
  get location(): string | undefined {
    return siteLocation(this.core.site);
  }
  get outputs(): string[] {
    return Object.keys(this.core.d.outputs);
  }
  /** The `out` output (every derivation with one). */
  get out(): Drv {
    return this.output('out');
  }
  /** The same derivation, viewing output `name`. */
  output(name: string): Drv {
    if (!Object.hasOwn(this.core.d.outputs, name)) throw new StoreError('EVAL', `derivation '${this.name}' has no output '${name}' (it has ${this.outputs.join(', ')})`);
    return name === this.outputName ? this : viewOf(this.core, name);
  }
  toString(): string {
    return this.outPath;
  }
  toJSON(): string {
    return this.outPath;
  }
}

function firstOutput(c: Core): string {
  for (const o in c.d.outputs) return o;
  return 'out';
}

function viewOf(c: Core, output: string): Drv {
  if (c.first !== undefined && c.first.outputName === output) return c.first;
  if (c.first === undefined && output === firstOutput(c)) return (c.first = new Drv(c, output));
  c.views ??= new Map();
  let v = c.views.get(output);
  if (!v) c.views.set(output, (v = new Drv(c, output)));
  return v;
}

/** The shared core behind a Drv value (for evaluation internals). */
export function coreOf(d: Drv): Core {
  return (d as unknown as { core: Core }).core;
}

export function isDrv(x: unknown): x is Drv {
  return x instanceof Drv;
}

/**
 * A value of builder, args or env as the string the build sees. `key` is the argument it was
 * given as, for the code frame of a mistake; `top` is false inside a list.
 */
function coerce(v: Stringish | Stringish[], what: () => string, key: string, top = true): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    let s = '';
    for (let i = 0; i < v.length; i++) s += (i ? ' ' : '') + coerce(v[i], () => `${what()}[${i}]`, key, false);
    return s;
  }
  if (v === undefined || (v === null && !top)) {
    throw exprError(`${what()} is ${v === undefined ? 'undefined' : 'null'}`, {
      key,
      hint: top ? "leave it out (or give '' or null for an empty value)" : 'a list takes derivations, paths, strings, numbers or booleans; look for a misspelt or missing attribute',
    });
  }
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? '1' : '';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object' && typeof v.toString === 'function' && v.toString !== Object.prototype.toString && !(v instanceof Promise)) return v.toString();
  throw exprError(`${what()} cannot be turned into a string: it is ${describe(v)}`, {
    key,
    hint: 'use strings, numbers, booleans, derivations, paths, or arrays of them',
  });
}

const OUTPUT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const DEFAULT_OUTPUTS: readonly string[] = ['out'];

/** " (file:line)" of a call site, for messages. */
function at(site: CallSite): string {
  const where = siteLocation(site);
  return where ? ` (${where})` : '';
}

/** The arguments of derivation(); its environment variables go in `env`. */
const DERIVATION_KEYS: ReadonlySet<string> = new Set(['name', 'builder', 'args', 'env', 'system', 'outputs', 'outputHash', 'outputHashMode']);

export function derivation(a: DerivationArgs): Drv {
  // Where it was made, for messages about it (a failed build, a hash mismatch): the stack is
  // captured now and formatted only if one is needed.
  const site = captureCallSite();
  checkArgsObject('derivation', a);
  checkKeys('derivation', a as unknown as Record<string, unknown>, DERIVATION_KEYS, undefined, "the build's environment variables go in env: { NAME: value }");
  if (typeof a.name !== 'string') throw exprError(a.name === undefined ? 'derivation() needs a name' : `derivation(): name must be a string, not ${describe(a.name)}`, { key: a.name === undefined ? undefined : 'name' });
  const name = a.name;
  const ctx = () => `derivation '${name}'`;
  try {
    validateName(name, 'derivation name');
  } catch (e) {
    throw exprError((e as Error).message, { code: 'INVALID_NAME', key: 'name', hint: (e as StoreError).hint });
  }
  const st = evalState();
  const s = st.settings;
  if (a.builder === undefined || a.builder === null) throw exprError(`${ctx()} has no builder${a.builder === null ? ' (it is null)' : ''}`, { key: 'builder', hint: 'give builder: a program in the store (e.g. `${stdenv.shell}`) or a builtin' });
  const builder = typeof a.builder === 'string' ? a.builder : coerce(a.builder, () => `builder of ${ctx()}`, 'builder');
  if (!builder) throw new StoreError('EVAL', `${ctx()} has no builder${at(site)}`);
  checkText(builder, () => `builder of ${ctx()}`, 'builder');
  const args: string[] = [];
  if (a.args !== undefined) {
    if (!Array.isArray(a.args)) throw exprError(`${ctx()}: args must be an array of strings, not ${describe(a.args)}`, { key: 'args' });
    for (let i = 0; i < a.args.length; i++) {
      const x = a.args[i];
      const v = typeof x === 'string' ? x : coerce(x, () => `args[${i}] of ${ctx()}`, 'args');
      checkText(v, () => `args[${i}] of ${ctx()}`, 'args');
      args.push(v);
    }
  }
  const env: Record<string, string> = {};
  if (a.env !== undefined) {
    const given = optionalRecord(ctx(), a as unknown as Record<string, unknown>, 'env') as Record<string, Stringish | Stringish[]>;
    for (const k in given) {
      const v = coerce(given[k], () => `env.${k} of ${ctx()}`, k);
      checkText(v, () => `env.${k} of ${ctx()}`, k);
      env[k] = v;
    }
  }
  if (a.system !== undefined) optionalString(ctx(), a as unknown as Record<string, unknown>, 'system');
  if (a.outputs !== undefined) optionalArray(ctx(), a as unknown as Record<string, unknown>, 'outputs', stringElement(ctx(), 'outputs'));
  const outputNames = a.outputs ?? DEFAULT_OUTPUTS;
  if (outputNames.length === 0) throw new StoreError('EVAL', `${ctx()} has no outputs${at(site)}`);
  for (const o of outputNames) {
    if (!OUTPUT_NAME.test(o) || (RESERVED.has(o) && o !== 'out')) throw new StoreError('EVAL', `${ctx()}: '${o}' cannot be an output name${at(site)}`);
    if (o in env) throw new StoreError('EVAL', `${ctx()}: env.${o} would be overwritten by the path of output '${o}'${at(site)}`);
  }
  if (outputNames.length > 1 && new Set(outputNames).size !== outputNames.length) throw new StoreError('EVAL', `${ctx()}: duplicate output names${at(site)}`);

  // String context: every store path mentioned makes its producer an input.
  const found = new Set<ContextEntry>();
  contextOf(builder, found);
  for (let i = 0; i < args.length; i++) contextOf(args[i], found);
  for (const k in env) contextOf(env[k], found);
  let hostTools = NO_HOST_TOOLS;
  if (st.hostTools.size) {
    const tools = new Set<HostTool>();
    hostToolsIn(builder, tools);
    for (const x of args) hostToolsIn(x, tools);
    for (const k in env) hostToolsIn(env[k], tools);
    if (tools.size) {
      hostTools = [...tools].sort((x, y) => (x.path < y.path ? -1 : 1));
      env.__hostTools = JSON.stringify(hostTools.map((t) => t.identity()));
    }
  }
  const inputCores = new Map<Core, string[]>();
  let sources: Map<string, SourcePath> | undefined;
  for (const e of found) {
    if (e.kind === 'broken') throw e.error;
    if (e.kind === 'src') (sources ??= new Map()).set(e.src.storePath, e.src);
    else {
      const c = coreOf(e.drv);
      const outs = inputCores.get(c);
      if (!outs) inputCores.set(c, [e.output]);
      else if (!outs.includes(e.output)) outs.push(e.output);
    }
  }

  const outputs: Derivation['outputs'] = {};
  if (a.outputHash !== undefined) {
    if (outputNames.length !== 1 || outputNames[0] !== 'out') throw new StoreError('EVAL', `${ctx()}: a fixed-output derivation has exactly one output, 'out'${at(site)}`);
    let digest: Buffer;
    try {
      digest = parseSRI(a.outputHash, `outputHash of ${ctx()}`);
    } catch (e) {
      throw new StoreError('EVAL', `${(e as Error).message}${at(site)}`, { hint: (e as StoreError).hint });
    }
    const mode = a.outputHashMode ?? 'flat';
    if (mode !== 'flat' && mode !== 'recursive') throw new StoreError('EVAL', `${ctx()}: outputHashMode must be 'flat' or 'recursive'${at(site)}`);
    outputs.out = { path: '', hashAlgo: mode === 'recursive' ? 'r:sha256' : 'sha256', hash: digest.toString('hex') };
  } else {
    for (const o of outputNames) outputs[o] = { path: '', hashAlgo: '', hash: '' };
  }
  const d: Derivation = {
    name,
    outputs,
    inputDrvs: {},
    inputSrcs: sources ? [...sources.keys()].sort() : [],
    system: a.system ?? s.system,
    builder,
    args,
    env,
  };
  const byHash = new Map<string, string[]>();
  for (const [c, outs] of inputCores) {
    const prev = byHash.get(c.hashModulo);
    byHash.set(c.hashModulo, prev ? [...new Set([...prev, ...outs])] : outs);
  }
  const hashModulo = assignOutputPathsByHash(d, s.storeDir, byHash);
  // The same derivation made twice is one value: the same first output path (the hash modulo
  // leaves out the name, which that path has). Fixed-output ones are told apart by their
  // whole .drv (two URLs for the same content are two derivations with one output path).
  const fixed = a.outputHash !== undefined;
  // Every field named up front: one object shape, and no second allocation when one is set.
  const core: Core = { d, inputs: inputCores, hashModulo, sources, hostTools, site, storeDir: s.storeDir, drvPath: undefined, first: undefined, views: undefined, meta: undefined };
  const key = fixed ? `fixed:${materialise(core)}` : outputs[outputNames[0]].path;
  const existing = st.drvs.get(key);
  if (existing) return existing;
  const value = viewOf(core, outputNames[0]);
  st.drvs.set(key, value);
  for (const o of outputNames) st.byHashPart.set(hashPartOf(outputs[o].path), { kind: 'drv', drv: viewOf(core, o), output: o });
  return value;
}


/**
 * A derivation that could not be made: the mistake's error is kept, and raised where the value
 * is used — as an input (its path in another derivation's strings), built, or asked for its
 * .drv — not where it was written, so that an error in one export does not stop `--attr` of
 * another (as Nix's attributes are lazy). Its path is a placeholder no build ever sees.
 */
export class BrokenDrv extends Drv {
  constructor(
    name: string,
    readonly error: StoreError,
  ) {
    const st = evalState();
    const path = makeStorePath('text', sha256Hex(`broken:${st.byHashPart.size}:${error.message}`), st.settings.storeDir, name);
    const hash = hashPartOf(path);
    const d: Derivation = { name, outputs: { out: { path, hashAlgo: '', hash: '' } }, inputDrvs: {}, inputSrcs: [], system: st.settings.system, builder: '', args: [], env: {} };
    super({ d, inputs: new Map(), hashModulo: '', sources: undefined, hostTools: NO_HOST_TOOLS, site: captureCallSite(), storeDir: st.settings.storeDir, drvPath: undefined, first: undefined, views: undefined, meta: undefined }, 'out');
    st.byHashPart.set(hash, { kind: 'broken', error });
  }
  override get drvPath(): string {
    throw this.error;
  }
  override get drv(): Derivation {
    throw this.error;
  }
  override get inputs(): Map<string, Drv> {
    throw this.error;
  }
}

/**
 * `fn`, with its mistakes (StoreErrors) kept in a BrokenDrv rather than thrown: the expression
 * API's functions that make derivations are wrapped so, while a file is evaluated.
 */
export function lazyErrors<A extends unknown[], R extends Drv>(fn: (...a: A) => R, nameOf: (...a: A) => unknown): (...a: A) => R {
  return (...a: A): R => {
    try {
      return fn(...a);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      let name = 'broken';
      try {
        const n = nameOf(...a);
        if (typeof n === 'string') {
          validateName(n);
          name = n;
        }
      } catch {
        // No usable name: the placeholder's own.
      }
      return new BrokenDrv(name, e) as unknown as R;
    }
  };
}

/** The error of a derivation that could not be made, or undefined. */
export function brokenError(x: unknown): StoreError | undefined {
  return x instanceof BrokenDrv ? x.error : undefined;
}

/** The derivations `d` uses directly (one view of each), without computing any .drv path. */
export function inputDrvsOf(d: Drv): Drv[] {
  return [...coreOf(d).inputs.keys()].map((c) => viewOf(c, firstOutput(c)));
}

/** The builder of `d` and its arguments as its derivation has them (no .drv path is computed). */
export function builderOf(d: Drv): { builder: string; args: readonly string[] } {
  const { builder, args } = coreOf(d).d;
  return { builder, args };
}
