/** What evaluation hands to building: derivations by .drv path, and local sources to add. */
import type { Derivation } from './derivation.js';

export interface BuildNode {
  drvPath: string;
  drv: Derivation;
  /** "file:line" of the expression that made it, for error messages. */
  location?: string;
}

export interface SourceToAdd {
  storePath: string;
  /** A local file or tree added by content, or… */
  hostPath: string;
  name: string;
  /** …a text file with these contents. */
  text?: string;
}

export interface BuildGraph {
  nodes: Map<string, BuildNode>;
  sources: Map<string, SourceToAdd>;
  /** The requested derivations and outputs, in the order asked for. */
  roots: Array<{ drvPath: string; outputs: string[]; attr: string }>;
}

/** Nodes in dependency order (inputs first). The graph is acyclic by construction. */
export function topoOrder(graph: BuildGraph, from?: Iterable<string>): BuildNode[] {
  const out: BuildNode[] = [];
  const done = new Set<string>();
  const visit = (p: string) => {
    if (done.has(p)) return;
    done.add(p);
    const n = graph.nodes.get(p);
    if (!n) throw new Error(`derivation ${p} is not in the graph`);
    for (const i of Object.keys(n.drv.inputDrvs).sort()) visit(i);
    out.push(n);
  };
  for (const p of from ?? [...graph.nodes.keys()].sort()) visit(p);
  return out;
}
