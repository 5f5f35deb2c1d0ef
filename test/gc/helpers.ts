/** Helpers for the GC tests: small stores with known reference graphs, roots, and disk checks. */
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import type { LocalStore, NewPathInfo } from '../../src/store/local-store.js';
import { hashPath } from '../../src/archive/dump.js';
import { placeWithReferences } from '../helpers.js';
import { databaseOf } from '../../src/store/db.js';

/** Place (and register) a path named `name` whose content mentions its references. */
export async function put(store: LocalStore, name: string, refs: string[] = [], opts: { register?: boolean; deriver?: string; size?: number } = {}): Promise<string> {
  const body = `${name}\n${refs.join('\n')}\n${'x'.repeat(opts.size ?? 0)}`;
  const info = await placeWithReferences(store, name, { data: body }, refs, { register: opts.register, deriver: opts.deriver });
  return info.path;
}

/** A direct root: var/gcroots/NAME → path. */
export function gcroot(store: LocalStore, name: string, target: string): string {
  const link = path.join(store.layout.gcRootsDir, name);
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { force: true });
  fs.symlinkSync(target, link);
  return link;
}

/** Entries of the store directory (full paths), sorted. */
export function onDisk(store: { storeDir: string }): string[] {
  return fs
    .readdirSync(store.storeDir)
    .map((f) => path.join(store.storeDir, f))
    .sort();
}

/** The store is consistent: valid paths are exactly what is on disk, and nothing else is there. */
export function assertClean(store: LocalStore, msg = ''): void {
  assert.equal(onDisk(store), store.allValidPaths(), `store directory == valid paths ${msg}`);
  const refs = databaseOf(store).prepare('SELECT count(*) AS n FROM Refs r LEFT JOIN ValidPaths v ON v.id = r.reference WHERE v.id IS NULL').get() as { n: number };
  assert.is(refs.n, 0, 'no dangling references');
}

/** narSize of every entry of the store directory, measured on disk (not from the database). */
export async function diskNarSizes(store: { storeDir: string }): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const p of onDisk(store)) out.set(p, (await hashPath(p)).narSize);
  return out;
}

export function countRows(store: LocalStore, table: string): number {
  return (databaseOf(store).prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

/** Place a fake .drv (not registered yet: register it with registerDrv once its outputs exist). */
export async function placeDrv(store: LocalStore, name: string, refs: string[]): Promise<NewPathInfo> {
  return placeWithReferences(store, `${name}.drv`, { d: `drv ${name} ${refs.join(' ')}` }, refs, { register: false });
}

/** Register a placed .drv with its outputs, the way writeDerivations does. */
export function registerDrv(store: LocalStore, info: NewPathInfo, outputs: Record<string, string>): string {
  store.registerValidPaths([{ ...info, derivationOutputs: outputs }]);
  return info.path;
}
