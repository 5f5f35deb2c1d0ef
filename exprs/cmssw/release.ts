/**
 * CMSSW releases: CMSSW_13_0_X … CMSSW_14_2_X, each the runtime closure of its roots
 * `cmssw-tool-conf` (the package is called cmssw-tools from 14_1 on) and `python_tools`, as
 * synthetic packages over the real cmsdist dependency graphs (graph.ts). A package whose
 * recipe and inputs are the same in two releases is the same store path, built and kept once.
 *
 *   store release add CMSSW_14_2_X exprs/cmssw/release.ts --attr CMSSW_14_2_X
 *
 * Payload sizes are typical of each package's kind (sizes.ts) times CMSSW_PAYLOAD_SCALE from
 * the environment (default 0.001, a release of some tens of MiB; 1 is life size, some tens of
 * GiB; 0 the smallest, one 64-byte line per package). The scale is part of every derivation,
 * so releases made at different scales do not share paths.
 */
import { readGraph, release, DEFAULT_SCALE, type PackageOptions } from './graph.ts';

/** The release cycles with a graph in graphs/. */
export const CYCLES = ['13_0', '14_0', '14_1', '14_2'] as const;

/** The scale from CMSSW_PAYLOAD_SCALE (default DEFAULT_SCALE). */
export function scaleFromEnv(env: Record<string, string | undefined> = process.env): number {
  const v = env.CMSSW_PAYLOAD_SCALE;
  if (v === undefined || v === '') return DEFAULT_SCALE;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`CMSSW_PAYLOAD_SCALE must be a number >= 0, not '${v}'`);
  return n;
}

/** The release of a cycle ('14_2'): { 'cmssw-tool-conf': drv, python_tools: drv }. */
export function cmsswRelease(cycle: string, opts: PackageOptions = {}) {
  return release(readGraph(cycle), { scale: scaleFromEnv(), ...opts });
}

export const CMSSW_13_0_X = () => cmsswRelease('13_0');
export const CMSSW_14_0_X = () => cmsswRelease('14_0');
export const CMSSW_14_1_X = () => cmsswRelease('14_1');
export const CMSSW_14_2_X = () => cmsswRelease('14_2');

/** All four releases. */
export default () => Object.fromEntries(CYCLES.map((c) => [`CMSSW_${c}_X`, cmsswRelease(c)]));
