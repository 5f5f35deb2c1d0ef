/**
 * The closure of a store path with, for every path in it, its own size (narSize) and the size
 * of its own closure. Closures are bitsets filled in dependency order, so each path costs one
 * union per reference instead of a walk of its closure.
 */
import type { Store } from '../store/store.js';
import { parseStorePath } from '../store/path.js';

export interface ClosureNode {
  path: string;
  /** The name part of the store path (`zlib-1.3`). */
  name: string;
  narSize: number;
  closureSize: number;
  /** Paths of the closure this one refers to, self-reference left out. */
  references: string[];
}

export interface Closure {
  root: string;
  /** Every path of the closure, in dependency order (each after its references). */
  nodes: Map<string, ClosureNode>;
}

export function closureWithSizes(store: Store, root: string): Closure {
  const order = store.topoSortClosure([root]);
  const index = new Map(order.map((p, i) => [p, i]));
  const words = (order.length + 31) >>> 5;
  const bits = new Uint32Array(order.length * words);
  const sizes = new Float64Array(order.length);
  const nodes = new Map<string, ClosureNode>();
  order.forEach((p, i) => {
    const info = store.pathInfo(p);
    sizes[i] = info.narSize;
    const own = bits.subarray(i * words, (i + 1) * words);
    own[i >>> 5] |= 1 << (i & 31);
    const references = info.references.filter((r) => r !== p);
    for (const r of references) {
      const j = index.get(r)!;
      const theirs = bits.subarray(j * words, (j + 1) * words);
      for (let w = 0; w < words; w++) own[w] |= theirs[w];
    }
    let closureSize = 0;
    for (let w = 0; w < words; w++) {
      for (let v = own[w]; v !== 0; v &= v - 1) closureSize += sizes[(w << 5) + 31 - Math.clz32(v & -v)];
    }
    nodes.set(p, { path: p, name: parseStorePath(p, store.storeDir).name, narSize: info.narSize, closureSize, references });
  });
  return { root, nodes };
}

/** References sorted by what they cost: closure size, then own size, largest first; then by path. */
export function byCost(c: Closure, paths: readonly string[]): string[] {
  return [...paths].sort((a, b) => {
    const x = c.nodes.get(a)!;
    const y = c.nodes.get(b)!;
    return y.closureSize - x.closureSize || y.narSize - x.narSize || (a < b ? -1 : a > b ? 1 : 0);
  });
}
