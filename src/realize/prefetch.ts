/**
 * `store prefetch URL`: download a file once, by the same code and limits as
 * `builtin:fetchurl`, and add it to the store at the path that `fetchurl({ url, integrity })`
 * gives — so the expression written with the printed integrity finds it there and fetches
 * nothing again (as nix-prefetch-url).
 */
import fs from 'node:fs';
import { StoreError } from '../errors.js';
import { removeTree, STORE_MTIME, MODE_FILE, MODE_EXECUTABLE } from '../archive/canonical.js';
import { hashPath } from '../archive/dump.js';
import { fixedOutputPath } from '../derivation/paths.js';
import { hashFile } from '../hash/file.js';
import { toSRI } from '../hash/sri.js';
import type { Store } from '../store/store.js';
import { validateName } from '../store/path.js';
import { fetchToFile, type Mirrors } from './fetch.js';
import type { Timeouts } from '../net/http.js';

export interface PrefetchOptions {
  name: string;
  /** As fetchurl's `executable`: the file is made executable and hashed as an archive. */
  executable?: boolean;
  mirrors?: Mirrors;
  timeouts?: Timeouts;
  log?: (line: string) => void;
}

export interface Prefetched {
  path: string;
  /** What fetchurl's `integrity` takes: the file's sha256, or with `executable` its archive's. */
  integrity: string;
  size: number;
  /** Whether the path was already valid (nothing added). */
  existed: boolean;
}

export async function prefetchUrl(store: Store, url: string, o: PrefetchOptions): Promise<Prefetched> {
  validateName(o.name, `name for '${url}'`);
  const temp = store.tempPath('prefetch');
  try {
    try {
      await fetchToFile(url, temp, { log: o.log ?? (() => {}), mirrors: o.mirrors, timeouts: o.timeouts });
    } catch (e) {
      throw new StoreError('IO', `cannot download '${url}': ${(e as Error).message.replace(/^cannot fetch '[^']*': /, '')}`, { cause: e, hint: (e as StoreError).hint });
    }
    fs.chmodSync(temp, o.executable ? MODE_EXECUTABLE : MODE_FILE);
    fs.utimesSync(temp, STORE_MTIME, STORE_MTIME);
    const flat = await hashFile(temp);
    const nar = await hashPath(temp);
    const integrity = o.executable ? nar.narHash : flat.integrity;
    const hex = (o.executable ? nar.digest : flat.digest).toString('hex');
    const storePath = fixedOutputPath(store.storeDir, o.name, o.executable ? 'r:sha256' : 'sha256', hex);
    store.addTempRoots([storePath]);
    const existed = store.isValid(storePath);
    if (!existed) {
      store.commitPath(temp, {
        path: storePath,
        narHash: nar.narHash,
        narSize: nar.narSize,
        references: [],
        ca: `${o.executable ? 'nar' : 'flat'}:${o.executable ? nar.narHash : toSRI(flat.digest)}`,
        ultimate: true,
      });
    }
    return { path: storePath, integrity, size: flat.size, existed };
  } finally {
    removeTree(temp);
  }
}
