/**
 * Building the derivations of a plan in dependency order, -j at a time. Output locks make two
 * processes on overlapping graphs build each output once; the loser waits and then finds it
 * valid.
 */
import os from 'node:os';
import { StoreError } from '../errors.js';
import { pathExists, removeTree } from '../archive/canonical.js';
import { type BuildGraph, type BuildNode } from '../derivation/graph.js';
import type { Store } from '../store/store.js';
import { runBuild, type BuilderSettings, type BuildReport } from './builder.js';
import { lockPollDelay } from '../limit.js';
import { FETCHURL } from '../derivation/builtins.js';
import { chainLengths } from '../graph.js';
import { FETCHES, type RealizeOptions, type RealizeResult } from './realize-options.js';

/** The derivations that `check` rebuilds and compares when their outputs are valid. */
export function checkedDerivations(graph: BuildGraph, check: RealizeOptions['check']): ReadonlySet<string> {
  if (check === 'closure') return new Set(graph.nodes.keys());
  if (check === 'roots') return new Set(graph.roots.map((r) => r.drvPath));
  return new Set();
}

export async function schedule(
  store: Store,
  graph: BuildGraph,
  nodes: BuildNode[],
  settings: BuilderSettings,
  opts: RealizeOptions,
  result: RealizeResult,
  emit: NonNullable<RealizeOptions['onEvent']>,
): Promise<void> {
  // Builds in flight: more than -j, so that one build's setup and registration overlap
  // others' builder processes (which settings.slots bounds to -j). A build takes its output
  // locks when it starts, so few may wait for a slot holding them: the rest stay unlocked, free
  // for another process on the same store to build meanwhile.
  const jobs = Math.max(1, opts.jobs ?? os.availableParallelism());
  const inFlight = jobs * 2 + 2 + FETCHES;
  const kindOf = (n: BuildNode): 'build' | 'fetch' => (n.drv.builder === FETCHURL.builder ? 'fetch' : 'build');
  const MAY_WAIT = { build: jobs, fetch: 2 };
  /** Started builds that have not held a slot yet, by kind. */
  const waitingForSlot = { build: new Set<string>(), fetch: new Set<string>() };
  let wake: () => void = () => {};
  const locks = store.pathLocks();
  const inSet = new Set(nodes.map((n) => n.drvPath));
  const waitingOn = new Map<string, number>();
  const users = new Map<string, string[]>();
  for (const n of nodes) {
    const deps = Object.keys(n.drv.inputDrvs).filter((d) => inSet.has(d));
    waitingOn.set(n.drvPath, deps.length);
    for (const d of deps) (users.get(d) ?? users.set(d, []).get(d)!).push(n.drvPath);
  }
  const rank = new Ranking(nodes, users);
  // One queue per kind of slot: when one kind's slots are taken, the rest of its queue waits
  // without being looked at (each build that ends wakes this loop; looking at every ready build
  // each time made a large plan quadratic).
  const ready = { build: new ReadyQueue(rank), fetch: new ReadyQueue(rank) };
  const push = (n: BuildNode) => ready[kindOf(n)].push(n);
  const readyCount = () => ready.build.length + ready.fetch.length;
  for (const n of nodes) if (waitingOn.get(n.drvPath) === 0) push(n);
  const lockWait = new Map<string, { until: number; tries: number; announced: boolean; kind: 'build' | 'fetch' }>();
  const running = new Map<string, Promise<void>>();
  const failures: StoreError[] = [];
  const failed = new Set<string>();
  const outputsOf = (n: BuildNode) => Object.values(n.drv.outputs).map((o) => o.path);
  const checked = checkedDerivations(graph, opts.check);

  const finish = (n: BuildNode) => {
    for (const u of users.get(n.drvPath) ?? []) {
      const left = waitingOn.get(u)! - 1;
      waitingOn.set(u, left);
      if (left === 0 && !failed.has(u)) push(graph.nodes.get(u)!);
    }
  };
  const fail = (n: BuildNode, e: StoreError) => {
    failures.push(e);
    const q = [n.drvPath];
    while (q.length) {
      const p = q.pop()!;
      if (failed.has(p)) continue;
      failed.add(p);
      q.push(...(users.get(p) ?? []));
    }
    emit({ type: 'failed', drvPath: n.drvPath, name: n.drv.name, error: e });
  };

  const buildOne = async (n: BuildNode): Promise<void> => {
    const outs = outputsOf(n);
    const validNow = store.validPaths(outs);
    const check = checked.has(n.drvPath) && outs.every((o) => validNow.has(o));
    const repair = outs.filter((o) => opts.repair?.has(o) && validNow.has(o));
    if (!check && repair.length === 0 && outs.every((o) => validNow.has(o))) {
      // Built by another process meanwhile.
      emit({ type: 'done', drvPath: n.drvPath, name: n.drv.name, built: false });
      return;
    }
    emit({ type: 'start', drvPath: n.drvPath, name: n.drv.name });
    const { drvPath } = n;
    const { name } = n.drv;
    const report: BuildReport = {
      slot: (held, kind) => {
        if (held && waitingForSlot[kindOf(n)].delete(drvPath)) wake();
        emit({ type: 'slot', drvPath, name, held, kind });
      },
      download: (bytes, total) => emit({ type: 'download', drvPath, name, bytes, ...(total === undefined ? {} : { total }) }),
      ...(opts.buildLogs ? { log: (line: string) => emit({ type: 'log', drvPath, name, line }) } : {}),
    };
    const inputs = [...n.drv.inputSrcs];
    for (const [d, os_] of Object.entries(n.drv.inputDrvs)) for (const o of os_) inputs.push(graph.nodes.get(d)!.drv.outputs[o].path);
    const inputClosure = store.queryClosure(inputs);
    const priority = rank.priorityOf(n);
    if (check) {
      const expected: Record<string, string> = {};
      for (const o of outs) expected[o] = store.pathInfo(o).narHash;
      await runBuild({ node: n, inputClosure, check: { expected }, report, priority }, settings);
      result.checked.push(n.drvPath);
    } else if (repair.length) {
      const expected: Record<string, string> = {};
      for (const o of outs) if (validNow.has(o)) expected[o] = store.pathInfo(o).narHash;
      const keep = Object.fromEntries(repair.map((o) => [o, store.tempPath('repair')]));
      try {
        await runBuild({ node: n, inputClosure, check: { expected, keep }, report, priority }, settings);
        for (const o of repair) store.replaceValidPath(keep[o], o, expected[o]);
      } finally {
        for (const t of Object.values(keep)) if (pathExists(t)) removeTree(t);
      }
      result.repaired.push(...repair);
    } else {
      const built = await runBuild({ node: n, inputClosure, report, priority }, settings);
      try {
        store.registerValidPaths(built.map(({ location: _l, ...info }) => (opts.sign ? { ...info, sigs: opts.sign(info) } : info)));
      } catch (e) {
        // Not registered (a full disk refuses the rows): the outputs are not valid, so they
        // must not stay at their final names, taking the space.
        try {
          store.removeUnregistered(built.map((b) => b.location));
        } catch {
          /* the registration error is the one to report */
        }
        throw e;
      }
      result.built.push(n.drvPath);
    }
    emit({ type: 'done', drvPath: n.drvPath, name: n.drv.name, built: true });
  };

  const start = (n: BuildNode): boolean => {
    const outs = outputsOf(n);
    const got = locks.tryLock(outs);
    if (!got.ok) {
      const w = lockWait.get(n.drvPath) ?? { until: 0, tries: 0, announced: false, kind: kindOf(n) };
      w.until = Date.now() + lockPollDelay(w.tries);
      w.tries++;
      // A lock of this process is another derivation of this realize with the same output
      // (one .deb named by two pinned sets): it is being made here, nothing to tell.
      if (!w.announced && got.holder !== process.pid) emit({ type: 'waiting', drvPath: n.drvPath, name: n.drv.name, holder: got.holder });
      w.announced = true;
      lockWait.set(n.drvPath, w);
      return false;
    }
    lockWait.delete(n.drvPath);
    waitingForSlot[kindOf(n)].add(n.drvPath);
    const p = buildOne(n)
      .then(
        () => finish(n),
        (e) => fail(n, e instanceof StoreError ? e : new StoreError('BUILD_FAILED', `building '${n.drvPath}': ${(e as Error).message}`, { cause: e })),
      )
      .finally(() => {
        if (waitingForSlot[kindOf(n)].delete(n.drvPath)) wake();
        locks.unlock(outs);
        running.delete(n.drvPath);
      });
    running.set(n.drvPath, p);
    return true;
  };

  try {
    const deferred: BuildNode[] = [];
    for (;;) {
      const stop = failures.length > 0 && !opts.keepGoing;
      if (!stop) {
        // Highest priority first across both queues; a kind whose slots are all waited for is
        // done for this round once its best build does not outrank the waiting ones (the rest
        // of its queue ranks no higher).
        const blocked = { build: false, fetch: false };
        while (running.size < inFlight) {
          const b = blocked.build ? undefined : ready.build.peek();
          const f = blocked.fetch ? undefined : ready.fetch.peek();
          if (!b && !f) break;
          const kind = b && (!f || rank.before(b, f)) ? 'build' : 'fetch';
          const n = ready[kind].pop()!;
          const w = lockWait.get(n.drvPath);
          if (waitingForSlot[kind].size >= MAY_WAIT[kind] && !rank.outranks(n, waitingForSlot[kind])) {
            blocked[kind] = true;
            deferred.push(n);
          } else if ((w && w.until > Date.now()) || !start(n)) {
            deferred.push(n);
          }
        }
        for (const n of deferred.splice(0)) push(n);
      }
      if (running.size === 0 && (stop || readyCount() === 0)) break;
      // Polls for locks held by other processes only: a build waiting for a slot here is woken
      // when a slot is taken or a build ends.
      let nextPoll: number | undefined;
      if (!stop && running.size < inFlight) {
        const now = Date.now();
        for (const w of lockWait.values()) if (waitingForSlot[w.kind].size < MAY_WAIT[w.kind]) nextPoll = Math.min(nextPoll ?? Infinity, Math.max(1, w.until - now));
      }
      const timers: Array<Promise<void>> = [...running.values(), new Promise<void>((r) => (wake = r))];
      if (nextPoll !== undefined) timers.push(new Promise((r) => setTimeout(r, nextPoll)));
      if (timers.length === 0) break;
      await Promise.race(timers);
    }
  } finally {
    await Promise.allSettled([...running.values()]);
    locks.releaseAll();
  }
  if (failures.length) {
    const first = failures[0];
    if (failures.length === 1) throw first;
    const codes = new Set(failures.map((f) => f.exitCode));
    const exitCode = codes.size === 1 ? first.exitCode : 1;
    throw new StoreError(first.code, `${first.message}\n(and ${failures.length - 1} more build${failures.length > 2 ? 's' : ''} failed)`, { hint: first.hint, exitCode });
  }
}

/**
 * The builds whose inputs are all there, taken longest remaining chain first: a build that many
 * others wait on, through many steps (the C library under every Debian package, a compiler under
 * every source build), starts before a leaf, so that -j slots do not idle at the end waiting for
 * one long chain. Ties go in dependency order, so the order is deterministic.
 */
class Ranking {
  /** Per derivation: the number of builds on its longest chain to a root of the plan (itself included). */
  private readonly height: Map<string, number>;
  /** Per derivation: its place in dependency order. */
  private readonly index = new Map<string, number>();

  constructor(nodes: readonly BuildNode[], users: ReadonlyMap<string, readonly string[]>) {
    this.height = chainLengths(nodes.map((n) => n.drvPath), (p) => users.get(p) ?? []);
    nodes.forEach((n, i) => this.index.set(n.drvPath, i));
  }

  /** How soon `n` should build: the length of its longest chain to a root of the plan. */
  priorityOf(n: BuildNode): number {
    return this.height.get(n.drvPath) ?? 0;
  }

  /** Whether `n` is on a longer chain than every build of `drvPaths`. */
  outranks(n: BuildNode, drvPaths: Iterable<string>): boolean {
    const mine = this.priorityOf(n);
    for (const p of drvPaths) if ((this.height.get(p) ?? 0) >= mine) return false;
    return true;
  }

  /** Whether a goes before b. */
  before(a: BuildNode, b: BuildNode): boolean {
    const ha = this.priorityOf(a);
    const hb = this.priorityOf(b);
    return ha !== hb ? ha > hb : this.index.get(a.drvPath)! < this.index.get(b.drvPath)!;
  }
}

/** Ready builds in a binary heap, the first by `Ranking.before` on top. */
class ReadyQueue {
  private readonly heap: BuildNode[] = [];

  constructor(private readonly rank: Ranking) {}

  get length(): number {
    return this.heap.length;
  }

  peek(): BuildNode | undefined {
    return this.heap[0];
  }

  push(n: BuildNode): void {
    const h = this.heap;
    h.push(n);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.rank.before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  pop(): BuildNode | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.rank.before(h[l], h[m])) m = l;
      if (r < h.length && this.rank.before(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
    return top;
  }
}
