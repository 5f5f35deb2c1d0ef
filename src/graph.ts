/**
 * Walks over directed graphs given as a successor function: dependency order, chain lengths,
 * reachability and shortest chains. All are iterative, so a graph's depth is bounded by memory, not by the call
 * stack (a chain of 100,000 derivations or references is an ordinary input).
 */

/** A cycle found while ordering: its members in order, the first repeated at the end. */
export class GraphCycle<T> extends Error {
  constructor(readonly cycle: T[]) {
    super(`cycle: ${cycle.map(String).join(' -> ')}`);
  }
}

/**
 * Every node reachable from `starts` (themselves included) in dependency order: each node after
 * all of its successors. Nodes are visited in the order given, and successors in the order the
 * function returns them, so the result is deterministic. Throws GraphCycle on a cycle.
 */
export function dependencyOrder<T>(starts: Iterable<T>, successors: (n: T) => Iterable<T>): T[] {
  const out: T[] = [];
  // 1: on the current path; 2: done.
  const state = new Map<T, 1 | 2>();
  const path: T[] = [];
  const pending: Array<Iterator<T>> = [];
  for (const s of starts) {
    if (state.has(s)) continue;
    state.set(s, 1);
    path.push(s);
    pending.push(successors(s)[Symbol.iterator]());
    while (pending.length) {
      const next = pending[pending.length - 1].next();
      if (next.done) {
        pending.pop();
        const n = path.pop()!;
        state.set(n, 2);
        out.push(n);
        continue;
      }
      const m = next.value;
      const st = state.get(m);
      if (st === 2) continue;
      if (st === 1) throw new GraphCycle([...path.slice(path.indexOf(m)), m]);
      state.set(m, 1);
      path.push(m);
      pending.push(successors(m)[Symbol.iterator]());
    }
  }
  return out;
}

/**
 * For each node of `order` (in dependency order: each node after its successors), the number of
 * nodes on its longest chain of predecessors, itself included: 1 for a node nothing in `order`
 * depends on. `predecessors` gives the nodes that depend on a node.
 */
export function chainLengths<T>(order: readonly T[], predecessors: (n: T) => Iterable<T>): Map<T, number> {
  const out = new Map<T, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    let longest = 0;
    for (const p of predecessors(order[i])) longest = Math.max(longest, out.get(p) ?? 0);
    out.set(order[i], longest + 1);
  }
  return out;
}

/** Every node reachable from `starts`, themselves included, in the order first reached. */
export function reachable<T>(starts: Iterable<T>, successors: (n: T) => Iterable<T>): Set<T> {
  const seen = new Set<T>();
  const stack: T[] = [];
  for (const s of starts) {
    if (seen.has(s)) continue;
    seen.add(s);
    stack.push(s);
    while (stack.length) {
      for (const m of successors(stack.pop()!)) {
        if (!seen.has(m)) {
          seen.add(m);
          stack.push(m);
        }
      }
    }
  }
  return seen;
}

/** A shortest chain of edges from `from` to `to` (both included), or undefined if there is none. */
export function shortestChain<T>(from: T, to: T, successors: (n: T) => Iterable<T>): T[] | undefined {
  const parent = new Map<T, T | undefined>([[from, undefined]]);
  const queue: T[] = [from];
  for (let head = 0; head < queue.length; head++) {
    const n = queue[head];
    if (n === to) {
      const chain: T[] = [n];
      for (let x = n; x !== from; ) chain.push((x = parent.get(x) as T));
      return chain.reverse();
    }
    for (const m of successors(n)) {
      if (!parent.has(m)) {
        parent.set(m, n);
        queue.push(m);
      }
    }
  }
  return undefined;
}
