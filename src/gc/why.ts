/**
 * `store why PATH`: for every root that keeps PATH alive, one shortest chain of references
 * from the root down to PATH. One breadth-first search backwards (over referrers, and the
 * keep-derivations / keep-outputs edges when they are on) from PATH, then a walk per root.
 */
import { StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import { loadGraph, type Adjacency, type GraphOptions, type StoreGraph } from './graph.js';
import { findRoots, type Root } from './roots.js';

export interface Chain {
  root: Root;
  /** Store paths from the root's target down to PATH (PATH last). */
  chain: string[];
}

export interface Explanation {
  path: string;
  alive: boolean;
  chains: Chain[];
}

function reverse(a: Adjacency, n: number): Adjacency {
  const start = new Uint32Array(n + 1);
  for (let k = 0; k < a.list.length; k++) start[a.list[k] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const list = new Uint32Array(a.list.length);
  for (let i = 0; i < n; i++) for (let k = a.start[i]; k < a.start[i + 1]; k++) list[fill[a.list[k]]++] = i;
  return { start, list };
}

export function explain(store: Store, p: string, opts: GraphOptions & { graph?: StoreGraph; roots?: Root[] } = {}): Explanation {
  const g = opts.graph ?? loadGraph(store, opts);
  const target = g.index.get(p);
  if (target === undefined) throw new StoreError('NOT_VALID', `path '${p}' is not valid in the store`, { hint: 'it was never added, or it was garbage-collected' });
  const roots = opts.roots ?? findRoots(store);
  const n = g.size;
  const preds: Adjacency[] = [g.referrers];
  if (g.keep) preds.push(reverse(g.keep, n));
  // dist[i]: hops from i down to PATH; next[i]: the following path on a shortest chain.
  const dist = new Int32Array(n).fill(-1);
  const next = new Int32Array(n).fill(-1);
  dist[target] = 0;
  const queue = new Uint32Array(n);
  let head = 0;
  let tail = 0;
  queue[tail++] = target;
  while (head < tail) {
    const i = queue[head++];
    for (const a of preds) {
      for (let k = a.start[i]; k < a.start[i + 1]; k++) {
        const j = a.list[k];
        if (dist[j] >= 0) continue;
        dist[j] = dist[i] + 1;
        next[j] = i;
        queue[tail++] = j;
      }
    }
  }
  const chains: Chain[] = [];
  for (const root of roots) {
    let best = -1;
    for (const t of root.targets) {
      const i = g.index.get(t);
      if (i !== undefined && dist[i] >= 0 && (best < 0 || dist[i] < dist[best])) best = i;
    }
    if (best < 0) continue;
    const chain: string[] = [];
    for (let i = best; i >= 0; i = next[i]) chain.push(g.paths[i]);
    chains.push({ root, chain });
  }
  chains.sort((a, b) => a.chain.length - b.chain.length || (a.root.name < b.root.name ? -1 : a.root.name > b.root.name ? 1 : 0));
  return { path: p, alive: chains.length > 0, chains };
}
