/**
 * A profile generation as a store path, as Nix's user environment: the installed packages
 * merged into one symlink tree by the buildEnv linker (src/realize/buildenv.ts), with the
 * manifest — what is installed and where it came from — as `manifest.json` at its top.
 *
 * The path is content-addressed (its archive and references), so the same installed set
 * gives the same path; nothing that varies (times, the user) goes inside. Its references are
 * found by scanning it: the installed paths (named by the manifest) and whatever store paths
 * the links lead into. A package that is a single file rather than a directory cannot be
 * merged: it stays in the manifest, and so in the generation's closure, but adds no links (as
 * Nix, which leaves such a package out of the user environment with a warning).
 */
import fs from 'node:fs';
import { StoreError, isStoreError } from '../errors.js';
import { canonicaliseTree, removeTree } from '../archive/canonical.js';
import { linkEnvironment } from '../realize/buildenv.js';
import { hashAndScan } from '../realize/scan.js';
import type { Store } from '../store/store.js';
import { makeStorePath, typeWithReferences } from '../store/path.js';
import { MANIFEST_FILE, type Manifest } from './profiles.js';

/** The store name of every generation (`<hash>-profile`, as Nix's). */
export const GENERATION_NAME = 'profile';

/** Every package gets the buildEnv default priority: two that provide one file collide. */
const PRIORITY = 5;

export interface NewGeneration {
  path: string;
  manifest: Manifest;
  /** Installed paths that are files, not directories: in the manifest, but not linked. */
  unlinked: string[];
}

/** The manifest as it is written: elements sorted by name, then path. */
export function canonicalManifest(manifest: Manifest): Manifest {
  const elements = [...manifest.elements].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { version: 1, elements };
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Link the manifest's packages into a new environment and add it to the store (temporarily
 * rooted by this process); the installed paths must be valid and rooted by the caller.
 */
export async function writeGeneration(store: Store, manifest: Manifest): Promise<NewGeneration> {
  const m = canonicalManifest(manifest);
  const paths = [...new Set(m.elements.map((e) => e.path))].sort();
  for (const p of paths) store.pathInfo(p);
  const linked = paths.filter(isDirectory);
  const unlinked = paths.filter((p) => !linked.includes(p));
  const closure = store.queryClosure(paths);
  const temp = store.tempPath('profile');
  try {
    try {
      linkEnvironment({ packages: linked.map((p) => ({ path: p, priority: PRIORITY })), pathsToLink: [''], ignoreCollisions: false, copyFiles: [] }, temp, { storeDir: store.storeDir, visible: closure });
    } catch (e) {
      if (!isStoreError(e)) throw e;
      throw new StoreError('USAGE', e.message.replace(/^buildEnv: /, 'cannot make the profile: '), {
        hint: 'remove one of the two packages from the profile (store profile remove NAME) before installing the other',
      });
    }
    // The profile's own manifest wins over a package's top-level manifest.json.
    const file = `${temp}/${MANIFEST_FILE}`;
    fs.rmSync(file, { force: true, recursive: true });
    fs.writeFileSync(file, JSON.stringify(m, null, 2) + '\n');
    canonicaliseTree(temp);
    const h = await hashAndScan(temp, closure);
    const storePath = makeStorePath(typeWithReferences('source', h.references), h.digest.toString('hex'), store.storeDir, GENERATION_NAME);
    store.addTempRoots([storePath]);
    if (!store.isValid(storePath)) {
      store.commitPath(temp, { path: storePath, narHash: h.narHash, narSize: h.narSize, references: h.references, ca: `nar:${h.narHash}`, ultimate: true });
    }
    return { path: storePath, manifest: m, unlinked };
  } finally {
    removeTree(temp);
  }
}
