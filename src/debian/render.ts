/** A resolved closure as a pinned TypeScript package set (read by debianPackages, src/expr/debian.ts). */
import type { DebianPackage } from './resolve.js';

export interface RenderInput {
  command: string;
  arch: string;
  roots: string[];
  without: string[];
  cycles: string[][];
  packages: DebianPackage[];
  /** The module the file takes the PinnedSet type from (default 'hepstore', which resolves wherever the file is written). */
  typesFrom?: string;
}

const q = (s: string) => JSON.stringify(s);

/** The file's text: everything sorted, nothing from the clock or the machine, so the same metadata gives the same file. */
export function renderPinnedSet(r: RenderInput): string {
  const lines = [
    `// Generated from apt's metadata by:`,
    `//   ${r.command}`,
    `// Do not edit: regenerate. ${r.packages.length} packages, ${(r.packages.reduce((s, p) => s + p.size, 0) / 1e6).toFixed(1)} MB of .deb files.`,
    `import type { PinnedSet } from ${q(r.typesFrom ?? 'hepstore').replace(/"/g, "'")};`,
    ``,
    `export default {`,
    `  command: ${q(r.command)},`,
    `  arch: ${q(r.arch)},`,
    `  roots: [${[...r.roots].sort().map(q).join(', ')}],`,
    `  without: [${[...r.without].sort().map(q).join(', ')}],`,
    `  cycles: [${r.cycles.map((c) => `[${c.map(q).join(', ')}]`).join(', ')}],`,
    `  packages: {`,
  ];
  for (const p of [...r.packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    lines.push(
      `    ${q(p.name)}: { version: ${q(p.version)}, arch: ${q(p.arch)}, filename: ${q(p.filename)}, sha256: ${q(p.sha256)}, size: ${p.size}, depends: [${p.depends.map(q).join(', ')}] },`,
    );
  }
  lines.push(`  },`, `} satisfies PinnedSet & { without: string[] };`, ``);
  return lines.join('\n');
}
