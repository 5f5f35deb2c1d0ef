/**
 * CMSSW dependency graphs (from cms-sw/cmsdist: `Requires:` and `BuildRequires:`) turned into
 * derivations with synthetic payloads: the real dependency edges, deterministic contents.
 * Each package's output is one file: its name, version and kind, the store paths of its
 * runtime dependencies (so those become its references), and a payload whose size is typical
 * of its kind (sizes.ts) times a scale, written by the stdenv's shell alone from a 64-byte seed derived
 * from its name and version (so builds need nothing from the host and run in the sandbox).
 * Build-only dependencies are read while building and not referred to (so GC may drop them).
 *
 * Graph format (exprs/cmssw/graphs/*.json): package name → { v: version | null,
 * kind: 'spec' | 'pip' | 'missing', req: [runtime deps], breq: [build-only deps] }.
 * A 'missing' package has no recipe of its own: a leaf.
 *
 * Real graphs have a bootstrap cycle, py3-flit-core ⇄ py3-wheel (flit-core build-requires
 * wheel, wheel requires flit-core). It is broken explicitly (flit-core is bootstrapped without
 * wheel); any other cycle is an error that names its members.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { derivation, stdenv, type Drv } from 'hepstore';
import { payloadBytes } from './sizes.ts';

export interface GraphNode {
  v: string | null;
  kind: 'spec' | 'pip' | 'missing';
  req: string[];
  breq: string[];
}

export type Graph = Record<string, GraphNode>;

/** [package, dependency] edges removed to break known bootstrap cycles. */
export const CYCLE_BREAKS: ReadonlyArray<readonly [string, string]> = [['py3-flit-core', 'py3-wheel']];

/**
 * The roots of a release: its tool configuration, `cmssw-tool-conf` (the package is called
 * `cmssw-tools` from 14_1 on), and `python_tools`. Root → the package names that provide it.
 */
export const RELEASE_ROOTS: Readonly<Record<string, readonly string[]>> = {
  'cmssw-tool-conf': ['cmssw-tool-conf', 'cmssw-tools'],
  python_tools: ['python_tools'],
};

/** Each release root and the package of `graph` that provides it; an error if one is missing. */
export function releaseRoots(graph: Graph): Array<[root: string, pkg: string]> {
  return Object.entries(RELEASE_ROOTS).map(([root, names]) => {
    const pkg = names.find((n) => n in graph);
    if (!pkg) throw new Error(`CMSSW graph has no package for the release root '${root}' (looked for ${names.join(', ')})`);
    return [root, pkg];
  });
}

export const GRAPH_DIR = path.join(import.meta.dirname, 'graphs');

/** The graph of a release cycle, e.g. '14_2' → graphs/graph-IB_CMSSW_14_2_X_master.json. */
export function readGraph(cycle: string, dir = GRAPH_DIR): Graph {
  return JSON.parse(fs.readFileSync(path.join(dir, `graph-IB_CMSSW_${cycle}_X_master.json`), 'utf8')) as Graph;
}

/** A version as a store name allows: unexpanded spec macros like %{x_version} become x_version. */
export function storeVersion(v: string | null): string | undefined {
  if (v === null || v === '') return undefined;
  return v.replace(/%\{([^}]*)\}/g, '$1').replace(/[^A-Za-z0-9+._?=-]/g, '_');
}

export interface PackageOptions {
  /**
   * Payload size as a fraction of a package's typical installed size (sizes.ts); 0 gives
   * every package the smallest payload, one 64-byte line. Default DEFAULT_SCALE.
   */
  scale?: number;
  /** Edges to drop (default CYCLE_BREAKS). */
  breaks?: ReadonlyArray<readonly [string, string]>;
  /**
   * Packages built otherwise (from source: externals.ts), by name, in place of the synthetic
   * ones: a package for which this gives a derivation is that derivation (with its own
   * dependencies), and the synthetic packages that depend on it refer to it.
   */
  replace?: (name: string) => Drv | undefined;
}

/** Runtime and build-only dependencies after breaking cycles; a dependency in both counts as runtime. */
export function dependencies(graph: Graph, name: string, breaks: ReadonlyArray<readonly [string, string]> = CYCLE_BREAKS): { req: string[]; breq: string[] } {
  const node = graph[name];
  const dropped = new Set(breaks.filter(([p]) => p === name).map(([, d]) => d));
  const req = [...new Set(node.req)].filter((d) => !dropped.has(d) && d !== name);
  const breq = [...new Set(node.breq)].filter((d) => !dropped.has(d) && d !== name && !req.includes(d));
  for (const d of [...req, ...breq]) if (!(d in graph)) throw new Error(`CMSSW graph: '${name}' depends on '${d}', which the graph does not define`);
  return { req: req.sort(), breq: breq.sort() };
}

/** Cycles left after breaking the known ones: each a list of members (strongly connected components). */
export function findCycles(graph: Graph, breaks: ReadonlyArray<readonly [string, string]> = CYCLE_BREAKS): string[][] {
  const names = Object.keys(graph).sort();
  const deps = new Map(names.map((n) => {
    const d = dependencies(graph, n, breaks);
    return [n, [...d.req, ...d.breq]];
  }));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;
  for (const start of names) {
    if (index.has(start)) continue;
    const work: Array<[string, number]> = [[start, 0]];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1];
      const [v, i] = top;
      const ds = deps.get(v)!;
      if (i < ds.length) {
        top[1]++;
        const w = ds[i];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== v);
        if (scc.length > 1) cycles.push(scc.sort());
      }
    }
  }
  return cycles;
}

/** Default payload scale: a release of some tens of MiB. */
export const DEFAULT_SCALE = 0.001;

/** Payloads are written in lines of this many bytes. */
export const UNIT = 64;

/**
 * The payload's line, from the package's name and version: two runs of 31 hex digits, so no
 * run of 32 characters of the store-path alphabet appears (nothing in a payload can be taken
 * for a reference, and scanning it stays cheap).
 */
export function payloadUnit(name: string, version: string | undefined): string {
  const hex = createHash('sha256').update(`${name}@${version ?? ''}`).digest('hex');
  return `${hex.slice(0, 31)}-${hex.slice(31, 62)}\n`;
}

/**
 * The builder of every package: read each build-only input (a synthetic one is a file; a
 * package built from source, a directory, is only checked to be there), then write one file with the
 * name line, the runtime dependencies and `units` copies of `unit` (in blocks of 1,024, so a
 * GiB is some 16,000 printf calls). Only the stdenv's shell and its built-ins.
 */
export const BUILDER_SCRIPT = [
  'for d in $buildOnly; do [ -d "$d" ] || read -r x < "$d"; done',
  '{',
  '  printf \'%s\\n\' "$pname $version $kind" $runtime',
  '  u=$unit; b=$unit; i=0',
  '  while [ $i -lt 10 ]; do b=$b$b; i=$((i + 1)); done',
  '  n=$((units / 1024)); while [ $n -gt 0 ]; do printf \'%s\' "$b"; n=$((n - 1)); done',
  '  n=$((units % 1024)); while [ $n -gt 0 ]; do printf \'%s\' "$u"; n=$((n - 1)); done',
  '} > "$out"',
].join('\n');

/** Every package of a graph as a derivation (lazily: only what is asked for is made). */
export function packages(graph: Graph, opts: PackageOptions = {}): (name: string) => Drv {
  const breaks = opts.breaks ?? CYCLE_BREAKS;
  const cycles = findCycles(graph, breaks);
  if (cycles.length) {
    throw new Error(`CMSSW graph has dependency cycles: ${cycles.map((c) => c.join(' <-> ')).join('; ')} (break them explicitly, as CYCLE_BREAKS does for py3-flit-core/py3-wheel)`);
  }
  const scale = opts.scale ?? DEFAULT_SCALE;
  if (typeof scale !== 'number' || !(scale >= 0) || !Number.isFinite(scale)) throw new Error(`the CMSSW payload scale must be a number >= 0, not ${JSON.stringify(scale)}`);
  const made = new Map<string, Drv>();
  const get = (root: string): Drv => {
    // Iterative post-order, so deep graphs never overflow the stack.
    const work: Array<[string, boolean]> = [[root, false]];
    while (work.length) {
      const [name, expanded] = work.pop()!;
      if (made.has(name)) continue;
      const real = opts.replace?.(name);
      if (real) {
        made.set(name, real);
        continue;
      }
      const { req, breq } = dependencies(graph, name, breaks);
      if (!expanded) {
        work.push([name, true]);
        for (const d of [...req, ...breq]) if (!made.has(d)) work.push([d, false]);
        continue;
      }
      const { kind } = graph[name];
      const version = storeVersion(graph[name].v);
      const bytes = payloadBytes(name, version, kind, scale);
      const drv = derivation({
        name: version ? `${name}-${version}` : name,
        builder: stdenv.shell,
        args: ['-c', BUILDER_SCRIPT],
        env: {
          pname: name,
          version: version ?? '',
          kind,
          runtime: req.map((d) => `${made.get(d)}`).join(' '),
          buildOnly: breq.map((d) => `${made.get(d)}`).join(' '),
          unit: payloadUnit(name, version),
          units: String(Math.max(1, Math.ceil(bytes / UNIT))),
        },
      });
      Object.assign(drv.meta, { pname: name, version: graph[name].v, kind, payloadBytes: bytes });
      made.set(name, drv);
    }
    return made.get(root)!;
  };
  return get;
}

/**
 * A release: its roots by name ('cmssw-tool-conf' and 'python_tools', see RELEASE_ROOTS),
 * whose runtime closures are the release.
 */
export function release(graph: Graph, opts: PackageOptions = {}): Record<string, Drv> {
  const pkg = packages(graph, opts);
  return Object.fromEntries(releaseRoots(graph).map(([root, name]) => [root, pkg(name)]));
}

/** Names (name-version, as in store paths) in the runtime closure of a release's roots: what must stay while it is a root. */
export function runtimeClosureNames(graph: Graph, breaks: ReadonlyArray<readonly [string, string]> = CYCLE_BREAKS): Set<string> {
  const seen = new Set<string>();
  const stack = releaseRoots(graph).map(([, name]) => name);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...dependencies(graph, n, breaks).req);
  }
  return new Set([...seen].map((n) => {
    const v = storeVersion(graph[n].v);
    return v ? `${n}-${v}` : n;
  }));
}
