/**
 * Rebuilding a lost store database from the objects on disk (`store verify --recover`).
 *
 * Every object in the store directory that the database does not list is hashed; its
 * references are the other objects present whose hash parts occur in its archive (the scan a
 * build does); a `.drv` file that is exactly what its path says gives its own references (its
 * inputs, as when it was written) and the deriver of each of its outputs; an object whose path
 * is what `store add` would give it gets its content address back. Everything is registered in
 * one transaction, after which the database is trusted again. Signatures are not recovered.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packPath } from '../archive/dump.js';
import { HashSink, sha256, sha256Hex } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { parseDerivation, type Derivation } from '../derivation/derivation.js';
import { derivationPath, derivationReferences } from '../derivation/paths.js';
import { makeStorePath, typeWithReferences } from '../store/path.js';
import type { Store, NewPathInfo } from '../store/store.js';
import { ReferenceScanner } from './scan.js';

export interface RecoverReport {
  /** Store objects on disk. */
  present: number;
  /** Already valid (listed by the database). */
  alreadyValid: number;
  registered: NewPathInfo[];
  /** Objects left unregistered, and why. */
  skipped: Array<{ path: string; why: string }>;
  /** Where a database file that could not be read was moved. */
  movedAside?: string;
}

/** A .drv file that is exactly what its path says, or undefined. */
function readDerivation(p: string, storeDir: string): Derivation | undefined {
  try {
    if (!fs.lstatSync(p).isFile()) return undefined;
    const drv = parseDerivation(fs.readFileSync(p, 'utf8'), path.basename(p).slice(33));
    return derivationPath(drv, storeDir) === p ? drv : undefined;
  } catch {
    return undefined;
  }
}

/** The content address of an object whose path is what `store add` (or a text source) gives it. */
function contentAddress(p: string, storeDir: string, digest: Buffer, narHash: string, references: readonly string[]): string | undefined {
  const name = path.basename(p).slice(33);
  if (references.length === 0 && makeStorePath('source', digest.toString('hex'), storeDir, name) === p) return `nar:${narHash}`;
  try {
    if (!fs.lstatSync(p).isFile()) return undefined;
    const text = fs.readFileSync(p);
    if (makeStorePath(typeWithReferences('text', references), sha256Hex(text), storeDir, name) === p) {
      return `text:${toSRI(sha256(text))}`;
    }
  } catch {
    /* not a text object */
  }
  return undefined;
}

export async function recoverDatabase(store: Store, opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<RecoverReport> {
  const present = store.storeObjects();
  const valid = store.validPaths(present);
  const todo = present.filter((p) => !valid.has(p));
  const report: RecoverReport = { present: present.length, alreadyValid: valid.size, registered: [], skipped: [], movedAside: store.movedAside };
  const onDisk = new Set(present);
  // Derivations first: their outputs' deriver, and their own references.
  const derivations = new Map<string, Derivation>();
  const deriverOf = new Map<string, string>();
  for (const p of present) {
    if (!p.endsWith('.drv')) continue;
    const drv = readDerivation(p, store.storeDir);
    if (!drv) continue;
    derivations.set(p, drv);
    for (const out of Object.values(drv.outputs)) if (out.path && !deriverOf.has(out.path)) deriverOf.set(out.path, p);
  }
  const infos: NewPathInfo[] = [];
  let done = 0;
  for (const p of todo) {
    const drv = derivations.get(p);
    const sink = new HashSink();
    // A .drv's references are its inputs; anything else is scanned for the objects present.
    const scanner = drv ? undefined : new ReferenceScanner(present);
    try {
      for await (const chunk of packPath(p)) {
        sink.update(chunk as Buffer);
        scanner?.update(chunk as Buffer);
      }
    } catch (e) {
      report.skipped.push({ path: p, why: `it cannot be read: ${(e as Error).message}` });
      continue;
    }
    const digest = sink.digest();
    const narHash = toSRI(digest);
    const references = drv ? derivationReferences(drv) : [...scanner!.found].sort();
    const missing = references.filter((r) => !onDisk.has(r));
    if (missing.length) {
      report.skipped.push({ path: p, why: `its input '${missing[0]}' is not in the store` });
      continue;
    }
    const info: NewPathInfo = { path: p, narHash, narSize: sink.size, references, ultimate: false };
    const deriver = deriverOf.get(p);
    if (deriver) info.deriver = deriver;
    const ca = drv ? undefined : contentAddress(p, store.storeDir, digest, narHash, references);
    if (ca) info.ca = ca;
    if (drv) {
      info.derivationOutputs = {};
      for (const [o, out] of Object.entries(drv.outputs)) if (out.path) info.derivationOutputs[o] = out.path;
    }
    infos.push(info);
    opts.onProgress?.(++done, todo.length);
  }
  // A skipped object cannot be referred to: drop what refers to it, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    const skipped = new Set(report.skipped.map((s) => s.path));
    for (let i = infos.length - 1; i >= 0; i--) {
      const bad = infos[i].references.find((r) => skipped.has(r));
      if (bad === undefined) continue;
      report.skipped.push({ path: infos[i].path, why: `its reference '${bad}' was not recovered` });
      infos.splice(i, 1);
      changed = true;
    }
  }
  store.registerRecovered(infos);
  report.registered = infos;
  return report;
}
