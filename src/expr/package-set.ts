/**
 * A package set: named packages defined in terms of each other, evaluated lazily and once.
 * A package that (indirectly) needs itself is reported as a cycle with its members.
 */
import { StoreError } from '../errors.js';

export type PackageDefs<T> = { [name: string]: (self: Record<string, T>) => T };

export function packageSet<T>(defs: PackageDefs<T>): Record<string, T> {
  const values = new Map<string, T>();
  const evaluating: string[] = [];
  const self = {} as Record<string, T>;
  for (const name of Object.keys(defs)) {
    Object.defineProperty(self, name, {
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
            throw new StoreError(e.code, `${e.message}\n  while evaluating package '${name}'`, { hint: e.hint, cause: e });
          }
          throw e;
        } finally {
          evaluating.pop();
        }
      },
    });
  }
  return self;
}
