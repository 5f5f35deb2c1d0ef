/**
 * What of the host evaluated derivations use: host tools (`host.tool`, the tools mkDerivation
 * and zxDerivation put on PATH) and builders that are host programs rather than store paths
 * (`builder: '/bin/sh'`, `process.execPath`), anywhere in the closure of each root, with the
 * place in the expression files that asked for each. `store eval --json` lists them; `--pure`
 * (and `"pure": true` in etc/hepstore.json) refuses a closure that has any.
 */
import path from 'node:path';
import { StoreError } from '../errors.js';
import { builderOf, coreOf, inputDrvsOf, type Drv } from '../expr/drv.js';
import type { HostTool } from '../expr/host.js';
import type { EvalRoot } from './evaluate.js';

export interface HostUse {
  /** The derivation that uses it. */
  name: string;
  drvPath: string;
  /** Where that derivation was made ("file:line"), when known. */
  location?: string;
  /** Run as the builder, or a tool it puts on PATH (or names in its environment). */
  as: 'builder' | 'tool';
}

export interface HostDependency {
  /**
   * 'tool': asked for with host.tool(), its identity (path, version, hash) is in the hash of
   * every derivation that uses it; 'builder': a host path given as a builder, whose identity is
   * in no hash.
   */
  kind: 'tool' | 'builder';
  name: string;
  path: string;
  version: string | null;
  hash: string | null;
  /** Where it was asked for ("file:line"): the host.tool() call, or the derivation that names the builder. */
  askedAt?: string;
  usedBy: HostUse[];
}

type Core = object;

interface OwnUse {
  kind: 'tool' | 'builder';
  path: string;
  tool?: HostTool;
  as: 'builder' | 'tool';
}

/** The host program a derivation's build runs, if its builder is neither a store path nor a builtin. */
function hostBuilder(d: Drv, storeDir: string): string | undefined {
  const { builder, args } = builderOf(d);
  // builtin:buildenv links the environment, then runs its arguments (if any) as the builder.
  const program = builder === 'builtin:buildenv' ? args[0] : builder;
  if (program === undefined || program.startsWith('builtin:') || program.startsWith(storeDir + '/')) return undefined;
  return program;
}

function ownUses(d: Drv, storeDir: string): OwnUse[] {
  const tools = d.hostTools;
  const program = hostBuilder(d, storeDir);
  if (tools.length === 0 && program === undefined) return [];
  const uses: OwnUse[] = [];
  let builderIsTool = false;
  for (const t of tools) {
    const as = t.path === program ? 'builder' : 'tool';
    builderIsTool ||= as === 'builder';
    uses.push({ kind: 'tool', path: t.path, tool: t, as });
  }
  if (program !== undefined && !builderIsTool) uses.push({ kind: 'builder', path: program, as: 'builder' });
  return uses;
}

/**
 * One pass over everything the roots reach: each derivation's own host uses, and whether its
 * closure has any (so that a later walk skips closures that have none). No .drv path is computed.
 */
function survey(roots: readonly Drv[]): { own: Map<Core, OwnUse[]>; impure: Set<Core>; order: Drv[] } {
  const own = new Map<Core, OwnUse[]>();
  const impure = new Set<Core>();
  const order: Drv[] = [];
  const seen = new Set<Core>();
  const stack: Array<[Drv, boolean]> = roots.map((d): [Drv, boolean] => [d, false]).reverse();
  while (stack.length) {
    const [d, expanded] = stack.pop()!;
    const c = coreOf(d);
    if (!expanded) {
      if (seen.has(c)) continue;
      seen.add(c);
      stack.push([d, true]);
      for (const i of inputDrvsOf(d)) if (!seen.has(coreOf(i))) stack.push([i, false]);
      continue;
    }
    const uses = ownUses(d, path.dirname(d.outPath));
    if (uses.length) own.set(c, uses);
    if (uses.length || inputDrvsOf(d).some((i) => impure.has(coreOf(i)))) impure.add(c);
    order.push(d);
  }
  return { own, impure, order };
}

/** For each root, the host tools and host-path builders in its closure (sorted by kind, name, path). */
export function hostDependencies(roots: readonly EvalRoot[]): HostDependency[][] {
  const { own, impure } = survey(roots.map((r) => r.drv));
  return roots.map((r) => {
    const found = new Map<string, HostDependency>();
    const seen = new Set<Core>();
    const stack: Drv[] = [r.drv];
    while (stack.length) {
      const d = stack.pop()!;
      const c = coreOf(d);
      if (seen.has(c) || !impure.has(c)) continue;
      seen.add(c);
      for (const u of own.get(c) ?? []) {
        const key = `${u.kind}\0${u.path}`;
        let dep = found.get(key);
        if (!dep) {
          const id = u.tool?.identity();
          dep = { kind: u.kind, name: id?.name ?? path.basename(u.path), path: u.path, version: id?.version ?? null, hash: id?.hash ?? null, askedAt: u.tool ? u.tool.askedAt : d.location, usedBy: [] };
          found.set(key, dep);
        }
        dep.usedBy.push({ name: d.name, drvPath: d.drvPath, location: d.location, as: u.as });
      }
      for (const i of inputDrvsOf(d)) stack.push(i);
    }
    const deps = [...found.values()];
    for (const dep of deps) dep.usedBy.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.drvPath < b.drvPath ? -1 : 1));
    return deps.sort((a, b) => (a.kind !== b.kind ? (a.kind === 'tool' ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : a.path < b.path ? -1 : 1));
  });
}

const SHOWN_DERIVATIONS = 5;
const SHOWN_TOOLS = 4;

/**
 * `--pure`: refuse roots whose closure uses anything of the host, naming each derivation that
 * does and the file and line that asked for it. Builds nothing, writes nothing.
 */
export function refuseHostDependencies(roots: readonly EvalRoot[], file: string): void {
  const { own, order } = survey(roots.map((r) => r.drv));
  // Inputs come first in `order`: the derivations to change before the ones that use them.
  const users = order.filter((d) => own.has(coreOf(d)));
  if (users.length === 0) return;
  const lines = users.slice(0, SHOWN_DERIVATIONS).map((d) => {
    const uses = own.get(coreOf(d))!;
    const parts: string[] = [];
    const builder = uses.find((u) => u.as === 'builder');
    if (builder) parts.push(`its builder ${builder.path} is a host program${builder.tool ? ` (host.tool at ${builder.tool.askedAt ?? 'an unknown place'})` : ''}`);
    const tools = uses.filter((u) => u.kind === 'tool' && u.as === 'tool');
    if (tools.length) {
      const shown = tools.slice(0, SHOWN_TOOLS).map((u) => `${u.tool!.id.name} (${u.path}${u.tool!.askedAt ? `, asked for at ${u.tool!.askedAt}` : ''})`);
      parts.push(`host tool${tools.length > 1 ? 's' : ''} ${shown.join(', ')}${tools.length > SHOWN_TOOLS ? ` and ${tools.length - SHOWN_TOOLS} more` : ''}`);
    }
    return `  ${d.name}${d.location ? ` (${d.location})` : ''}: ${parts.join('; ')}`;
  });
  const more = users.length > SHOWN_DERIVATIONS ? `\n  … and ${users.length - SHOWN_DERIVATIONS} more derivations (\`store eval --json\` lists every host tool of each root)` : '';
  throw new StoreError('IMPURE', `pure mode: ${users.length} derivation${users.length > 1 ? 's' : ''} in what ${file} names use${users.length > 1 ? '' : 's'} programs of the host:\n${lines.join('\n')}${more}`, {
    hint: 'use store paths as builders and tools (the store\'s stdenv, a fetched or built program, builtin:fetchurl) and remove host.tool(...); where host tools are acceptable, leave out --pure (and "pure": true in etc/hepstore.json)',
  });
}
