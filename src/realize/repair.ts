/**
 * Repair by rebuilding (`store verify --repair` when no binary cache has a good copy): the
 * derivations that made the damaged paths are read back from their .drv files in the store,
 * rebuilt beside the valid outputs (building missing inputs first), and a rebuilt output
 * replaces the damaged one only if its narHash equals the registered one.
 *
 * Rebuilding runs the .drv's builder, so only a .drv this store trusts is used: one it wrote
 * itself (registered `ultimate`), or one signed by a trusted key. A .drv is content-addressed,
 * so one imported from a bundle or a cache is intact — but anyone could have written it, and a
 * path's recorded Deriver is only a claim of whoever made the bundle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { parseDerivation } from '../derivation/derivation.js';
import { derivationPath } from '../derivation/paths.js';
import type { BuildGraph, BuildNode } from '../derivation/graph.js';
import type { Store, PathInfo } from '../store/store.js';
import { realize, type RealizeOptions } from './realize.js';

/** Whether a .drv (its row) may be built from: see the top of this file. */
export type DerivationTrust = (info: PathInfo) => boolean;

/**
 * The derivation at `drvPath` and everything it is built from, read from the store. Each
 * .drv file must be valid, trusted (`ultimate`, or `signed` says so), and be exactly what its
 * path says (the path of a .drv follows from its contents), so a damaged or foreign one is
 * refused rather than built.
 */
export function graphFromStore(store: Store, drvPath: string, graph: BuildGraph = { nodes: new Map(), sources: new Map(), roots: [] }, signed?: DerivationTrust): BuildGraph {
  const stack = [drvPath];
  const found = new Map<string, BuildNode>();
  while (stack.length) {
    const p = stack.pop()!;
    if (found.has(p) || graph.nodes.has(p)) continue;
    const info = store.queryPathInfo(p);
    if (!info) throw new StoreError('NOT_VALID', `derivation '${p}' is not valid in the store`, { hint: 'it was garbage-collected; realize the expression file again' });
    if (!info.ultimate && !signed?.(info)) {
      throw new StoreError('UNTRUSTED', `derivation '${p}' was not made by this store and carries no signature by a trusted key, so its builder is not run`, {
        hint: `if you trust whoever wrote it, sign it with a key listed in "trustedPublicKeys" ('store sign ${p}'); a realize that builds from it also makes it this store's own`,
      });
    }
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch (e) {
      throw new StoreError('IO', `cannot read derivation '${p}': ${(e as Error).message}`);
    }
    const drv = parseDerivation(text, path.basename(p).slice(33));
    if (derivationPath(drv, store.storeDir) !== p) throw new StoreError('HASH_MISMATCH', `derivation '${p}' was modified: its contents do not match its path`);
    found.set(p, { drvPath: p, drv });
    stack.push(...Object.keys(drv.inputDrvs));
  }
  for (const [p, n] of found) graph.nodes.set(p, n);
  return graph;
}

export interface RebuildRepairResult {
  repaired: string[];
  /** Damaged path → why it was not repaired. */
  failed: Map<string, string>;
}

/** How a repair realizes its graph: realize() with these options added to the caller's own. */
export type RepairRealize = (graph: BuildGraph, opts: Pick<RealizeOptions, 'repair' | 'keepGoing' | 'onEvent'>) => Promise<unknown>;

/**
 * Rebuild the derivations of damaged valid paths and put verified copies in their place.
 * `build` realizes the graph (the command line's realize, with its flags); by default realize()
 * with `opts`.
 */
export async function repairByRebuilding(
  store: Store,
  damaged: readonly string[],
  opts: Pick<RealizeOptions, 'jobs' | 'sandbox' | 'sandboxPaths'> & { signed?: DerivationTrust; build?: RepairRealize } = {},
): Promise<RebuildRepairResult> {
  const { signed, build, ...realizeOpts } = opts;
  const run: RepairRealize = build ?? ((graph, o) => realize(store, graph, { ...realizeOpts, ...o }));
  const failed = new Map<string, string>();
  const graph: BuildGraph = { nodes: new Map(), sources: new Map(), roots: [] };
  const byDrv = new Map<string, string[]>();
  for (const p of damaged) {
    const info = store.queryPathInfo(p);
    if (!info) continue; // collected meanwhile: nothing to repair
    if (!info.deriver) {
      failed.set(p, 'it records no derivation to rebuild it from (added by content or imported without one)');
      continue;
    }
    (byDrv.get(info.deriver) ?? byDrv.set(info.deriver, []).get(info.deriver)!).push(p);
  }
  for (const [drvPath, paths] of byDrv) {
    try {
      graphFromStore(store, drvPath, graph, signed);
      const outs = graph.nodes.get(drvPath)!.drv.outputs;
      const names = Object.keys(outs).filter((o) => paths.includes(outs[o].path));
      for (const p of paths) if (!names.some((o) => outs[o].path === p)) failed.set(p, `its deriver '${drvPath}' has no output at this path`);
      if (names.length) graph.roots.push({ drvPath, outputs: names, attr: '' });
    } catch (e) {
      for (const p of paths) failed.set(p, `cannot rebuild from '${drvPath}': ${(e as Error).message}`);
    }
  }
  const wanted = new Set(graph.roots.flatMap((r) => r.outputs.map((o) => graph.nodes.get(r.drvPath)!.drv.outputs[o].path)));
  if (wanted.size === 0) return { repaired: [], failed };
  // With keepGoing, realize builds all it can and then throws; the events say what happened
  // to each derivation (a rebuilt one has replaced its damaged outputs when it is done).
  const errors = new Map<string, string>();
  const done = new Set<string>();
  try {
    await run(graph, {
      repair: wanted,
      keepGoing: true,
      onEvent: (e) => {
        if (e.type === 'failed') errors.set(e.drvPath, e.error.message);
        if (e.type === 'done') done.add(e.drvPath);
      },
    });
  } catch (e) {
    if (errors.size === 0) throw e;
  }
  const repaired: string[] = [];
  for (const r of graph.roots) {
    const outs = r.outputs.map((o) => graph.nodes.get(r.drvPath)!.drv.outputs[o].path);
    if (done.has(r.drvPath) && !errors.has(r.drvPath)) {
      repaired.push(...outs);
      continue;
    }
    const why = errors.get(r.drvPath);
    for (const p of outs) {
      failed.set(p, why ? `rebuilding '${r.drvPath}' failed, so it was left as it is:\n${why}` : `not rebuilt: a derivation it is built from failed (${[...errors.keys()].join(', ')})`);
    }
  }
  return { repaired, failed };
}
