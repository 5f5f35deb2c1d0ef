/**
 * CMSSW release cycles as releases of synthetic packages over the real cmsdist dependency
 * graphs (see graph.ts). Each attribute is one release's roots, e.g.
 *
 *   store release add CMSSW_14_2_X exprs/cmssw/releases.ts --attr CMSSW_14_2_X
 */
import { readGraph, release } from './graph.ts';

export const CMSSW_13_0_X = () => release(readGraph('13_0'));
export const CMSSW_14_0_X = () => release(readGraph('14_0'));
export const CMSSW_14_1_X = () => release(readGraph('14_1'));
export const CMSSW_14_2_X = () => release(readGraph('14_2'));
