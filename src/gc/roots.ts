/**
 * GC roots. An out-link such as ./result is an indirect root: `var/gcroots/auto/<hash>` points
 * at the link, so moving or deleting the link is noticed, as in Nix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { StoreError } from '../errors.js';
import type { StoreLayout } from '../store/root.js';

function replaceSymlink(target: string, link: string): void {
  const tmp = `${link}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

/** Make `link` point at `storePath` and register it as an indirect root. */
export function addOutLink(layout: StoreLayout, link: string, storePath: string): void {
  const abs = path.resolve(link);
  if (abs.startsWith(layout.storeDir + '/')) throw new StoreError('USAGE', `cannot put an out-link inside the store: ${abs}`);
  try {
    const st = fs.lstatSync(abs);
    if (!st.isSymbolicLink()) throw new StoreError('USAGE', `'${abs}' exists and is not a symlink; not replacing it with an out-link`, { hint: 'use --out-link PATH or remove it' });
  } catch (e) {
    if (e instanceof StoreError) throw e;
  }
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  replaceSymlink(storePath, abs);
  const auto = path.join(layout.gcRootsDir, 'auto');
  fs.mkdirSync(auto, { recursive: true });
  const name = createHash('sha256').update(abs).digest('hex').slice(0, 32);
  replaceSymlink(abs, path.join(auto, name));
}
