/**
 * What `store release list` shows: each release's closure, what it shares with the other
 * releases, and what only it keeps alive; and, for all releases together, how much the
 * sharing saves (a path in several closures is stored once).
 *
 * Two roots reports over one loaded graph: among every root (unique = what `store gc` would
 * free if the release went), and among the releases alone (a closure path no other release
 * reaches is the release's own; the rest is shared).
 */
import type { Store } from '../store/store.js';
import { loadGraph } from './graph.js';
import { listReleases, type Release } from './releases.js';
import { rootsReport } from './report.js';
import { findRoots } from './roots.js';

export interface ReleaseRow extends Release {
  state: 'active' | 'deprecated';
  /** Paths and bytes (narSize) of the runtime closure of its outputs. */
  closurePaths: number;
  closureBytes: number;
  /** Of the closure: what the closure of at least one other release holds too. */
  sharedPaths: number;
  sharedBytes: number;
  /** Of the closure: what no other root (release, profile, out-link…) keeps alive. */
  uniquePaths: number;
  uniqueBytes: number;
}

export interface ReleaseReport {
  releases: ReleaseRow[];
  /** The union of all release closures: what the releases occupy in the store. */
  paths: number;
  bytes: number;
  /** The closures added up, each as if alone: what the releases would occupy without sharing. */
  closurePaths: number;
  closureBytes: number;
}

export function releaseReport(store: Store): ReleaseReport {
  const releases = listReleases(store);
  const roots = findRoots(store);
  const graph = loadGraph(store);
  const all = rootsReport(store, { graph, roots, closure: (r) => r.kind === 'release' });
  const among = rootsReport(store, { graph, roots: roots.filter((r) => r.kind === 'release') });
  const rows = releases.map((r): ReleaseRow => {
    const root = all.roots.find((x) => x.kind === 'release' && x.name === r.name);
    const own = among.roots.find((x) => x.name === r.name);
    const closurePaths = root?.closurePaths ?? 0;
    const closureBytes = root?.closureBytes ?? 0;
    return {
      ...r,
      state: r.deprecated !== undefined ? 'deprecated' : 'active',
      closurePaths,
      closureBytes,
      sharedPaths: closurePaths - (own?.uniquePaths ?? 0),
      sharedBytes: closureBytes - (own?.uniqueBytes ?? 0),
      uniquePaths: root?.uniquePaths ?? 0,
      uniqueBytes: root?.uniqueBytes ?? 0,
    };
  });
  return {
    releases: rows,
    paths: among.alive,
    bytes: among.aliveBytes,
    closurePaths: rows.reduce((s, r) => s + r.closurePaths, 0),
    closureBytes: rows.reduce((s, r) => s + r.closureBytes, 0),
  };
}
