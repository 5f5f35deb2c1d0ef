/** Turning what a user typed (a store path, ./result, a path inside an object) into a valid store path. */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import { toStorePath } from '../store/path.js';

/** Links followed at most, as a profile is two (`default` → `default-3-link` → the store). */
const MAX_HOPS = 8;

/**
 * Follow `abs` while it is a symlink outside the store: every path on the way, from `abs` to
 * where the chain enters the store; undefined if it does not (not a link, dangling, a loop,
 * or leading elsewhere).
 */
export function linkChain(abs: string, storeDir: string): string[] | undefined {
  const chain = [abs];
  for (let hops = 0; hops <= MAX_HOPS; hops++) {
    const p = chain[chain.length - 1];
    if (p.startsWith(storeDir + '/')) return hops === 0 ? undefined : chain;
    try {
      if (!fs.lstatSync(p).isSymbolicLink()) return undefined;
      chain.push(path.resolve(path.dirname(p), fs.readlinkSync(p)));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Where a chain of links starting at `abs` enters the store (see linkChain). */
export function linkIntoStore(abs: string, storeDir: string): string | undefined {
  return linkChain(abs, storeDir)?.at(-1);
}

export function resolveInstallable(store: Store, arg: string, cwd: string): string {
  let p = path.resolve(cwd, arg);
  if (!p.startsWith(store.storeDir + '/')) {
    // A link such as ./result or a profile: follow it into the store.
    try {
      fs.lstatSync(p);
    } catch {
      throw new StoreError('NOT_IN_STORE', `'${arg}' does not exist`);
    }
    p = linkIntoStore(p, store.storeDir) ?? p;
  }
  const sp = toStorePath(p, store.storeDir);
  store.parse(sp);
  return sp;
}

/** Fail unless the .drv at `drvPath` is valid in the store and on disk, naming it. */
export function requireDerivation(store: Store, drvPath: string): void {
  if (!store.queryPathInfo(drvPath) || !fs.existsSync(drvPath)) {
    throw new StoreError('NOT_IN_STORE', `the derivation '${drvPath}' is not in the store`, { hint: 'realize the expression that makes it, which writes its .drv files; `store gc` keeps those of live outputs only' });
  }
}
