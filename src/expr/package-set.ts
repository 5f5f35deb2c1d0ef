/**
 * A package set: named packages defined in terms of each other, evaluated lazily and once.
 * A package that (indirectly) needs itself is reported as a cycle with its members; a package
 * that asks for one the set does not have (`self.zlbi`) is an error naming both, with the line.
 */
import { StoreError } from '../errors.js';
import { checkArgsObject, describe, didYouMean, exprError } from './check.js';
import type { Drv } from './drv.js';

/** The packages of a set: each a function of the whole set (`self`), typed by the set's names. */
export type PackageDefs<T, K extends string = string> = Record<K, (self: Record<K, T>) => T>;

/**
 * Names read from any object by the language and by common tools (await, JSON, inspection):
 * asking a set for these is not a mistake, and they are simply absent.
 */
const NOT_PACKAGES = new Set(['then', 'toJSON', 'inspect', 'asymmetricMatch', '$$typeof', 'nodeType', '__esModule', 'constructor', 'prototype', 'length']);

/** The location (file:line) an error was found at, from it or what it wraps. */
function locationOf(e: unknown): string | undefined {
  for (let x = e, depth = 0; x && depth < 8; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof StoreError && x.location !== undefined) return x.location;
  }
  return undefined;
}

/**
 * The names of the set are its keys, so the compiler (an editor, `tsc`) refuses `self.zlbi`
 * as the evaluation does; `packageSet<Drv>(…)` with the type given accepts any name.
 */
export function packageSet<T = Drv, K extends string = string>(typedDefs: PackageDefs<T, K>): Record<K, T> {
  const defs = typedDefs as unknown as PackageDefs<T>;
  checkArgsObject('packageSet', defs);
  for (const name of Object.keys(defs)) {
    if (typeof defs[name] !== 'function') {
      throw exprError(`packageSet: package '${name}' is ${describe(defs[name])}, not a function of the set`, { key: name, hint: `write ${name}: (self) => mkDerivation({ … })` });
    }
  }
  const values = new Map<string, T>();
  const evaluating: string[] = [];
  const target = {} as Record<string, T>;
  for (const name of Object.keys(defs)) {
    Object.defineProperty(target, name, {
      enumerable: true,
      get(): T {
        if (values.has(name)) return values.get(name)!;
        const at = evaluating.indexOf(name);
        if (at >= 0) {
          const members = [...evaluating.slice(at), name];
          throw new StoreError('CYCLE', `dependency cycle: ${members.join(' -> ')}`, { hint: 'break the cycle explicitly, e.g. build one member without the other first' });
        }
        evaluating.push(name);
        try {
          const v = defs[name](self);
          values.set(name, v);
          return v;
        } catch (e) {
          if (e instanceof StoreError && !e.message.includes(`while evaluating package '${name}'`) && e.code !== 'CYCLE') {
            const location = locationOf(e);
            throw new StoreError(e.code, `${e.message}\n  while evaluating package '${name}'`, { hint: e.hint, cause: e, ...(location ? { location } : {}) });
          }
          throw e;
        } finally {
          evaluating.pop();
        }
      },
    });
  }
  const names = Object.keys(defs);
  const self: Record<string, T> = new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop !== 'string' || prop in t || prop in Object.prototype || NOT_PACKAGES.has(prop)) return Reflect.get(t, prop, receiver);
      const asker = evaluating[evaluating.length - 1];
      throw exprError(`${asker === undefined ? 'the package set' : `package '${asker}'`} asks for '${prop}', which the package set does not have${didYouMean(prop, names)}`, {
        hint: `the set has ${names.length > 12 ? `${names.slice(0, 12).join(', ')}… (${names.length} packages)` : names.join(', ')}; test for an optional one with ('${prop}' in self)`,
      });
    },
  });
  return self;
}
