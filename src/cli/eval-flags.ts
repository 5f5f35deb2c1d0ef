/**
 * The flags of every command that evaluates an expression file — its arguments (`--arg`,
 * `--argstr`) and the evaluation's time limit — and the evaluation options they give.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import type { FlagSpec, Parsed } from './args.js';
import { evalTimeoutMs, type StoreConfig } from '../store/config.js';

export const EVAL_FLAGS: FlagSpec = {
  arg: { kind: 'pairs', description: 'pass NAME = VALUE (JSON: 0.01, true, "text", [1,2]) to the functions the file exports' },
  argstr: { kind: 'pairs', description: 'pass NAME = VALUE as a string' },
  'eval-timeout': { kind: 'string', description: 'seconds the evaluation may take (default: "evalTimeout" of etc/hepstore.json, else 300)', check: (v) => evalTimeoutMs({}, '', v) },
};

/** The names looked for when FILE is a directory (`store realize .`), in order. */
export const DEFAULT_EXPRESSION_FILES = ['env.ts', 'default.ts'] as const;

/**
 * The expression file an argument names: the file itself, or a directory's env.ts (else
 * default.ts). `missing` is the error when nothing is there (for commands that also take a store path).
 */
export function expressionFile(arg: string, cwd: string, missing?: () => StoreError): string {
  const abs = path.resolve(cwd, arg);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    if (missing) throw missing();
    throw new StoreError('USAGE', `expression file '${arg}' does not exist`, { hint: /\.[cm]?[jt]s$/.test(abs) ? undefined : `give a .ts file, or a directory with ${DEFAULT_EXPRESSION_FILES.join(' or ')}` });
  }
  if (!st.isDirectory()) return abs;
  for (const name of DEFAULT_EXPRESSION_FILES) if (fs.existsSync(path.join(abs, name))) return path.join(abs, name);
  throw new StoreError('USAGE', `'${arg}' is a directory with no ${DEFAULT_EXPRESSION_FILES.join(' or ')}`, { hint: 'name the expression file, e.g. store realize analysis.ts' });
}

const NAME = /^[A-Za-z_$][\w$]*$/;

/** The arguments of `--arg NAME JSON` and `--argstr NAME TEXT`, by name. */
export function expressionArgs(args: Parsed): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (name: string, value: unknown, flag: string) => {
    if (!NAME.test(name)) throw new StoreError('USAGE', `--${flag} '${name}': an argument's name is an identifier (letters, digits, _ and $)`);
    if (Object.hasOwn(out, name)) throw new StoreError('USAGE', `the argument '${name}' is given twice`);
    out[name] = value;
  };
  for (const [name, text] of (args.flags.arg as Array<[string, string]> | undefined) ?? []) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new StoreError('USAGE', `--arg ${name} '${text}': the value is not JSON`, { hint: `for a string, use --argstr ${name} '${text}' (or --arg ${name} '${JSON.stringify(text)}')` });
    }
    put(name, value, 'arg');
  }
  for (const [name, text] of (args.flags.argstr as Array<[string, string]> | undefined) ?? []) put(name, text, 'argstr');
  return out;
}

/** The arguments as a key of the evaluation cache: canonical JSON, '' for none. */
export function argsKey(values: Record<string, unknown>): string {
  const keys = Object.keys(values).sort();
  return keys.length ? JSON.stringify(keys.map((k) => [k, values[k]])) : '';
}

/** What evaluateFile() needs from the command line and the store's configuration. */
export function evalOptions<C extends string | undefined>(args: Parsed, config: StoreConfig, configFile: string, storeDir: string, cacheDir: C) {
  return {
    storeDir,
    attr: args.flags.attr as string | undefined,
    cacheDir,
    timeoutMs: evalTimeoutMs(config, configFile, args.flags['eval-timeout']),
    args: expressionArgs(args),
  };
}
