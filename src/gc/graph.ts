/**
 * The store's reference graph in memory: every valid path gets a dense index, and references,
 * referrers, derivers and derivation outputs become CSR adjacency arrays. Loaded with a few
 * queries in one read transaction (one snapshot, Store.readSnapshot), never one query per path: liveness, the
 * roots report and `store why` are then plain array walks (cf. Mic92/fast-nix-gc).
 */
import type { Store } from '../store/store.js';

export interface GraphOptions {
  /** Follow output → its deriver (.drv), as Nix's keep-derivations. */
  keepDerivations?: boolean;
  /** Follow .drv → its valid outputs, as Nix's keep-outputs. */
  keepOutputs?: boolean;
}

/** Compressed adjacency: the neighbours of i are list[start[i] .. start[i+1]). */
export interface Adjacency {
  start: Uint32Array;
  list: Uint32Array;
}

export interface StoreGraph {
  size: number;
  paths: string[];
  /** ValidPaths.id of each index. */
  rowIds: Float64Array;
  narSize: Float64Array;
  index: Map<string, number>;
  /** References (self-references left out). */
  refs: Adjacency;
  /** Referrers (self-references left out). */
  referrers: Adjacency;
  /** Extra liveness edges from the keep options: output → deriver, .drv → outputs. */
  keep: Adjacency | undefined;
  options: GraphOptions;
}

function csr(n: number, from: Uint32Array, to: Uint32Array, m: number): Adjacency {
  const start = new Uint32Array(n + 1);
  for (let k = 0; k < m; k++) start[from[k] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const list = new Uint32Array(m);
  for (let k = 0; k < m; k++) list[fill[from[k]]++] = to[k];
  return { start, list };
}

/** A growable list of (from, to) index pairs. */
class Edges {
  from = new Uint32Array(1024);
  to = new Uint32Array(1024);
  length = 0;
  push(a: number, b: number): void {
    if (this.length === this.from.length) {
      const f = new Uint32Array(this.length * 2);
      f.set(this.from);
      this.from = f;
      const t = new Uint32Array(this.length * 2);
      t.set(this.to);
      this.to = t;
    }
    this.from[this.length] = a;
    this.to[this.length++] = b;
  }
}

export function loadGraph(store: Store, options: GraphOptions = {}): StoreGraph {
  return store.readSnapshot((snap) => {
    const rows = snap.paths();
    const n = rows.paths.length;
    const paths = rows.paths;
    const rowIds = Float64Array.from(rows.ids);
    const narSize = Float64Array.from(rows.sizes);
    const index = new Map<string, number>();
    let maxId = 0;
    for (let i = 0; i < n; i++) {
      index.set(paths[i], i);
      if (rowIds[i] > maxId) maxId = rowIds[i];
    }
    // Row id → index: a flat array while ids are dense enough, else a map.
    let byId: (id: number) => number;
    if (maxId <= 4 * n + 1024) {
      const flat = new Int32Array(maxId + 1).fill(-1);
      for (let i = 0; i < n; i++) flat[rowIds[i]] = i;
      byId = (id) => flat[id];
    } else {
      const m = new Map<number, number>();
      for (let i = 0; i < n; i++) m.set(rowIds[i], i);
      byId = (id) => m.get(id) ?? -1;
    }
    const edges = new Edges();
    const add = (a: number, b: number) => {
      if (a === b) return;
      const i = byId(a);
      const j = byId(b);
      if (i >= 0 && j >= 0) edges.push(i, j);
    };
    snap.forEachReference(maxId, add);
    const refs = csr(n, edges.from, edges.to, edges.length);
    const referrers = csr(n, edges.to, edges.from, edges.length);
    let keep: Adjacency | undefined;
    if (options.keepDerivations || options.keepOutputs) {
      const extra = new Edges();
      if (options.keepDerivations) {
        snap.forEachDeriver((id, deriver) => {
          const j = index.get(deriver);
          const i = byId(id);
          if (j !== undefined && i >= 0 && i !== j) extra.push(i, j);
        });
      }
      if (options.keepOutputs) {
        snap.forEachDerivationOutput((drv, p) => {
          const j = index.get(p);
          const i = byId(drv);
          if (j !== undefined && i >= 0 && i !== j) extra.push(i, j);
        });
      }
      keep = csr(n, extra.from, extra.to, extra.length);
    }
    return { size: n, paths, rowIds, narSize, index, refs, referrers, keep, options };
  });
}

/** Call fn for every liveness successor of i: its references, and the keep edges. */
export function forEachSuccessor(g: StoreGraph, i: number, fn: (j: number) => void): void {
  const { start, list } = g.refs;
  for (let k = start[i]; k < start[i + 1]; k++) fn(list[k]);
  if (g.keep) for (let k = g.keep.start[i]; k < g.keep.start[i + 1]; k++) fn(g.keep.list[k]);
}

/**
 * Mark everything reachable from `from` (indices) in `live`, skipping what is marked already.
 * Returns the indices newly marked.
 */
export function markReachable(g: StoreGraph, from: Iterable<number>, live: Uint8Array): number[] {
  const marked: number[] = [];
  const stack: number[] = [];
  for (const i of from) if (!live[i]) {
    live[i] = 1;
    marked.push(i);
    stack.push(i);
  }
  const { start, list } = g.refs;
  const keep = g.keep;
  while (stack.length) {
    const i = stack.pop()!;
    for (let k = start[i]; k < start[i + 1]; k++) {
      const j = list[k];
      if (!live[j]) {
        live[j] = 1;
        marked.push(j);
        stack.push(j);
      }
    }
    if (keep) {
      for (let k = keep.start[i]; k < keep.start[i + 1]; k++) {
        const j = keep.list[k];
        if (!live[j]) {
          live[j] = 1;
          marked.push(j);
          stack.push(j);
        }
      }
    }
  }
  return marked;
}

/** Indices of the given store paths that are valid in the graph. */
export function indicesOf(g: StoreGraph, paths: Iterable<string>): number[] {
  const out: number[] = [];
  for (const p of paths) {
    const i = g.index.get(p);
    if (i !== undefined) out.push(i);
  }
  return out;
}

/**
 * The strongly connected components of the subgraph of `members` (under references), in an
 * order where every referrer comes before its references: the order to delete them in.
 * Each component is deleted as one unit (a cycle's rows must go in one transaction).
 * Iterative Tarjan, so long reference chains do not overflow the stack.
 */
export function deletionOrder(g: StoreGraph, members: Uint8Array): number[][] {
  const n = g.size;
  const { start, list } = g.refs;
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const sccs: number[][] = [];
  const callNode: number[] = [];
  const callEdge: number[] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (!members[root] || order[root] >= 0) continue;
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    callNode.push(root);
    callEdge.push(start[root]);
    while (callNode.length) {
      const top = callNode.length - 1;
      const v = callNode[top];
      const e = callEdge[top];
      if (e < start[v + 1]) {
        callEdge[top] = e + 1;
        const w = list[e];
        if (!members[w]) continue;
        if (order[w] < 0) {
          order[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          callNode.push(w);
          callEdge.push(start[w]);
        } else if (onStack[w] && order[w] < low[v]) {
          low[v] = order[w];
        }
        continue;
      }
      callNode.pop();
      callEdge.pop();
      if (callNode.length) {
        const parent = callNode[callNode.length - 1];
        if (low[v] < low[parent]) low[parent] = low[v];
      }
      if (low[v] === order[v]) {
        const scc: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          scc.push(w);
        } while (w !== v);
        sccs.push(scc);
      }
    }
  }
  // Tarjan emits a component after everything it references: reverse for referrers first.
  return sccs.reverse();
}
