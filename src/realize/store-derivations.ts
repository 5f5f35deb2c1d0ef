/**
 * Placing what an evaluation made into the store before anything is built: the local
 * sources it refers to, and its .drv files.
 */
import fs from 'node:fs';
import { StoreError } from '../errors.js';
import { hashPathSync } from '../archive/hash-sync.js';
import { unparseDerivation } from '../derivation/derivation.js';
import { derivationReferences } from '../derivation/paths.js';
import { type BuildGraph, type BuildNode } from '../derivation/graph.js';
import type { Store, NewPathInfo } from '../store/store.js';

/** Add the local sources the graph refers to; each must still hash to what evaluation saw. */
export async function addSources(store: Store, graph: BuildGraph): Promise<void> {
  const sources = [...graph.sources.values()];
  const valid = store.validPaths(sources.map((s) => s.storePath));
  for (const s of sources) {
    if (valid.has(s.storePath)) continue;
    const p = s.text !== undefined ? await store.addTextToStore(s.name, s.text, []) : await store.addToStore(s.hostPath, s.name);
    if (p !== s.storePath) {
      throw new StoreError('EVAL', `source '${s.hostPath}' changed while it was being evaluated (expected ${s.storePath}, got ${p})`, { hint: 'run again once nothing writes to it' });
    }
  }
}

/**
 * Write and register the .drv files that are not valid yet (`valid` has those that are), in
 * one transaction. Those already valid (perhaps imported) are what this evaluation wrote (a
 * .drv's path follows from its contents), so the store marks them as its own: `verify
 * --repair` builds only from those.
 */
export function writeDerivations(store: Store, nodes: readonly BuildNode[], valid: ReadonlySet<string>): void {
  const infos: Array<NewPathInfo & { derivationOutputs: Record<string, string> }> = [];
  const temps: Array<[string, string]> = [];
  const own: string[] = [];
  try {
    for (const n of nodes) {
      if (valid.has(n.drvPath)) {
        own.push(n.drvPath);
        continue;
      }
      const text = unparseDerivation(n.drv);
      const temp = store.tempPath('drv');
      fs.writeFileSync(temp, text, { mode: 0o444 });
      fs.utimesSync(temp, 1, 1);
      temps.push([temp, n.drvPath]);
      const nar = hashPathSync(temp);
      const outs: Record<string, string> = {};
      for (const [o, out] of Object.entries(n.drv.outputs)) outs[o] = out.path;
      infos.push({ path: n.drvPath, narHash: nar.narHash, narSize: nar.narSize, references: derivationReferences(n.drv), ultimate: true, derivationOutputs: outs });
    }
    store.markUltimate(own);
    if (infos.length === 0) return;
    // Same content at the same name: replacing an existing file is harmless, and the rows
    // are written only once every file is in place.
    for (const [temp, final] of temps) fs.renameSync(temp, final);
    store.registerValidPaths(infos);
  } finally {
    for (const [temp] of temps) if (fs.existsSync(temp)) fs.rmSync(temp, { force: true });
  }
}
