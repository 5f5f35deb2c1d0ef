/**
 * Substitution before building (see substituteFirst).
 */
import { StoreError } from '../errors.js';
import { type BuildGraph, type BuildNode } from '../derivation/graph.js';
import { type RealizeOptions } from './realize-options.js';

/**
 * Substitution before building: ask the substituters for the missing outputs of the
 * derivations to build, top-down (a derivation's inputs only once every derivation that needs
 * them has been tried), so a hit on a root fetches its runtime closure and nothing it was
 * built from. Returns what still has to be built.
 */
export async function substituteFirst(
  graph: BuildGraph,
  initial: Set<string>,
  outputsOf: (n: BuildNode) => string[],
  opts: RealizeOptions,
  emit: NonNullable<RealizeOptions['onEvent']>,
  refreshValid: () => Set<string>,
  plan: () => Set<string>,
): Promise<Set<string>> {
  let toBuild = initial;
  let valid = refreshValid();
  const tried = new Set<string>();
  const failed = new Map<string, string>();
  for (;;) {
    const usedBy = new Map<string, string[]>();
    for (const p of toBuild) for (const i of Object.keys(graph.nodes.get(p)!.drv.inputDrvs)) (usedBy.get(i) ?? usedBy.set(i, []).get(i)!).push(p);
    const frontier = [...toBuild].filter((p) => !tried.has(p) && (usedBy.get(p) ?? []).every((u) => tried.has(u)));
    if (frontier.length === 0) break;
    for (const p of frontier) tried.add(p);
    const want = frontier.flatMap((p) => outputsOf(graph.nodes.get(p)!)).filter((o) => !valid.has(o));
    if (want.length) for (const [p, why] of await opts.substitute!(want)) failed.set(p, why);
    valid = refreshValid();
    toBuild = plan();
  }
  const missing = (p: string) => outputsOf(graph.nodes.get(p)!).some((o) => !valid.has(o));
  const stillMissing: string[] = [];
  const missingInputOf = new Map<string, string | undefined>();
  for (const p of toBuild) {
    const n = graph.nodes.get(p)!;
    const outs = outputsOf(n).filter((o) => !valid.has(o));
    if (outs.length === 0) continue;
    const input = Object.keys(n.drv.inputDrvs).sort().find((i) => toBuild.has(i) && missing(i));
    const missingInput = input === undefined ? undefined : graph.nodes.get(input)!.drv.name;
    for (const o of outs) {
      stillMissing.push(o);
      missingInputOf.set(o, missingInput);
      const reason = failed.get(o);
      if (reason) emit({ type: 'substitute-failed', path: o, reason, name: n.drv.name, location: n.location, missingInput });
    }
  }
  if (opts.noFallback && stillMissing.length) {
    const shown = stillMissing.slice(0, 3).map((o) => {
      const input = missingInputOf.get(o);
      return `  ${o}: ${failed.get(o) ?? 'not tried (an input of a path that could not be substituted)'}${input ? `; its input '${input}' could not be substituted either` : ''}`;
    });
    throw new StoreError('BUILD_FAILED', `${stillMissing.length} output${stillMissing.length > 1 ? 's' : ''} could not be substituted, and --no-fallback forbids building:\n${shown.join('\n')}${stillMissing.length > 3 ? `\n  (and ${stillMissing.length - 3} more)` : ''}`, {
      hint: 'check the substituters and trusted keys, or drop --no-fallback to build from source',
    });
  }
  return toBuild;
}
