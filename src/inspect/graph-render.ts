/**
 * `store graph`: a closure as a picture. DOT is plain text for Graphviz; SVG and HTML are laid
 * out here (layered, with dagre) so that nothing of the host is needed and a browser opens the
 * file offline. Boxes name the package and give its own and its closure size; the fill grows
 * darker with the share of the whole closure a path keeps alive.
 */
import { formatBytes } from '../gc/format.js';
import { byCost, type Closure, type ClosureNode } from './closure-sizes.js';

export type GraphFormat = 'dot' | 'svg' | 'html';
export const GRAPH_FORMATS: readonly GraphFormat[] = ['dot', 'svg', 'html'];

const FONT_SIZE = 12;
/** Average advance of a character of the sans-serif font at FONT_SIZE, in pixels (generous). */
const CHAR_WIDTH = 7.2;
const LINE = 16;
const PAD_X = 10;
const PAD_Y = 8;
const MARGIN = 16;

function sizes(n: ClosureNode): string {
  return `${formatBytes(n.narSize)} · closure ${formatBytes(n.closureSize)}`;
}

/** Nodes in a stable order (root first, then by cost), and the edges between them. */
function ordered(c: Closure): ClosureNode[] {
  const root = c.nodes.get(c.root)!;
  return [root, ...byCost(c, [...c.nodes.keys()].filter((p) => p !== c.root)).map((p) => c.nodes.get(p)!)];
}

function dotEscape(s: string): string {
  return s.replace(/["\\]/g, '\\$&');
}

function dotString(s: string): string {
  return `"${dotEscape(s)}"`;
}

export function toDot(c: Closure): string {
  const nodes = ordered(c);
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const lines = ['digraph closure {', '  rankdir=TB;', '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="sans-serif", fontsize=10];'];
  for (const n of nodes) lines.push(`  ${dotString(base(n.path))} [label="${dotEscape(n.name)}\\n${dotEscape(sizes(n))}", tooltip=${dotString(n.path)}];`);
  for (const n of nodes) for (const r of byCost(c, n.references)) lines.push(`  ${dotString(base(n.path))} -> ${dotString(base(r))};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** Fill from pale to saturated blue with the share of the root's closure size. */
function fill(share: number): string {
  const t = Math.max(0, Math.min(1, share));
  const l = Math.round(96 - t * 38);
  return `hsl(214, 70%, ${l}%)`;
}

export interface Layout {
  width: number;
  height: number;
  nodes: Array<{ node: ClosureNode; x: number; y: number; width: number; height: number }>;
  edges: Array<{ from: string; to: string; points: Array<{ x: number; y: number }> }>;
}

/** A layered layout of the closure (sources at the top, dependencies below). */
export async function layoutClosure(c: Closure): Promise<Layout> {
  const { default: dagre } = await import('@dagrejs/dagre');
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 48 });
  g.setDefaultEdgeLabel(() => ({}));
  const nodes = ordered(c);
  for (const n of nodes) {
    const chars = Math.max(n.name.length, sizes(n).length);
    g.setNode(n.path, { width: Math.ceil(chars * CHAR_WIDTH + 2 * PAD_X), height: 2 * LINE + 2 * PAD_Y });
  }
  for (const n of nodes) for (const r of byCost(c, n.references)) g.setEdge(n.path, r);
  dagre.layout(g);
  const placed = nodes.map((n) => {
    const l = g.node(n.path);
    return { node: n, x: l.x!, y: l.y!, width: l.width, height: l.height };
  });
  const edges = g.edges().map((e: { v: string; w: string }) => ({
    from: e.v,
    to: e.w,
    points: ((g.edge(e) as { points?: Array<{ x: number; y: number }> }).points ?? []).map((p) => ({ x: p.x, y: p.y })),
  }));
  // dagre's extent covers the boxes, not the bends of long edges: measure both, and move
  // everything so that it starts at the margin.
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const n of placed) {
    minX = Math.min(minX, n.x - n.width / 2);
    maxX = Math.max(maxX, n.x + n.width / 2);
    minY = Math.min(minY, n.y - n.height / 2);
    maxY = Math.max(maxY, n.y + n.height / 2);
  }
  for (const e of edges) {
    for (const p of e.points) {
      minX = Math.min(minX, p.x);
      maxX = Math.max(maxX, p.x);
      minY = Math.min(minY, p.y);
      maxY = Math.max(maxY, p.y);
    }
  }
  const dx = MARGIN - minX;
  const dy = MARGIN - minY;
  for (const n of placed) {
    n.x += dx;
    n.y += dy;
  }
  for (const e of edges) for (const p of e.points) [p.x, p.y] = [p.x + dx, p.y + dy];
  return { width: Math.ceil(maxX - minX + 2 * MARGIN), height: Math.ceil(maxY - minY + 2 * MARGIN), nodes: placed, edges };
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * A smooth path through the points of an edge: each stretch a cubic Bézier with the tangents of
 * a Catmull-Rom spline, so that the curve passes through every bend dagre placed.
 */
function smoothPath(pts: ReadonlyArray<{ x: number; y: number }>): string {
  let d = `M${r1(pts[0].x)},${r1(pts[0].y)}`;
  for (let i = 0; i + 1 < pts.length; i++) {
    const [p0, p1, p2, p3] = [pts[Math.max(0, i - 1)], pts[i], pts[i + 1], pts[Math.min(pts.length - 1, i + 2)]];
    const c1 = { x: p1.x + (p2.x - p0.x) / 6, y: p1.y + (p2.y - p0.y) / 6 };
    const c2 = { x: p2.x - (p3.x - p1.x) / 6, y: p2.y - (p3.y - p1.y) / 6 };
    d += `C${r1(c1.x)},${r1(c1.y)} ${r1(c2.x)},${r1(c2.y)} ${r1(p2.x)},${r1(p2.y)}`;
  }
  return d;
}

export function svgOf(c: Closure, l: Layout): string {
  const total = c.nodes.get(c.root)!.closureSize || 1;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" font-family="sans-serif" font-size="${FONT_SIZE}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#6b7280"/></marker></defs>',
    '<g class="edges" fill="none" stroke="#9ca3af" stroke-width="1.2">',
  ];
  for (const e of l.edges) {
    if (e.points.length < 2) continue;
    const d = smoothPath(e.points);
    out.push(`<path d="${d}" marker-end="url(#arrow)"><title>${esc(`${e.from} → ${e.to}`)}</title></path>`);
  }
  out.push('</g>', '<g class="nodes">');
  for (const n of l.nodes) {
    const x = r1(n.x - n.width / 2);
    const y = r1(n.y - n.height / 2);
    const share = n.node.closureSize / total;
    out.push(
      `<g class="node"${n.node.path === c.root ? ' id="root"' : ''}><title>${esc(`${n.node.path}\nown ${formatBytes(n.node.narSize)} (${n.node.narSize} bytes), closure ${formatBytes(n.node.closureSize)} (${n.node.closureSize} bytes)`)}</title>`,
      `<rect x="${x}" y="${y}" width="${n.width}" height="${n.height}" rx="5" fill="${fill(share)}" stroke="${n.node.path === c.root ? '#1d4ed8' : '#64748b'}" stroke-width="${n.node.path === c.root ? 2 : 1}"/>`,
      `<text x="${r1(n.x)}" y="${r1(n.y - 2)}" text-anchor="middle" font-weight="bold" fill="${share > 0.6 ? '#ffffff' : '#111827'}">${esc(n.node.name)}</text>`,
      `<text x="${r1(n.x)}" y="${r1(n.y + LINE - 2)}" text-anchor="middle" fill="${share > 0.6 ? '#f1f5f9' : '#374151'}">${esc(sizes(n.node))}</text></g>`,
    );
  }
  out.push('</g>', '</svg>');
  return out.join('\n') + '\n';
}

/** Wider than this (in pixels) a picture starts at actual size, since fitted to a page its boxes could not be read. */
const FIT_WIDTH_MAX = 4000;

export function htmlOf(c: Closure, l: Layout): string {
  const root = c.nodes.get(c.root)!;
  const title = `closure of ${root.name}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #111827; }
h1 { font-size: 1.2em; margin: 0 0 .3em; }
p { margin: 0 0 1em; color: #374151; }
code { font-size: .95em; }
.graph { overflow: auto; border: 1px solid #e5e7eb; border-radius: 6px; }
.graph svg { display: block; width: 100%; height: auto; }
#actual:checked ~ .graph svg { width: auto; }
label { font-size: .9em; color: #374151; }
.node:hover rect { stroke: #dc2626; stroke-width: 2; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p><code>${esc(root.path)}</code>: ${c.nodes.size} path${c.nodes.size === 1 ? '' : 's'}, ${esc(formatBytes(root.closureSize))} in all. Each box gives a path's own size and its closure size; darker boxes keep more of the closure alive. Hover a box for its store path.</p>
<input type="checkbox" id="actual"${l.width > FIT_WIDTH_MAX ? ' checked' : ''}><label for="actual"> actual size (scroll to move around); otherwise the whole closure fits the width</label>
<div class="graph">
${svgOf(c, l)}</div>
<script>
// At actual size, start with the root's box in view (a wide closure is wider than the page).
const actual = document.getElementById('actual');
const toRoot = () => { if (actual.checked) document.getElementById('root').scrollIntoView({ block: 'nearest', inline: 'center' }); };
actual.addEventListener('change', toRoot);
toRoot();
</script>
</body>
</html>
`;
}

export async function renderGraph(c: Closure, format: GraphFormat): Promise<string> {
  if (format === 'dot') return toDot(c);
  const l = await layoutClosure(c);
  return format === 'svg' ? svgOf(c, l) : htmlOf(c, l);
}
