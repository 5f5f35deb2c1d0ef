/** Turn evaluated derivation values into the plain build graph that `build/` consumes. */
import type { BuildGraph } from '../derivation/graph.js';
import type { Drv } from '../expr/drv.js';
import type { EvalRoot } from './evaluate.js';

export function buildGraph(roots: readonly EvalRoot[]): BuildGraph {
  const graph: BuildGraph = { nodes: new Map(), sources: new Map(), roots: [] };
  const stack: Drv[] = roots.map((r) => r.drv);
  while (stack.length) {
    const d = stack.pop()!;
    if (graph.nodes.has(d.drvPath)) continue;
    graph.nodes.set(d.drvPath, {
      drvPath: d.drvPath,
      drv: d.drv,
      get location() {
        return d.location;
      },
    });
    for (const [p, s] of d.sources) graph.sources.set(p, { storePath: p, hostPath: s.hostPath, name: s.name, text: s.text });
    for (const i of d.inputs.values()) if (!graph.nodes.has(i.drvPath)) stack.push(i);
  }
  for (const r of roots) graph.roots.push({ drvPath: r.drv.drvPath, outputs: requestedOutputs(r.drv), attr: r.attr });
  return graph;
}

/**
 * The outputs a root asks for: a derivation named as itself (its first output) stands for all
 * of its outputs, as with nix-build (result, result-dev…); `drv.dev` names that output alone.
 */
export function requestedOutputs(d: Drv): string[] {
  return d.outputName === d.outputs[0] ? d.outputs : [d.outputName];
}
