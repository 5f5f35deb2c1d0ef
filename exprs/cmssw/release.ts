/**
 * CMSSW releases: CMSSW_13_0_X … CMSSW_14_2_X, each the runtime closure of its roots
 * `cmssw-tool-conf` (the package is called cmssw-tools from 14_1 on) and `python_tools`, as
 * synthetic packages over the real cmsdist dependency graphs (graph.ts). A package whose
 * recipe and inputs are the same in two releases is the same store path, built and kept once.
 *
 *   store release add CMSSW_14_2_X exprs/cmssw/release.ts --attr CMSSW_14_2_X
 *
 * Payload sizes are typical of each package's kind (sizes.ts) times the argument `scale`
 * (default 0.001, a release of some tens of MiB; 1 is life size, some tens of GiB; 0 the
 * smallest, one 64-byte line per package):
 *
 *   store release add CMSSW_14_2_X exprs/cmssw/release.ts --attr CMSSW_14_2_X --arg scale 0.01
 *
 * The scale is part of every derivation, so releases made at different scales share no paths.
 *
 * With the argument `real`, the packages that externals.ts builds from source (zlib, FastJet,
 * HepMC3, …) are those real builds in place of the synthetic packages of the same name: `true`
 * for all of them, or a list of names. The synthetic packages that depend on them refer to them,
 * so the release's closure holds real libraries, shared with every other release and
 * environment that uses the same builds:
 *
 *   store release add CMSSW_14_2_X exprs/cmssw/release.ts --attr CMSSW_14_2_X --arg real true
 *   store release add CMSSW_14_2_X exprs/cmssw/release.ts --attr CMSSW_14_2_X --arg real '["zlib","fastjet"]'
 */
import type { Drv } from 'hepstore';
import externals from './externals.ts';
import { readGraph, release, type PackageOptions } from './graph.ts';

/** The release cycles with a graph in graphs/. */
export const CYCLES = ['13_0', '14_0', '14_1', '14_2'] as const;

/** The arguments of this file's exports (`--arg scale 0.01`). */
export interface ReleaseArgs {
  scale?: number;
  /** Packages built from source in place of synthetic ones: all that externals.ts has, or these names. */
  real?: boolean | string[];
}

/** The package replacement that `real` asks for (see PackageOptions.replace). */
export function realPackages(real: ReleaseArgs['real']): PackageOptions['replace'] {
  if (real === undefined || real === false) return undefined;
  const known = Object.keys(externals);
  if (real !== true && !(Array.isArray(real) && real.every((n) => typeof n === 'string'))) {
    throw new Error(`the argument 'real' is true or a list of package names, not ${JSON.stringify(real)}`);
  }
  const names = new Set(real === true ? known : real);
  for (const n of names) {
    if (!known.includes(n)) throw new Error(`the argument 'real' names '${n}', which externals.ts does not build (it builds: ${known.join(', ')})`);
  }
  const ext = externals as Record<string, Drv>;
  return (name) => (names.has(name) ? ext[name] : undefined);
}

/** The release of a cycle ('14_2'): { 'cmssw-tool-conf': drv, python_tools: drv }. */
export function cmsswRelease(cycle: string, opts: PackageOptions = {}) {
  return release(readGraph(cycle), opts);
}

const options = ({ scale, real }: ReleaseArgs): PackageOptions => ({ scale, replace: realPackages(real) });

export const CMSSW_13_0_X = (args: ReleaseArgs) => cmsswRelease('13_0', options(args));
export const CMSSW_14_0_X = (args: ReleaseArgs) => cmsswRelease('14_0', options(args));
export const CMSSW_14_1_X = (args: ReleaseArgs) => cmsswRelease('14_1', options(args));
export const CMSSW_14_2_X = (args: ReleaseArgs) => cmsswRelease('14_2', options(args));

/** All four releases. */
export default (args: ReleaseArgs) => Object.fromEntries(CYCLES.map((c) => [`CMSSW_${c}_X`, cmsswRelease(c, options(args))]));
