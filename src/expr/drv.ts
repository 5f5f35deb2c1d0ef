/**
 * The `derivation()` primitive and the value it returns. A Drv's string form is its output
 * path; `drv.dev` etc. name other outputs. Inputs are found from the store paths that occur
 * in builder, args and env (string context), as in Nix.
 */
import { StoreError } from '../errors.js';
import { parseSRI } from '../hash/sri.js';
import { validateName, hashPartOf } from '../store/path.js';
import { type Derivation } from '../derivation/derivation.js';
import { assignOutputPaths, derivationPath } from '../derivation/paths.js';
import { contextOf, evalState, hostToolsIn, settings, type ContextEntry } from './context.js';
import type { SourcePath } from './path.js';
import type { HostTool } from './host.js';
import { callSite, callerLocation } from './caller.js';

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
const RESERVED = new Set(['name', 'kind', 'output', 'drv', 'drvPath', 'outPath', 'outputName', 'outputs', 'inputs', 'sources', 'hostTools', 'hashModulo', 'location', 'toString', 'toJSON', 'constructor', 'valueOf', 'then', 'all', 'meta']);

export class Drv {
  /** Outputs other than the one viewed: `drv.dev`, `drv.lib`… */
  readonly [output: string]: unknown;
  readonly kind = 'derivation';
  readonly outputName: string;
  /** Derivations this one uses, by .drv path. */
  readonly inputs: Map<string, Drv>;
  readonly sources: Map<string, SourcePath>;
  readonly hostTools: HostTool[];
  private readonly site?: () => string | undefined;
  /** Free-form package metadata (version, description…); never part of any hash. */
  meta: Record<string, unknown> = {};

  constructor(
    readonly drv: Derivation,
    readonly drvPath: string,
    readonly hashModulo: string,
    parts: { inputs: Map<string, Drv>; sources: Map<string, SourcePath>; hostTools: HostTool[]; site?: () => string | undefined },
    outputName?: string,
  ) {
    // As in Nix, a derivation value stands for its first output ('out' unless outputs says otherwise).
    this.outputName = outputName ?? Object.keys(drv.outputs)[0];
    this.inputs = parts.inputs;
    this.sources = parts.sources;
    this.hostTools = parts.hostTools;
    this.site = parts.site;
    this.outPath = drv.outputs[this.outputName].path;
    for (const o in drv.outputs) {
      if (o !== 'out') Object.defineProperty(this, o, { enumerable: false, get: () => this.output(o) });
    }
  }

  get name(): string {
    return this.drv.name;
  }
  /** Where in the expression files it was made ("file:line"). */
  get location(): string | undefined {
    return this.site?.();
  }
  get outputs(): string[] {
    return Object.keys(this.drv.outputs);
  }
  readonly outPath: string;
  /** The `out` output (every derivation with one). */
  get out(): Drv {
    return this.output('out');
  }
  /** The same derivation, viewing output `name`. */
  output(name: string): Drv {
    if (!(name in this.drv.outputs)) throw new StoreError('EVAL', `derivation '${this.name}' has no output '${name}' (it has ${this.outputs.join(', ')})`);
    return name === this.outputName ? this : new Drv(this.drv, this.drvPath, this.hashModulo, { inputs: this.inputs, sources: this.sources, hostTools: this.hostTools, site: this.site }, name);
  }
  toString(): string {
    return this.outPath;
  }
  toJSON(): string {
    return this.outPath;
  }
}

export function isDrv(x: unknown): x is Drv {
  return x instanceof Drv;
}

function coerce(v: Stringish | Stringish[], what: string): string {
  if (Array.isArray(v)) return v.map((x) => coerce(x, what)).join(' ');
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? '1' : '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object' && typeof v.toString === 'function' && v.toString !== Object.prototype.toString) return v.toString();
  throw new StoreError('EVAL', `${what} cannot be turned into a string (got ${typeof v === 'object' ? 'an object' : typeof v})`, {
    hint: 'use strings, numbers, booleans, derivations, paths, or arrays of them',
  });
}

export function derivation(a: DerivationArgs): Drv {
  // Where it was made: kept for fixed-output derivations (a hash mismatch names the line to
  // change); errors found during evaluation read the stack when they are thrown.
  const site = a?.outputHash !== undefined ? callSite() : undefined;
  const at = () => {
    const where = site ? site() : callerLocation();
    return where ? ` (${where})` : '';
  };
  if (!a || typeof a.name !== 'string') throw new StoreError('EVAL', `derivation() needs a name${at()}`);
  const ctx = `derivation '${a.name}'`;
  try {
    validateName(a.name, 'derivation name');
  } catch (e) {
    throw new StoreError('INVALID_NAME', `${(e as Error).message}${at()}`, { hint: (e as StoreError).hint });
  }
  const s = settings();
  const builder = coerce(a.builder, `builder of ${ctx}`);
  if (!builder) throw new StoreError('EVAL', `${ctx} has no builder`);
  const args = (a.args ?? []).map((x, i) => coerce(x, `args[${i}] of ${ctx}`));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(a.env ?? {})) env[k] = coerce(v, `env.${k} of ${ctx}`);
  const outputNames = a.outputs ?? ['out'];
  if (outputNames.length === 0) throw new StoreError('EVAL', `${ctx} has no outputs`);
  for (const o of outputNames) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(o) || RESERVED.has(o)) throw new StoreError('EVAL', `${ctx}: '${o}' cannot be an output name`);
    if (o in env) throw new StoreError('EVAL', `${ctx}: env.${o} would be overwritten by the path of output '${o}'`);
  }
  if (new Set(outputNames).size !== outputNames.length) throw new StoreError('EVAL', `${ctx}: duplicate output names`);

  // String context: every store path mentioned makes its producer an input.
  const found = new Set<ContextEntry>();
  const tools = new Set<HostTool>();
  for (const str of [builder, ...args, ...Object.values(env)]) {
    contextOf(str, found);
    hostToolsIn(str, tools);
  }
  const inputs = new Map<string, Drv>();
  const inputDrvs: Record<string, string[]> = {};
  const sources = new Map<string, SourcePath>();
  for (const e of found) {
    if (e.kind === 'src') sources.set(e.src.storePath, e.src);
    else {
      inputs.set(e.drv.drvPath, e.drv);
      const outs = (inputDrvs[e.drv.drvPath] ??= []);
      if (!outs.includes(e.output)) outs.push(e.output);
    }
  }
  const hostTools = [...tools].sort((x, y) => (x.path < y.path ? -1 : 1));
  if (hostTools.length) env.__hostTools = JSON.stringify(hostTools.map((t) => t.identity()));

  const outputs: Derivation['outputs'] = {};
  if (a.outputHash !== undefined) {
    if (outputNames.length !== 1 || outputNames[0] !== 'out') throw new StoreError('EVAL', `${ctx}: a fixed-output derivation has exactly one output, 'out'`);
    let digest: Buffer;
    try {
      digest = parseSRI(a.outputHash, `outputHash of ${ctx}`);
    } catch (e) {
      throw new StoreError('EVAL', (e as Error).message, { hint: (e as StoreError).hint });
    }
    const mode = a.outputHashMode ?? 'flat';
    if (mode !== 'flat' && mode !== 'recursive') throw new StoreError('EVAL', `${ctx}: outputHashMode must be 'flat' or 'recursive'`);
    outputs.out = { path: '', hashAlgo: mode === 'recursive' ? 'r:sha256' : 'sha256', hash: digest.toString('hex') };
  } else {
    for (const o of outputNames) outputs[o] = { path: '', hashAlgo: '', hash: '' };
  }
  const drv: Derivation = {
    name: a.name,
    outputs,
    inputDrvs,
    inputSrcs: [...sources.keys()].sort(),
    system: a.system ?? s.system,
    builder,
    args,
    env,
  };
  const st = evalState();
  const inputHash = (p: string) => st.drvsByPath.get(p)!.hashModulo;
  const hashModulo = assignOutputPaths(drv, s.storeDir, inputHash);
  const drvPath = derivationPath(drv, s.storeDir);
  const existing = st.drvsByPath.get(drvPath);
  if (existing) return existing;
  const value = new Drv(drv, drvPath, hashModulo, { inputs, sources, hostTools, site });
  st.drvsByPath.set(drvPath, value);
  for (const [o, out] of Object.entries(drv.outputs)) st.byHashPart.set(hashPartOf(out.path), { kind: 'drv', drv: value.output(o), output: o });
  return value;
}
