/**
 * `store profile diff-closures`, as `nix profile diff-closures`: for each pair of consecutive
 * generations, the packages of the closure that were added, removed or changed, with their
 * versions and the size delta, from the closure diff of `store diff`. The generations
 * themselves (the profile's own store paths) are left out of the closures compared.
 */
import type { Store } from '../store/store.js';
import type { Generation } from '../profile/profiles.js';
import { diffClosures, storeClosure, type ClosureDiff, type PackageChange } from '../cache/diff.js';
import { formatSizeDelta } from '../gc/format.js';

export interface GenerationDiff {
  from: number;
  to: number;
  diff: ClosureDiff;
}

export function generationDiffs(store: Store, gens: readonly Generation[]): GenerationDiff[] {
  const own = new Set(gens.map((g) => g.path));
  const closures = gens.map((g) => storeClosure(store, [g.path], own));
  return gens.slice(1).map((g, i) => ({ from: gens[i].number, to: g.number, diff: diffClosures(store, closures[i], closures[i + 1]) }));
}

/** A version as Nix prints it: ∅ for a package that is not there, ε for one without a version. */
const version = (side: PackageChange['from']) => (side === undefined ? '∅' : side.version || 'ε');

export function changeLine(c: PackageChange): string {
  const versions = c.from && c.to && c.from.version === c.to.version ? `${version(c.to)} (rebuilt)` : `${version(c.from)} → ${version(c.to)}`;
  return `  ${c.name}: ${versions}, ${formatSizeDelta(c.sizeDelta)}`;
}

export function formatGenerationDiffs(diffs: readonly GenerationDiff[]): string {
  const out: string[] = [];
  for (const { from, to, diff } of diffs) {
    out.push(`Version ${from} -> ${to}:`);
    const changes = [...diff.removed, ...diff.added, ...diff.changed].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    out.push(...(changes.length ? changes.map(changeLine) : ['  no changes']));
  }
  return out.length ? out.join('\n') + '\n' : '';
}
