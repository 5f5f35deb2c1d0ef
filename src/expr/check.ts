/**
 * Checking what expressions pass to the API: unknown keys (with a did-you-mean), values of the
 * wrong type, `undefined` where a derivation or a path is expected. A mistake is an EVAL error
 * that names the expression file, line and column, with a code frame, as syntax errors do.
 *
 * The checks run on every call, so they are plain loops and comparisons; the stack is read
 * (and source-mapped) only once something is wrong.
 */
import { StoreError } from '../errors.js';
import { codeFrameAt, sourceLines } from '../code-frame.js';
import { expressionSite, type SourceSite } from './caller.js';

/** The edit distance of two short strings (insertions, deletions, substitutions, transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (Math.abs(m - n) > 3) return Math.abs(m - n);
  const d: number[][] = [];
  for (let i = 0; i <= m; i++) d.push([i, ...new Array<number>(n).fill(0)]);
  for (let j = 0; j <= n; j++) d[0][j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[m][n];
}

/** The candidate closest to `word`, if it is close enough to be what was meant. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  const allowed = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}

/** " (did you mean X?)" or ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean ${c}?)`;
}

/** What a value is, for messages: "undefined", "a number (1.3)", "a plain object"… */
export function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)})`;
    case 'number':
      return `a number (${v})`;
    case 'boolean':
      return `a boolean (${v})`;
    case 'function':
      return 'a function';
    case 'symbol':
    case 'bigint':
      return `a ${typeof v}`;
  }
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Promise) return 'a promise (await it first)';
  const kind = (v as { kind?: unknown }).kind;
  if (kind === 'derivation') return `the derivation '${(v as { name: string }).name}'`;
  if (kind === 'source') return `the path '${(v as { name: string }).name}'`;
  if (kind === 'host-tool') return 'a host tool';
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return 'a plain object';
  return `an object (${(proto?.constructor?.name as string | undefined) ?? 'object'})`;
}

/**
 * Where, in the expression, `key` was written: the first line at or after the call site that
 * has `key` as an object key (`key:` or shorthand `key,`), within the call's next lines;
 * else the call site itself.
 */
function keySite(site: SourceSite, key: string): SourceSite {
  const lines = sourceLines(site.file);
  if (!lines) return site;
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(^|[\\s{,'"])${escaped}['"]?\\s*(:|,|\\}|$)`);
  for (let i = site.line - 1; i < Math.min(lines.length, site.line - 1 + 60); i++) {
    const text = lines[i];
    const from = i === site.line - 1 ? site.column : 0;
    const m = re.exec(text.slice(from));
    if (m) return { file: site.file, line: i + 1, column: from + m.index + m[1].length };
  }
  return site;
}

export interface ExprErrorOptions {
  hint?: string;
  /** The argument the mistake is in: the frame points at it when it can be found. */
  key?: string;
  code?: 'EVAL' | 'INVALID_NAME';
  cause?: unknown;
}

/**
 * An error about the expression that called the API now: "file:line:column: message", and the
 * line with a caret under the place.
 */
export function exprError(message: string, opts: ExprErrorOptions = {}): StoreError {
  let site = expressionSite();
  if (site && opts.key !== undefined) site = keySite(site, opts.key);
  const where = site ? `${site.file}:${site.line}:${site.column + 1}` : undefined;
  const frame = site ? codeFrameAt(site.file, site.line, site.column) : '';
  return new StoreError(opts.code ?? 'EVAL', `${where ? `${where}: ` : ''}${message}${frame}`, {
    hint: opts.hint,
    cause: opts.cause,
    ...(site ? { location: `${site.file}:${site.line}` } : {}),
  });
}

/** A derivation, a path() or a host tool: a value of the API rather than an object of arguments. */
function isApiValue(v: object): boolean {
  const kind = (v as { kind?: unknown }).kind;
  return (kind === 'derivation' || kind === 'source' || kind === 'host-tool') && Object.getPrototypeOf(v) !== Object.prototype;
}

/** The argument object of `fn` (a plain object), else an error. */
export function checkArgsObject(fn: string, a: unknown): asserts a is Record<string, unknown> {
  if (a === null || typeof a !== 'object' || Array.isArray(a) || isApiValue(a)) {
    throw exprError(`${fn}() takes one object of named arguments, not ${describe(a)}`, { hint: `write ${fn}({ name: '…', … })` });
  }
}

/**
 * Refuse keys of `a` that `fn` does not know, naming the nearest known one. `accept(k)` may
 * allow more keys (and `what` says what those are, for the hint).
 */
export function checkKeys(fn: string, a: Record<string, unknown>, known: ReadonlySet<string>, accept?: (k: string) => boolean, extraHint?: string): void {
  for (const k in a) {
    if (known.has(k) || (accept !== undefined && accept(k))) continue;
    const named = typeof a.name === 'string' ? ` '${a.name}'` : typeof a.pname === 'string' ? ` '${a.pname}'` : '';
    const guess = closest(k, known);
    throw exprError(`${fn}${named} has no argument '${k}'${guess ? ` (did you mean ${guess}?)` : ''}`, {
      key: k,
      hint: guess ? `rename '${k}' to '${guess}'` : `${fn} takes ${[...known].join(', ')}${extraHint ? `; ${extraHint}` : ''}`,
    });
  }
}

/** `a[key]`, which must be a string when given (undefined: not given). */
export function optionalString(fn: string, a: Record<string, unknown>, key: string): string | undefined {
  const v = a[key];
  if (v === undefined || typeof v === 'string') return v;
  throw exprError(`${fn}: ${key} must be a string, not ${describe(v)}`, { key, hint: typeof v === 'number' ? `quote it: ${key}: '${v}'` : undefined });
}

export function optionalBoolean(fn: string, a: Record<string, unknown>, key: string): boolean | undefined {
  const v = a[key];
  if (v === undefined || typeof v === 'boolean') return v;
  throw exprError(`${fn}: ${key} must be true or false, not ${describe(v)}`, { key });
}

/** `a[key]`, which must be an array when given; each element checked by `each`. */
export function optionalArray<T>(fn: string, a: Record<string, unknown>, key: string, each: (x: unknown, i: number) => T): T[] | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw exprError(`${fn}: ${key} must be an array, not ${describe(v)}`, { key, hint: typeof v === 'string' || (v && typeof v === 'object') ? `write ${key}: [ … ]` : undefined });
  for (let i = 0; i < v.length; i++) each(v[i], i);
  return v as T[];
}

/** `a[key]`, which must be a plain object when given. */
export function optionalRecord(fn: string, a: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || isApiValue(v)) {
    throw exprError(`${fn}: ${key} must be an object ({ NAME: value, … }), not ${describe(v)}`, { key });
  }
  return v as Record<string, unknown>;
}

/** The elements of a list of strings. */
export function stringElement(fn: string, key: string) {
  return (x: unknown, i: number): string => {
    if (typeof x === 'string') return x;
    throw exprError(`${fn}: ${key}[${i}] must be a string, not ${describe(x)}`, { key });
  };
}

/** A string that a plain object, a promise or the like was turned into ("[object Object]"). */
const OBJECT_TEXT = /\[object [A-Z][A-Za-z]*\]/;

/** Refuse a string that has "[object Object]" (or "[object Promise]"…) in it. */
export function checkText(s: string, what: () => string, key?: string): void {
  if (s.indexOf('[object ') === -1) return;
  const m = OBJECT_TEXT.exec(s);
  if (!m) return;
  throw exprError(`${what()} contains '${m[0]}': an object was turned into a string`, {
    key,
    hint: m[0] === '[object Promise]' ? 'await the promise before using its value in a string' : 'use a derivation, a path or a string there, or the field of the object that was meant',
  });
}

/** A derivation, a path(), or a string (a store path): what inputs and sources may be. */
export function isPackageLike(x: unknown): boolean {
  if (typeof x === 'string') return x !== '';
  if (x === null || typeof x !== 'object') return false;
  const kind = (x as { kind?: unknown }).kind;
  return kind === 'derivation' || kind === 'source';
}

/** The elements of a list of packages (buildInputs…). */
export function packageElement(fn: string, key: string) {
  return (x: unknown, i: number): void => {
    if (isPackageLike(x)) return;
    throw exprError(`${fn}: ${key}[${i}] is ${describe(x)}, not a derivation or a path`, {
      key,
      hint: x === undefined || x === null ? 'look for a misspelt or missing attribute (a package set names the package that is missing)' : 'give derivations or path(...) sources',
    });
  };
}
