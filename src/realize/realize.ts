/**
 * Realizing a build graph: add local sources, write .drv files, find the outputs that are
 * missing, and build them in dependency order, N at a time. Output locks make two processes
 * on overlapping graphs build each output once; the loser waits and then finds it valid.
 */
import fs from 'node:fs';
import { StoreError } from '../errors.js';
import { topoOrder, type BuildGraph, type BuildNode } from '../derivation/graph.js';
import type { Store } from '../store/store.js';
import { Launcher } from './launcher.js';
import { addSources, writeDerivations } from './store-derivations.js';
import { settingsFor } from './settings.js';
import { substituteFirst } from './substitute-first.js';
import { checkedDerivations, schedule } from './schedule.js';
import type { RealizeOptions, RealizeResult } from './realize-options.js';

export type { RealizeOptions, RealizeEvent, RealizeResult } from './realize-options.js';
export { sandboxAvailable } from './settings.js';

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
  const checked = checkedDerivations(graph, opts.check);
  const plan = () => {
    const toBuild = new Set<string>();
    const stack = graph.roots.map((r) => r.drvPath);
    while (stack.length) {
      const p = stack.pop()!;
      if (toBuild.has(p)) continue;
      const n = graph.nodes.get(p)!;
      if (!checked.has(p) && outputsOf(n).every((o) => valid.has(o) && !opts.repair?.has(o))) continue;
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
