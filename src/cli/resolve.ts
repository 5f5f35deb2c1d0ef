/** Turning what a user typed (a store path, ./result, a path inside an object) into a valid store path. */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import { toStorePath } from '../store/path.js';

export function resolveInstallable(store: LocalStore, arg: string, cwd: string): string {
  let p = path.resolve(cwd, arg);
  if (!p.startsWith(store.storeDir + '/')) {
    // A link such as ./result: follow it into the store.
    try {
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) p = path.resolve(path.dirname(p), fs.readlinkSync(p));
    } catch {
      throw new StoreError('NOT_IN_STORE', `'${arg}' does not exist`);
    }
  }
  const sp = toStorePath(p, store.storeDir);
  store.parse(sp);
  return sp;
}
