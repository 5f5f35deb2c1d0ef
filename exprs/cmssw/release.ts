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
 */
import { readGraph, release, type PackageOptions } from './graph.ts';

/** The release cycles with a graph in graphs/. */
export const CYCLES = ['13_0', '14_0', '14_1', '14_2'] as const;

/** The arguments of this file's exports (`--arg scale 0.01`). */
export interface ReleaseArgs {
  scale?: number;
}

/** The release of a cycle ('14_2'): { 'cmssw-tool-conf': drv, python_tools: drv }. */
export function cmsswRelease(cycle: string, opts: PackageOptions = {}) {
  return release(readGraph(cycle), opts);
}

export const CMSSW_13_0_X = ({ scale }: ReleaseArgs) => cmsswRelease('13_0', { scale });
export const CMSSW_14_0_X = ({ scale }: ReleaseArgs) => cmsswRelease('14_0', { scale });
export const CMSSW_14_1_X = ({ scale }: ReleaseArgs) => cmsswRelease('14_1', { scale });
export const CMSSW_14_2_X = ({ scale }: ReleaseArgs) => cmsswRelease('14_2', { scale });

/** All four releases. */
export default ({ scale }: ReleaseArgs) => Object.fromEntries(CYCLES.map((c) => [`CMSSW_${c}_X`, cmsswRelease(c, { scale })]));
