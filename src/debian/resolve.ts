/**
 * The dependency closure of named Debian packages, from apt's metadata: each package at its
 * candidate (highest) version, `Depends` and `Pre-Depends` followed through the first
 * alternative that a real or providing package satisfies. Packages that only serve dpkg's own
 * maintainer scripts are left out (see SKIPPED). Cycles, which Debian allows (libc6 and
 * libgcc-s1 need each other), are found as strongly connected components so that each one can
 * be unpacked as a single store path.
 */
import { parseRelations, compareVersions, satisfies, type Relation, type Stanza } from './control.js';
import type { Pin } from '../expr/debian.js';

/** A resolved package: the pin a generated set records for it (depends resolved within the closure, sorted), and its name. */
export interface DebianPackage extends Pin {
  name: string;
}

/**
 * Packages whose contents serve package management on an installed system (configuration
 * prompts, maintainer scripts, init integration), never a program at run time.
 */
export const SKIPPED = new Set([
  'debconf', 'debconf-2.0', 'cdebconf', 'dpkg', 'install-info', 'init-system-helpers', 'lsb-base', 'sysvinit-utils',
  'sensible-utils', 'ucf', 'adduser', 'passwd', 'perl-base', 'dpkg-dev', 'python3-distutils',
]);

export class Index {
  readonly byName = new Map<string, Stanza>();
  readonly providers = new Map<string, string[]>();

  constructor(stanzas: Stanza[], readonly arch: string) {
    for (const s of stanzas) {
      const name = s.Package;
      if (!name || !s.Version || !s.Filename || !s.SHA256) continue;
      if (s.Architecture !== arch && s.Architecture !== 'all') continue;
      const had = this.byName.get(name);
      if (had && compareVersions(had.Version, s.Version) >= 0) continue;
      this.byName.set(name, s);
    }
    for (const s of [...this.byName.values()].sort((a, b) => (a.Package < b.Package ? -1 : 1))) {
      for (const group of parseRelations(s.Provides)) {
        for (const p of group) {
          const list = this.providers.get(p.name) ?? [];
          list.push(s.Package);
          this.providers.set(p.name, list);
        }
      }
    }
  }

  /** The package that satisfies one alternative, if any: the named package, else its first provider. */
  satisfier(r: Relation): string | undefined {
    const s = this.byName.get(r.name);
    if (s && satisfies(s.Version, r)) return r.name;
    if (r.op) return undefined;
    return this.providers.get(r.name)?.[0];
  }
}

export class ResolveError extends Error {}

export function resolveClosure(index: Index, roots: string[], skipped: ReadonlySet<string> = SKIPPED): DebianPackage[] {
  const out = new Map<string, DebianPackage>();
  const missing: string[] = [];
  const queue = [...roots];
  for (const r of roots) if (!index.byName.has(r)) missing.push(`${r} (asked for)`);
  while (queue.length) {
    const name = queue.shift()!;
    if (out.has(name) || skipped.has(name)) continue;
    const s = index.byName.get(name);
    if (!s) continue;
    const deps = new Set<string>();
    for (const group of [...parseRelations(s['Pre-Depends']), ...parseRelations(s.Depends)]) {
      if (group.some((r) => skipped.has(r.name))) continue;
      let chosen: string | undefined;
      for (const r of group) {
        chosen = index.satisfier(r);
        if (chosen) break;
      }
      if (!chosen) {
        missing.push(`${group.map((r) => r.name + (r.op ? ` (${r.op} ${r.version})` : '')).join(' | ')} (needed by ${name})`);
        continue;
      }
      if (chosen === name || skipped.has(chosen)) continue;
      deps.add(chosen);
      queue.push(chosen);
    }
    out.set(name, {
      name,
      version: s.Version,
      arch: s.Architecture,
      filename: s.Filename,
      sha256: s.SHA256,
      size: Number(s.Size),
      depends: [...deps].sort(),
    });
  }
  if (missing.length) throw new ResolveError(`cannot resolve:\n  ${missing.join('\n  ')}`);
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Strongly connected components with more than one member (Tarjan), each sorted, in name order. */
export function cycles(pkgs: DebianPackage[]): string[][] {
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let n = 0;
  const visit = (v: string) => {
    // Iterative Tarjan: frames of (node, next dependency to look at).
    const frames: Array<[string, number]> = [[v, 0]];
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    while (frames.length) {
      const f = frames[frames.length - 1];
      const deps = byName.get(f[0])!.depends;
      if (f[1] < deps.length) {
        const w = deps[f[1]++];
        if (!index.has(w)) {
          index.set(w, n);
          low.set(w, n++);
          stack.push(w);
          on.add(w);
          frames.push([w, 0]);
        } else if (on.has(w)) low.set(f[0], Math.min(low.get(f[0])!, index.get(w)!));
        continue;
      }
      frames.pop();
      if (frames.length) low.set(frames[frames.length - 1][0], Math.min(low.get(frames[frames.length - 1][0])!, low.get(f[0])!));
      if (low.get(f[0]) === index.get(f[0])) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          on.delete(w);
          comp.push(w);
        } while (w !== f[0]);
        if (comp.length > 1) out.push(comp.sort());
      }
    }
  };
  for (const p of pkgs) if (!index.has(p.name)) visit(p.name);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}
