/**
 * Output and .drv paths (Invariant 3): input-addressed outputs hash the derivation "modulo"
 * its fixed-output inputs, so a fetcher's URL or builder never changes anything downstream.
 */
import { sha256Hex } from '../hash/sha256.js';
import { makeStorePath, typeWithReferences } from '../store/path.js';
import { isFixedOutput, unparseDerivation, type Derivation, type InputDrvs } from './derivation.js';

export function outputPathName(drvName: string, output: string): string {
  return output === 'out' ? drvName : `${drvName}-${output}`;
}

/** Path of a fixed-output derivation's output: recursive sha256 equals `store add` of the same tree. */
export function fixedOutputPath(storeDir: string, name: string, hashAlgo: string, hashHex: string): string {
  if (hashAlgo === 'r:sha256') return makeStorePath('source', hashHex, storeDir, name);
  return makeStorePath('output:out', sha256Hex(`fixed:out:${hashAlgo}:${hashHex}:`), storeDir, name);
}

/**
 * The hash modulo of a derivation, hex: what its outputs' paths and its users' hashes are
 * computed from. For an input-addressed derivation it covers every field with output paths
 * blanked and each input .drv replaced by that input's own hash modulo (`inputHash`, which the
 * caller memoises); for a fixed-output one, only the declared content hash and output path.
 */
export function hashDerivationModulo(drv: Derivation, inputHash: (drvPath: string) => string): string {
  return hashModuloOf(drv, inputsByHash(drv, inputHash));
}

/** The inputs of `drv` keyed by their hash modulo instead of their .drv path. */
function inputsByHash(drv: Derivation, inputHash: (drvPath: string) => string): Map<string, string[]> {
  const byHash = new Map<string, string[]>();
  for (const [p, outs] of Object.entries(drv.inputDrvs)) {
    const h = inputHash(p);
    const prev = byHash.get(h);
    byHash.set(h, prev ? [...new Set([...prev, ...outs])] : outs);
  }
  return byHash;
}

/**
 * The hash modulo given the inputs already keyed by their own hashes modulo (evaluation
 * knows those before it knows any .drv path; `drv.inputDrvs` is not read).
 */
export function hashModuloOf(drv: Derivation, inputDrvsByHash: InputDrvs): string {
  if (isFixedOutput(drv)) {
    const [o] = Object.values(drv.outputs);
    return sha256Hex(`fixed:out:${o.hashAlgo}:${o.hash}:${o.path}`);
  }
  return sha256Hex(unparseDerivation(drv, { inputDrvs: inputDrvsByHash, maskOutputs: true }));
}

/** Fill in the output paths (and their env vars) in place; returns the hash modulo. */
export function assignOutputPaths(drv: Derivation, storeDir: string, inputHash: (drvPath: string) => string): string {
  return assignOutputPathsByHash(drv, storeDir, isFixedOutput(drv) ? new Map() : inputsByHash(drv, inputHash));
}

export function assignOutputPathsByHash(drv: Derivation, storeDir: string, inputDrvsByHash: InputDrvs): string {
  if (isFixedOutput(drv)) {
    const [[name, o]] = Object.entries(drv.outputs);
    o.path = fixedOutputPath(storeDir, drv.name, o.hashAlgo, o.hash);
    drv.env[name] = o.path;
    return hashModuloOf(drv, new Map());
  }
  for (const o of Object.keys(drv.outputs)) {
    drv.outputs[o].path = '';
    drv.env[o] = '';
  }
  const h = hashModuloOf(drv, inputDrvsByHash);
  for (const o of Object.keys(drv.outputs)) {
    const p = makeStorePath(`output:${o}`, h, storeDir, outputPathName(drv.name, o));
    drv.outputs[o].path = p;
    drv.env[o] = p;
  }
  return h;
}

/** The .drv's own store path: a text object whose references are its input sources and .drvs. */
export function derivationReferences(drv: Derivation): string[] {
  return [...new Set([...drv.inputSrcs, ...Object.keys(drv.inputDrvs)])].sort();
}

export function derivationPath(drv: Derivation, storeDir: string): string {
  return makeStorePath(typeWithReferences('text', derivationReferences(drv)), sha256Hex(unparseDerivation(drv)), storeDir, `${drv.name}.drv`);
}
