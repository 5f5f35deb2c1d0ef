/**
 * Output and .drv paths (Invariant 3): input-addressed outputs hash the derivation "modulo"
 * its fixed-output inputs, so a fetcher's URL or builder never changes anything downstream.
 */
import { sha256Hex } from '../hash/sha256.js';
import { makeStorePath, typeWithReferences } from '../store/path.js';
import { isFixedOutput, unparseDerivation, type Derivation } from './derivation.js';

export function outputPathName(drvName: string, output: string): string {
  return output === 'out' ? drvName : `${drvName}-${output}`;
}

/** Path of a fixed-output derivation's output: recursive sha256 equals `store add` of the same tree. */
export function fixedOutputPath(storeDir: string, name: string, hashAlgo: string, hashHex: string): string {
  if (hashAlgo === 'r:sha256') return makeStorePath('source', hashHex, storeDir, name);
  return makeStorePath('output:out', sha256Hex(`fixed:out:${hashAlgo}:${hashHex}:`), storeDir, name);
}

/**
 * The hash modulo of a derivation, hex. `inputHash` gives the hash modulo of each input .drv
 * (the caller memoises; inputs are always hashed before their users).
 */
export function hashDerivationModulo(drv: Derivation, inputHash: (drvPath: string) => string, maskOutputs = false): string {
  if (isFixedOutput(drv)) {
    const [o] = Object.values(drv.outputs);
    return sha256Hex(`fixed:out:${o.hashAlgo}:${o.hash}:${o.path}`);
  }
  const inputDrvs: Record<string, string[]> = {};
  for (const [p, outs] of Object.entries(drv.inputDrvs)) inputDrvs[inputHash(p)] = outs;
  return sha256Hex(unparseDerivation(drv, { inputDrvs, maskOutputs }));
}

/** Fill in the output paths (and their env vars) of an input-addressed derivation in place. */
export function assignOutputPaths(drv: Derivation, storeDir: string, inputHash: (drvPath: string) => string): void {
  if (isFixedOutput(drv)) {
    const [[name, o]] = Object.entries(drv.outputs);
    o.path = fixedOutputPath(storeDir, drv.name, o.hashAlgo, o.hash);
    drv.env[name] = o.path;
    return;
  }
  for (const o of Object.keys(drv.outputs)) {
    drv.outputs[o].path = '';
    drv.env[o] = '';
  }
  const h = hashDerivationModulo(drv, inputHash, true);
  for (const o of Object.keys(drv.outputs)) {
    const p = makeStorePath(`output:${o}`, h, storeDir, outputPathName(drv.name, o));
    drv.outputs[o].path = p;
    drv.env[o] = p;
  }
}

/** The .drv's own store path: a text object whose references are its input sources and .drvs. */
export function derivationReferences(drv: Derivation): string[] {
  return [...new Set([...drv.inputSrcs, ...Object.keys(drv.inputDrvs)])].sort();
}

export function derivationPath(drv: Derivation, storeDir: string): string {
  return makeStorePath(typeWithReferences('text', derivationReferences(drv)), sha256Hex(unparseDerivation(drv)), storeDir, `${drv.name}.drv`);
}
