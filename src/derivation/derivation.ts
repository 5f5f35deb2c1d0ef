/**
 * The Derivation value and its canonical serialisation, in Nix's ATerm shape:
 *   Derive([(out,path,hashAlgo,hash)…],[(drvPath,[outs])…],[srcs…],"system","builder",[args],[(k,v)…])
 * Every list is sorted; strings escape \" \\ \n \r \t; there is no whitespace.
 */
import { StoreError } from '../errors.js';

export interface DerivationOutput {
  /** '' while the derivation is being hashed (input-addressed outputs). */
  path: string;
  /** '' for input-addressed outputs; 'sha256' (flat) or 'r:sha256' (recursive) for fixed-output. */
  hashAlgo: string;
  /** Hex digest for fixed-output, else ''. */
  hash: string;
}

export interface Derivation {
  name: string;
  outputs: Record<string, DerivationOutput>;
  /** .drv path → the output names used. */
  inputDrvs: Record<string, string[]>;
  inputSrcs: string[];
  system: string;
  builder: string;
  args: string[];
  env: Record<string, string>;
}

const SPECIAL = /[\\"\n\r\t]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function str(s: string): string {
  return SPECIAL.test(s) ? '"' + s.replace(/[\\"\n\r\t]/g, (c) => ESCAPES[c]) + '"' : '"' + s + '"';
}

function list<T>(items: readonly T[], f: (x: T) => string): string {
  return '[' + items.map(f).join(',') + ']';
}

const byKey = <T>(o: Record<string, T>): Array<[string, T]> => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const sorted = (xs: readonly string[]) => [...xs].sort();

/**
 * Serialise. `inputDrvs` may be replaced (hash modulo puts the inputs' hashes in place of
 * their paths) and output paths blanked.
 */
export function unparseDerivation(drv: Derivation, opts: { inputDrvs?: Record<string, string[]>; maskOutputs?: boolean } = {}): string {
  const mask = opts.maskOutputs ?? false;
  const outputs = list(byKey(drv.outputs), ([name, o]) => `(${str(name)},${str(mask ? '' : o.path)},${str(o.hashAlgo)},${str(o.hash)})`);
  const inputDrvs = list(byKey(opts.inputDrvs ?? drv.inputDrvs), ([p, outs]) => `(${str(p)},${list(sorted(outs), str)})`);
  const env = list(byKey(drv.env), ([k, v]) => `(${str(k)},${str(mask && k in drv.outputs ? '' : v)})`);
  return `Derive(${outputs},${inputDrvs},${list(sorted(drv.inputSrcs), str)},${str(drv.system)},${str(drv.builder)},${list(drv.args, str)},${env})`;
}

/** Parse a .drv file (for `store show-derivation`, `store diff`, rebuilds from the store). */
export function parseDerivation(text: string, name: string): Derivation {
  let i = 0;
  const fail = (what: string): never => {
    throw new StoreError('INVALID_PATH', `malformed derivation '${name}' at offset ${i}: expected ${what}`);
  };
  const expect = (s: string) => {
    if (!text.startsWith(s, i)) fail(`'${s}'`);
    i += s.length;
  };
  const parseStr = (): string => {
    expect('"');
    let out = '';
    for (;;) {
      const c = text[i++];
      if (c === undefined) fail('end of string');
      if (c === '"') return out;
      if (c === '\\') {
        const e = text[i++];
        out += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e;
      } else out += c;
    }
  };
  const parseList = <T>(item: () => T): T[] => {
    expect('[');
    const out: T[] = [];
    while (text[i] !== ']') {
      if (out.length) expect(',');
      out.push(item());
    }
    expect(']');
    return out;
  };
  expect('Derive(');
  const outputs: Record<string, DerivationOutput> = {};
  for (const [n, p, a, h] of parseList(() => {
    expect('(');
    const t = [parseStr(), (expect(','), parseStr()), (expect(','), parseStr()), (expect(','), parseStr())];
    expect(')');
    return t;
  }))
    outputs[n] = { path: p, hashAlgo: a, hash: h };
  expect(',');
  const inputDrvs: Record<string, string[]> = {};
  for (const [p, outs] of parseList(() => {
    expect('(');
    const p = parseStr();
    expect(',');
    const outs = parseList(parseStr);
    expect(')');
    return [p, outs] as const;
  }))
    inputDrvs[p] = outs;
  expect(',');
  const inputSrcs = parseList(parseStr);
  expect(',');
  const system = parseStr();
  expect(',');
  const builder = parseStr();
  expect(',');
  const args = parseList(parseStr);
  expect(',');
  const env: Record<string, string> = {};
  for (const [k, v] of parseList(() => {
    expect('(');
    const k = parseStr();
    expect(',');
    const v = parseStr();
    expect(')');
    return [k, v];
  }))
    env[k] = v;
  expect(')');
  if (i !== text.length) fail('end of input');
  const drvName = name.endsWith('.drv') ? name.slice(0, -4) : name;
  return { name: drvName, outputs, inputDrvs, inputSrcs, system, builder, args, env };
}

export function isFixedOutput(drv: Pick<Derivation, 'outputs'>): boolean {
  const outs = Object.values(drv.outputs);
  return outs.length === 1 && outs[0].hash !== '';
}
