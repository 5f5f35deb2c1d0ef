/**
 * The roots report: for every root, the bytes only it keeps alive — what `store gc` would free
 * if that root went away.
 *
 * One pass over all roots at once: owner[i] is UNSEEN, the one root that reaches i, or MULTI.
 * Each root walks its closure; a path owned by another root becomes MULTI and so does all it
 * reaches, and a walk stops at MULTI paths and at its own (everything below them is already
 * settled). Each path changes state at most twice, so the whole report costs O(paths + refs).
 */
import type { Store } from '../store/store.js';
import { loadGraph, markReachable, type GraphOptions, type StoreGraph } from './graph.js';
import { findRoots, type Root } from './roots.js';

export interface RootReport extends Root {
  /** Bytes (narSize) and paths reachable from this root and from no other. */
  uniqueBytes: number;
  uniquePaths: number;
  /** Bytes and paths of its whole closure (only when asked for). */
  closureBytes?: number;
  closurePaths?: number;
}

export interface StoreReport {
  roots: RootReport[];
  valid: number;
  validBytes: number;
  alive: number;
  aliveBytes: number;
}

const UNSEEN = -1;
const MULTI = -2;

export function rootsReport(store: Store, opts: GraphOptions & { closure?: boolean | ((r: Root) => boolean); graph?: StoreGraph; roots?: Root[] } = {}): StoreReport {
  const roots = opts.roots ?? findRoots(store);
  const g = opts.graph ?? loadGraph(store, opts);
  const n = g.size;
  const owner = new Int32Array(n).fill(UNSEEN);
  const { start, list } = g.refs;
  const keep = g.keep;
  const stack: number[] = [];
  roots.forEach((root, r) => {
    for (const t of root.targets) {
      const i = g.index.get(t);
      if (i !== undefined) stack.push(i);
    }
    while (stack.length) {
      const i = stack.pop()!;
      const o = owner[i];
      if (o === r || o === MULTI) continue;
      owner[i] = o === UNSEEN ? r : MULTI;
      for (let k = start[i]; k < start[i + 1]; k++) stack.push(list[k]);
      if (keep) for (let k = keep.start[i]; k < keep.start[i + 1]; k++) stack.push(keep.list[k]);
    }
  });
  const uniqueBytes = new Float64Array(roots.length);
  const uniquePaths = new Uint32Array(roots.length);
  let alive = 0;
  let aliveBytes = 0;
  let validBytes = 0;
  for (let i = 0; i < n; i++) {
    validBytes += g.narSize[i];
    const o = owner[i];
    if (o === UNSEEN) continue;
    alive++;
    aliveBytes += g.narSize[i];
    if (o >= 0) {
      uniqueBytes[o] += g.narSize[i];
      uniquePaths[o]++;
    }
  }
  const reports: RootReport[] = roots.map((root, r) => ({ ...root, uniqueBytes: uniqueBytes[r], uniquePaths: uniquePaths[r] }));
  if (opts.closure) {
    for (const rep of reports) {
      if (typeof opts.closure === 'function' && !opts.closure(rep)) continue;
      const marks = new Uint8Array(n);
      const from: number[] = [];
      for (const t of rep.targets) {
        const i = g.index.get(t);
        if (i !== undefined) from.push(i);
      }
      const closure = markReachable(g, from, marks);
      rep.closurePaths = closure.length;
      rep.closureBytes = closure.reduce((s, i) => s + g.narSize[i], 0);
    }
  }
  return { roots: reports, valid: n, validBytes, alive, aliveBytes };
}
