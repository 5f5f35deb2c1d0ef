/**
 * Realizing a build graph: add local sources, write .drv files, find the outputs that are
 * missing, and build them in dependency order, N at a time. Output locks make two processes
 * on overlapping graphs build each output once; the loser waits and then finds it valid.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { hashPathSync } from '../archive/hash-sync.js';
import { pathExists, removeTree } from '../archive/canonical.js';
import { unparseDerivation } from '../derivation/derivation.js';
import { derivationReferences } from '../derivation/paths.js';
import { topoOrder, type BuildGraph, type BuildNode } from '../derivation/graph.js';
import type { Store, NewPathInfo } from '../store/store.js';
import { toStorePath } from '../store/path.js';
import { ownedName } from '../store/process.js';
import { networkTimeouts, readStoreConfig } from '../store/config.js';
import { runBuild, type BuilderSettings, type BuildReport } from './builder.js';
import { defaultSandboxPaths, findBwrap, findSandboxInit, parseSandboxPath, withLibraries, writeSandboxEtc, type SandboxPath } from './sandbox.js';
import { Launcher } from './launcher.js';
import { Semaphore, lockPollDelay } from '../limit.js';
import { FETCHURL } from '../derivation/builtins.js';

/** Downloads (builtin:fetchurl) at once, besides the -j builder processes. */
const FETCHES = 6;

export interface RealizeOptions {
  jobs?: number;
  /** Build in the bubblewrap sandbox when bwrap is installed (default true). */
  sandbox?: boolean;
  sandboxPaths?: string[];
  keepFailed?: boolean;
  /** Rebuild every derivation of the graph whose outputs are valid and compare. */
  check?: boolean;
  /**
   * Valid outputs whose contents are damaged (`store verify --repair`): rebuild their
   * derivations beside them and, if the rebuilt narHashes equal the registered ones, put the
   * copies in place (Store.replaceValidPath); otherwise fail as not deterministic and
   * leave them. Needs the sandbox, as --check does.
   */
  repair?: ReadonlySet<string>;
  keepGoing?: boolean;
  /** Milliseconds a builder process may run, and may go without output (Nix's timeout and max-silent-time); 0 or unset: no limit. */
  timeoutMs?: number;
  maxSilentMs?: number;
  onEvent?: (e: RealizeEvent) => void;
  /** Report each line of the builders' output as a 'log' event as it is written (`store realize -L`). */
  buildLogs?: boolean;
  /**
   * Fetch missing outputs (and their closures) from binary caches instead of building them
   * (src/cache/binary/substitute.ts). Returns, for each path it could not fetch, why.
   */
  substitute?: (paths: string[]) => Promise<Map<string, string>>;
  /** With `substitute`: fail instead of building what could not be substituted. */
  noFallback?: boolean;
  /**
   * Signatures for an output this run built, recorded when it is registered (the store's
   * secretKeyFiles, as Nix's secret-key-files signs locally built paths).
   */
  sign?: (info: { path: string; narHash: string; narSize: number; references: readonly string[] }) => string[];
}

export type RealizeEvent =
  | { type: 'plan'; toBuild: number; drvs: number }
  /** Taken up (queued for a build slot or a download; see 'slot'). */
  | { type: 'start'; drvPath: string; name: string }
  /** Holds a build slot (-j), or a download slot, from held true to held false. */
  | { type: 'slot'; drvPath: string; name: string; held: boolean; kind: 'build' | 'fetch' }
  /** Bytes of a download (builtin:fetchurl) so far, and its size when the server gives one. */
  | { type: 'download'; drvPath: string; name: string; bytes: number; total?: number }
  /** A line of a builder's output (with `buildLogs`). */
  | { type: 'log'; drvPath: string; name: string; line: string }
  | { type: 'done'; drvPath: string; name: string; built: boolean }
  | { type: 'failed'; drvPath: string; name: string; error: StoreError }
  | { type: 'waiting'; drvPath: string; name: string; holder: number }
  | {
      type: 'substitute-failed';
      path: string;
      reason: string;
      /** The derivation of the path, and where it was made. */
      name: string;
      location?: string;
      /**
       * An input derivation that could not be substituted either (a changed input changes every
       * path above it); none when all its inputs were found, so this one is the first missing.
       */
      missingInput?: string;
    };

export interface RealizeResult {
  /** Output paths of the requested roots, in the order asked for. */
  roots: Array<{ drvPath: string; attr: string; outputs: Record<string, string> }>;
  built: string[];
  checked: string[];
  /** Outputs replaced by a rebuild (opts.repair). */
  repaired: string[];
  /** Derivations whose missing outputs were all substituted instead of built. */
  substituted?: string[];
}

/** Add the local sources the graph refers to; each must still hash to what evaluation saw. */
async function addSources(store: Store, graph: BuildGraph): Promise<void> {
  const sources = [...graph.sources.values()];
  const valid = store.validPaths(sources.map((s) => s.storePath));
  for (const s of sources) {
    if (valid.has(s.storePath)) continue;
    const p = s.text !== undefined ? await store.addTextToStore(s.name, s.text, []) : await store.addToStore(s.hostPath, s.name);
    if (p !== s.storePath) {
      throw new StoreError('EVAL', `source '${s.hostPath}' changed while it was being evaluated (expected ${s.storePath}, got ${p})`, { hint: 'run again once nothing writes to it' });
    }
  }
}

/**
 * Write and register the .drv files that are not valid yet (`valid` has those that are), in
 * one transaction. Those already valid (perhaps imported) are what this evaluation wrote (a
 * .drv's path follows from its contents), so the store marks them as its own: `verify
 * --repair` builds only from those.
 */
function writeDerivations(store: Store, nodes: readonly BuildNode[], valid: ReadonlySet<string>): void {
  const infos: Array<NewPathInfo & { derivationOutputs: Record<string, string> }> = [];
  const temps: Array<[string, string]> = [];
  const own: string[] = [];
  try {
    for (const n of nodes) {
      if (valid.has(n.drvPath)) {
        own.push(n.drvPath);
        continue;
      }
      const text = unparseDerivation(n.drv);
      const temp = store.tempPath('drv');
      fs.writeFileSync(temp, text, { mode: 0o444 });
      fs.utimesSync(temp, 1, 1);
      temps.push([temp, n.drvPath]);
      const nar = hashPathSync(temp);
      const outs: Record<string, string> = {};
      for (const [o, out] of Object.entries(n.drv.outputs)) outs[o] = out.path;
      infos.push({ path: n.drvPath, narHash: nar.narHash, narSize: nar.narSize, references: derivationReferences(n.drv), ultimate: true, derivationOutputs: outs });
    }
    store.markUltimate(own);
    if (infos.length === 0) return;
    // Same content at the same name: replacing an existing file is harmless, and the rows
    // are written only once every file is in place.
    for (const [temp, final] of temps) fs.renameSync(temp, final);
    store.registerValidPaths(infos);
  } finally {
    for (const [temp] of temps) if (fs.existsSync(temp)) fs.rmSync(temp, { force: true });
  }
}

function settingsFor(store: Store, opts: RealizeOptions, launcher: Launcher): BuilderSettings {
  const bwrap = opts.sandbox === false ? undefined : findBwrap();
  const jobs = opts.jobs ?? os.availableParallelism();
  const buildsDir = store.layout.buildsDir;
  fs.mkdirSync(buildsDir, { recursive: true });
  fs.mkdirSync(store.layout.logDir, { recursive: true });
  let sandbox: BuilderSettings['sandbox'];
  if (bwrap) {
    const etcDir = fs.mkdtempSync(path.join(buildsDir, ownedName('.etc')));
    writeSandboxEtc(etcDir);
    const paths = opts.sandboxPaths?.map(parseSandboxPath);
    const inStore = (p: SandboxPath) => p.source.startsWith(store.storeDir + '/');
    const mapped = resolveStorePaths(store, paths?.filter(inStore) ?? []);
    sandbox = { bwrap, hostPaths: paths ? withLibraries(paths.filter((p) => !inStore(p))) : defaultSandboxPaths(), ...mapped, etcDir, init: findSandboxInit(bwrap) };
  }
  const config = readStoreConfig(store.layout.configFile);
  return {
    storeDir: store.storeDir,
    buildsDir,
    logDir: store.layout.logDir,
    sandbox,
    keepFailed: opts.keepFailed ?? false,
    cores: Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, jobs))),
    launcher,
    slots: new Semaphore(jobs),
    fetchSlots: new Semaphore(FETCHES),
    mirrors: config.mirrors,
    timeouts: networkTimeouts(config, store.layout.configFile),
    limits: opts.timeoutMs || opts.maxSilentMs ? { timeoutMs: opts.timeoutMs || undefined, maxSilentMs: opts.maxSilentMs || undefined } : undefined,
  };
}

/**
 * `sandboxPaths` entries whose source is in the store (`/bin/sh=/…/store/…-busybox/bin/sh`):
 * each source, symlinks resolved, must lie in a valid store path, and the closure of those
 * paths (the store's references, as `store path-info -r` lists them) becomes visible to every
 * build beside its inputs, so that what is mapped can run.
 */
function resolveStorePaths(store: Store, paths: readonly SandboxPath[]): { storePaths: SandboxPath[]; storeClosure: string[] } {
  const storePaths: SandboxPath[] = [];
  const roots = new Set<string>();
  for (const p of paths) {
    let real: string;
    try {
      real = fs.realpathSync(p.source);
    } catch {
      throw new StoreError('USAGE', `sandboxPaths: '${p.source}' (for ${p.inside}) does not exist`, { hint: 'build or add the store path first, or change the store configuration' });
    }
    for (const q of [p.source, real]) {
      const sp = toStorePath(q, store.storeDir);
      if (!q.startsWith(store.storeDir + '/') || !store.isValid(sp)) {
        throw new StoreError('USAGE', `sandboxPaths: '${p.source}' (for ${p.inside}) is not in a valid store path${q === real && q !== p.source ? ` (it leads to ${real})` : ''}`, {
          hint: 'map only paths of valid store paths (store add, or realize the package first)',
        });
      }
      roots.add(sp);
    }
    storePaths.push({ inside: p.inside, source: real });
  }
  return { storePaths, storeClosure: roots.size ? store.queryClosure([...roots]) : [] };
}

export function sandboxAvailable(opts: RealizeOptions = {}): boolean {
  return opts.sandbox !== false && findBwrap() !== undefined;
}

export async function realize(store: Store, graph: BuildGraph, opts: RealizeOptions = {}): Promise<RealizeResult> {
  // GC: temporary roots for every output, .drv and source of the graph, taken before any
  // validity check (src/gc explains the protocol). One transaction.
  store.addTempRoots([...graph.sources.keys(), ...[...graph.nodes.values()].flatMap((n) => [n.drvPath, ...Object.values(n.drv.outputs).map((o) => o.path)])]);
  const emit = opts.onEvent ?? (() => {});
  const order = topoOrder(graph, graph.roots.map((r) => r.drvPath));
  const outputLists = new Map<BuildNode, string[]>();
  const outputsOf = (n: BuildNode) => {
    let l = outputLists.get(n);
    if (!l) outputLists.set(n, (l = Object.values(n.drv.outputs).map((o) => o.path)));
    return l;
  };
  // One query for the outputs and the .drv files of the whole graph.
  const drvPaths = order.map((n) => n.drvPath);
  let valid = store.validPaths([...order.flatMap(outputsOf), ...drvPaths]);
  // The .drv files stay in the store even when every output is valid already (as Nix's
  // instantiation writes them): `store diff` and `verify --repair` read them. Only the
  // missing ones are written, with the sources they name.
  const drvsValid = drvPaths.every((p) => valid.has(p));
  if (!drvsValid) {
    await addSources(store, graph);
    writeDerivations(store, order, valid);
  }

  // What must be built: a requested derivation with a missing output, and (only then) its inputs.
  const plan = () => {
    const toBuild = new Set<string>();
    const stack = graph.roots.map((r) => r.drvPath);
    while (stack.length) {
      const p = stack.pop()!;
      if (toBuild.has(p)) continue;
      const n = graph.nodes.get(p)!;
      if (!opts.check && outputsOf(n).every((o) => valid.has(o) && !opts.repair?.has(o))) continue;
      toBuild.add(p);
      for (const i of Object.keys(n.drv.inputDrvs)) stack.push(i);
    }
    return toBuild;
  };
  let toBuild = plan();
  let substituted: string[] | undefined;
  if (opts.substitute && !opts.check && toBuild.size > 0) {
    const before = toBuild;
    toBuild = await substituteFirst(graph, toBuild, outputsOf, opts, emit, () => (valid = store.validPaths(order.flatMap(outputsOf))), plan);
    substituted = [...before].filter((p) => !toBuild.has(p) && outputsOf(graph.nodes.get(p)!).every((o) => valid.has(o)));
  }
  emit({ type: 'plan', toBuild: [...toBuild].filter((p) => !outputsOf(graph.nodes.get(p)!).every((o) => valid.has(o))).length, drvs: order.length });

  const result: RealizeResult = { roots: [], built: [], checked: [], repaired: [], substituted };
  if (toBuild.size > 0) {
    if (drvsValid) {
      await addSources(store, graph);
      writeDerivations(store, order, valid);
    }
    const launcher = new Launcher();
    const settings = settingsFor(store, opts, launcher);
    try {
      await schedule(store, graph, order.filter((n) => toBuild.has(n.drvPath)), settings, opts, result, emit);
    } finally {
      launcher.close();
      if (settings.sandbox) fs.rmSync(settings.sandbox.etcDir, { recursive: true, force: true });
    }
    valid = store.validPaths(order.flatMap(outputsOf));
  }
  for (const r of graph.roots) {
    const n = graph.nodes.get(r.drvPath)!;
    const outputs: Record<string, string> = {};
    for (const o of r.outputs) {
      const p = n.drv.outputs[o].path;
      if (!valid.has(p)) throw new StoreError('BUILD_FAILED', `output '${o}' of '${r.drvPath}' is not valid after the build`);
      outputs[o] = p;
    }
    result.roots.push({ drvPath: r.drvPath, attr: r.attr, outputs });
  }
  return result;
}

/**
 * Substitution before building: ask the substituters for the missing outputs of the
 * derivations to build, top-down (a derivation's inputs only once every derivation that needs
 * them has been tried), so a hit on a root fetches its runtime closure and nothing it was
 * built from. Returns what still has to be built.
 */
async function substituteFirst(
  graph: BuildGraph,
  initial: Set<string>,
  outputsOf: (n: BuildNode) => string[],
  opts: RealizeOptions,
  emit: NonNullable<RealizeOptions['onEvent']>,
  refreshValid: () => Set<string>,
  plan: () => Set<string>,
): Promise<Set<string>> {
  let toBuild = initial;
  let valid = refreshValid();
  const tried = new Set<string>();
  const failed = new Map<string, string>();
  for (;;) {
    const usedBy = new Map<string, string[]>();
    for (const p of toBuild) for (const i of Object.keys(graph.nodes.get(p)!.drv.inputDrvs)) (usedBy.get(i) ?? usedBy.set(i, []).get(i)!).push(p);
    const frontier = [...toBuild].filter((p) => !tried.has(p) && (usedBy.get(p) ?? []).every((u) => tried.has(u)));
    if (frontier.length === 0) break;
    for (const p of frontier) tried.add(p);
    const want = frontier.flatMap((p) => outputsOf(graph.nodes.get(p)!)).filter((o) => !valid.has(o));
    if (want.length) for (const [p, why] of await opts.substitute!(want)) failed.set(p, why);
    valid = refreshValid();
    toBuild = plan();
  }
  const missing = (p: string) => outputsOf(graph.nodes.get(p)!).some((o) => !valid.has(o));
  const stillMissing: string[] = [];
  const missingInputOf = new Map<string, string | undefined>();
  for (const p of toBuild) {
    const n = graph.nodes.get(p)!;
    const outs = outputsOf(n).filter((o) => !valid.has(o));
    if (outs.length === 0) continue;
    const input = Object.keys(n.drv.inputDrvs).sort().find((i) => toBuild.has(i) && missing(i));
    const missingInput = input === undefined ? undefined : graph.nodes.get(input)!.drv.name;
    for (const o of outs) {
      stillMissing.push(o);
      missingInputOf.set(o, missingInput);
      const reason = failed.get(o);
      if (reason) emit({ type: 'substitute-failed', path: o, reason, name: n.drv.name, location: n.location, missingInput });
    }
  }
  if (opts.noFallback && stillMissing.length) {
    const shown = stillMissing.slice(0, 3).map((o) => {
      const input = missingInputOf.get(o);
      return `  ${o}: ${failed.get(o) ?? 'not tried (an input of a path that could not be substituted)'}${input ? `; its input '${input}' could not be substituted either` : ''}`;
    });
    throw new StoreError('BUILD_FAILED', `${stillMissing.length} output${stillMissing.length > 1 ? 's' : ''} could not be substituted, and --no-fallback forbids building:\n${shown.join('\n')}${stillMissing.length > 3 ? `\n  (and ${stillMissing.length - 3} more)` : ''}`, {
      hint: 'check the substituters and trusted keys, or drop --no-fallback to build from source',
    });
  }
  return toBuild;
}

async function schedule(
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
  const ready: BuildNode[] = nodes.filter((n) => waitingOn.get(n.drvPath) === 0);
  const lockWait = new Map<string, { until: number; tries: number; announced: boolean }>();
  const running = new Map<string, Promise<void>>();
  const failures: StoreError[] = [];
  const failed = new Set<string>();
  const outputsOf = (n: BuildNode) => Object.values(n.drv.outputs).map((o) => o.path);

  const finish = (n: BuildNode) => {
    for (const u of users.get(n.drvPath) ?? []) {
      const left = waitingOn.get(u)! - 1;
      waitingOn.set(u, left);
      if (left === 0 && !failed.has(u)) ready.push(graph.nodes.get(u)!);
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
    const check = opts.check && outs.every((o) => validNow.has(o));
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
    if (check) {
      const expected: Record<string, string> = {};
      for (const o of outs) expected[o] = store.pathInfo(o).narHash;
      await runBuild({ node: n, inputClosure, check: { expected }, report }, settings);
      result.checked.push(n.drvPath);
    } else if (repair.length) {
      const expected: Record<string, string> = {};
      for (const o of outs) if (validNow.has(o)) expected[o] = store.pathInfo(o).narHash;
      const keep = Object.fromEntries(repair.map((o) => [o, store.tempPath('repair')]));
      try {
        await runBuild({ node: n, inputClosure, check: { expected, keep }, report }, settings);
        for (const o of repair) store.replaceValidPath(keep[o], o, expected[o]);
      } finally {
        for (const t of Object.values(keep)) if (pathExists(t)) removeTree(t);
      }
      result.repaired.push(...repair);
    } else {
      const built = await runBuild({ node: n, inputClosure, report }, settings);
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
      const w = lockWait.get(n.drvPath) ?? { until: 0, tries: 0, announced: false };
      w.until = Date.now() + lockPollDelay(w.tries);
      w.tries++;
      if (!w.announced) emit({ type: 'waiting', drvPath: n.drvPath, name: n.drv.name, holder: got.holder });
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
        while (running.size < inFlight && ready.length) {
          const n = ready.shift()!;
          const w = lockWait.get(n.drvPath);
          const kind = kindOf(n);
          if (waitingForSlot[kind].size >= MAY_WAIT[kind] || (w && w.until > Date.now())) deferred.push(n);
          else if (!start(n)) deferred.push(n);
        }
        ready.push(...deferred.splice(0));
      }
      if (running.size === 0 && (stop || ready.length === 0)) break;
      // Polls for locks held by other processes only: a build waiting for a slot here is woken
      // when a slot is taken or a build ends.
      const polled = ready.filter((n) => waitingForSlot[kindOf(n)].size < MAY_WAIT[kindOf(n)]);
      const nextPoll = polled.length ? Math.max(1, Math.min(...polled.map((n) => (lockWait.get(n.drvPath)?.until ?? Date.now()) - Date.now()))) : undefined;
      const timers: Array<Promise<void>> = [...running.values(), new Promise<void>((r) => (wake = r))];
      if (nextPoll !== undefined && running.size < inFlight) timers.push(new Promise((r) => setTimeout(r, nextPoll)));
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
