/**
 * What realizing a graph would do, found without doing any of it (`store realize --dry-run`):
 * which derivations would be built and which paths fetched from binary caches, with their
 * download and unpacked sizes where a narinfo gives them. It writes nothing — no .drv file,
 * no source, no temporary root, no lock — and only reads the database and the caches.
 */
import { topoOrder, type BuildGraph, type BuildNode } from '../derivation/graph.js';
import type { Store } from '../store/store.js';
import type { SubstituteOptions } from '../cache/binary/substitute.js';

export interface PlannedFetch {
  path: string;
  /** The binary cache that has it. */
  cache: string;
  /** Bytes to download (the narinfo's FileSize) and unpacked (NarSize). */
  fileSize: number;
  narSize: number;
}

export interface RealizePlan {
  /** Derivations to build, inputs first. */
  build: Array<{ drvPath: string; name: string; outputs: string[] }>;
  /** Paths to fetch instead: missing outputs and what of their closure is missing. */
  fetch: PlannedFetch[];
  downloadSize: number;
  narSize: number;
  /** Outputs asked for that are valid already. */
  valid: string[];
}

export async function planRealize(store: Store, graph: BuildGraph, substitute?: Omit<SubstituteOptions, 'repair'>): Promise<RealizePlan> {
  const order = topoOrder(graph, graph.roots.map((r) => r.drvPath));
  const outputsOf = (n: BuildNode) => Object.values(n.drv.outputs).map((o) => o.path);
  const valid = store.validPaths(order.flatMap(outputsOf));
  // Derivations that would be looked at: one asked for with a missing output, and its inputs.
  const reach = (done: (n: BuildNode) => boolean): Set<string> => {
    const out = new Set<string>();
    const stack = graph.roots.map((r) => r.drvPath);
    while (stack.length) {
      const p = stack.pop()!;
      if (out.has(p)) continue;
      const n = graph.nodes.get(p)!;
      if (done(n)) continue;
      out.add(p);
      for (const i of Object.keys(n.drv.inputDrvs)) stack.push(i);
    }
    return out;
  };
  const missingOutputs = (n: BuildNode) => outputsOf(n).filter((o) => !valid.has(o));
  let needed = reach((n) => missingOutputs(n).length === 0);
  const fetch = new Map<string, PlannedFetch>();
  if (substitute && needed.size) {
    const { querySubstitutable } = await import('../cache/binary/substitute.js');
    const wanted = [...needed].flatMap((p) => missingOutputs(graph.nodes.get(p)!));
    const q = await querySubstitutable(store, wanted, { ...substitute, tempRoots: false }, (p) => valid.has(p) || store.isValid(p));
    // As realize does: a derivation whose missing outputs can all be fetched is not built, and
    // its inputs are needed only by the derivations that are.
    needed = reach((n) => missingOutputs(n).every((o) => q.able(o)));
    const add = (p: string) => {
      if (fetch.has(p) || valid.has(p) || store.isValid(p)) return;
      const f = q.found.get(p)!;
      fetch.set(p, { path: p, cache: f.cache.url, fileSize: f.info.fileSize, narSize: f.info.narSize });
      for (const r of f.info.references) if (r !== p) add(r);
    };
    const fetched = (n: BuildNode) => missingOutputs(n).every((o) => q.able(o));
    // Fetched: the missing outputs of derivations reached but not built, and their closure.
    const looked = reach(() => false);
    for (const p of looked) {
      const n = graph.nodes.get(p)!;
      if (needed.has(p) || missingOutputs(n).length === 0 || !fetched(n)) continue;
      if (!isNeededBy(graph, p, needed) && !graph.roots.some((r) => r.drvPath === p)) continue;
      for (const o of missingOutputs(n)) add(o);
    }
  }
  const build = order.filter((n) => needed.has(n.drvPath)).map((n) => ({ drvPath: n.drvPath, name: n.drv.name, outputs: missingOutputs(n) }));
  const list = [...fetch.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  const asked = graph.roots.flatMap((r) => r.outputs.map((o) => graph.nodes.get(r.drvPath)!.drv.outputs[o].path));
  return {
    build,
    fetch: list,
    downloadSize: list.reduce((s, f) => s + f.fileSize, 0),
    narSize: list.reduce((s, f) => s + f.narSize, 0),
    valid: asked.filter((p) => valid.has(p)),
  };
}

/** Whether a derivation that is built has `drvPath` as an input. */
function isNeededBy(graph: BuildGraph, drvPath: string, built: ReadonlySet<string>): boolean {
  for (const p of built) if (drvPath in graph.nodes.get(p)!.drv.inputDrvs) return true;
  return false;
}
