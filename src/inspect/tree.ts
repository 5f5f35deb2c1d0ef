/** `store tree`: a closure drawn as a tree, each path with its own and its closure size. */
import { formatBytes } from '../gc/format.js';
import { byCost, type Closure } from './closure-sizes.js';

export interface TreeNode {
  path: string;
  narSize: number;
  closureSize: number;
  /** Its references, by cost; absent where the tree stops (depth, or shown earlier). */
  children?: TreeNode[];
  /** Shown in full earlier in the tree. */
  repeated?: true;
  /** References not shown because of --depth. */
  more?: number;
}

/**
 * The tree of `c` from its root, down to `depth` levels below it (Infinity: all). A path is
 * expanded where it first appears (depth first, costliest references first) and only named
 * after that.
 */
export function closureTree(c: Closure, depth = Infinity): TreeNode {
  const expanded = new Set<string>();
  const visit = (p: string, level: number): TreeNode => {
    const n = c.nodes.get(p)!;
    const node: TreeNode = { path: p, narSize: n.narSize, closureSize: n.closureSize };
    if (n.references.length === 0) return node;
    if (expanded.has(p)) return { ...node, repeated: true };
    if (level >= depth) return { ...node, more: n.references.length };
    expanded.add(p);
    node.children = byCost(c, n.references).map((r) => visit(r, level + 1));
    return node;
  };
  return visit(c.root, 0);
}

export function renderTree(t: TreeNode): string {
  const out: string[] = [];
  const line = (n: TreeNode, lead: string) => {
    const note = n.repeated ? ' [shown above]' : n.more ? ` [${n.more} more below]` : '';
    out.push(`${lead}${n.path} (${formatBytes(n.narSize)}; closure ${formatBytes(n.closureSize)})${note}`);
  };
  const walk = (n: TreeNode, prefix: string) => {
    const kids = n.children ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      line(k, prefix + (last ? '└── ' : '├── '));
      walk(k, prefix + (last ? '    ' : '│   '));
    });
  };
  line(t, '');
  walk(t, '');
  return out.join('\n') + '\n';
}
