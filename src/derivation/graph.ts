/** What evaluation hands to building: derivations by .drv path, and local sources to add. */
import type { Derivation } from './derivation.js';
import { dependencyOrder } from '../graph.js';

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
  const node = (p: string) => {
    const n = graph.nodes.get(p);
    if (!n) throw new Error(`derivation ${p} is not in the graph`);
    return n;
  };
  return dependencyOrder(from ?? [...graph.nodes.keys()].sort(), (p) => Object.keys(node(p).drv.inputDrvs).sort()).map(node);
}
