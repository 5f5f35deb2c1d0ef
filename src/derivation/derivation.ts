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

/**
 * Input derivations → the outputs used: the record of a .drv, or (for hash modulo, keyed by
 * the inputs' hashes) a Map: an object per derivation keyed by ever new hashes would give the
 * JavaScript engine a new object shape for each.
 */
export type InputDrvs = Readonly<Record<string, readonly string[]>> | ReadonlyMap<string, readonly string[]>;

/** Keys in byte order (the default sort compares UTF-16 code units, as `<` does). */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  return keys.length > 1 ? keys.sort() : keys;
}

function strList(items: readonly string[]): string {
  let s = '[';
  for (let i = 0; i < items.length; i++) s += (i ? ',' : '') + str(items[i]);
  return s + ']';
}

const sorted = (xs: readonly string[]) => (xs.length > 1 ? [...xs].sort() : xs);

/**
 * Serialise. `inputDrvs` may be replaced (hash modulo puts the inputs' hashes in place of
 * their paths) and output paths blanked. Evaluation serialises every derivation at least
 * once, so this builds one string with no intermediate arrays.
 */
export function unparseDerivation(drv: Derivation, opts: { inputDrvs?: InputDrvs; maskOutputs?: boolean } = {}): string {
  const mask = opts.maskOutputs ?? false;
  let s = 'Derive([';
  const outputs = sortedKeys(drv.outputs);
  for (let i = 0; i < outputs.length; i++) {
    const o = drv.outputs[outputs[i]];
    s += `${i ? ',' : ''}(${str(outputs[i])},${str(mask ? '' : o.path)},${str(o.hashAlgo)},${str(o.hash)})`;
  }
  s += '],[';
  const inputDrvs = opts.inputDrvs ?? drv.inputDrvs;
  if (inputDrvs instanceof Map) {
    const inputs = inputDrvs.size > 1 ? [...inputDrvs.keys()].sort() : [...inputDrvs.keys()];
    for (let i = 0; i < inputs.length; i++) s += `${i ? ',' : ''}(${str(inputs[i])},${strList(sorted(inputDrvs.get(inputs[i])!))})`;
  } else {
    const byPath = inputDrvs as Record<string, readonly string[]>;
    const inputs = sortedKeys(byPath);
    for (let i = 0; i < inputs.length; i++) s += `${i ? ',' : ''}(${str(inputs[i])},${strList(sorted(byPath[inputs[i]]))})`;
  }
  s += `],${strList(sorted(drv.inputSrcs))},${str(drv.system)},${str(drv.builder)},${strList(drv.args)},[`;
  const env = sortedKeys(drv.env);
  for (let i = 0; i < env.length; i++) {
    const k = env[i];
    s += `${i ? ',' : ''}(${str(k)},${str(mask && k in drv.outputs ? '' : drv.env[k])})`;
  }
  return s + '])';
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
  let n = 0;
  let fixed = false;
  for (const o in drv.outputs) {
    n++;
    fixed = drv.outputs[o].hash !== '';
  }
  return n === 1 && fixed;
}
