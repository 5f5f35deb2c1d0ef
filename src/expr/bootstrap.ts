/**
 * The bootstrap: where every tool of the store comes from, with nothing of the host in any hash
 * or build (as Nix's bootstrap tools and Guix's binary seed).
 *
 * - Stage 0, the seed: pinned Debian packages (./bootstrap/set.ts, fixed-output by SHA256)
 *   unpacked unmodified by `builtin:unpack-deb`, inside hepstore: a static busybox, and a C
 *   library, patchelf, node, tar and xz with the libraries they need.
 * - Stage 1, the bootstrap tools (./bootstrap/tools.sh, run by the seed's static busybox): the
 *   seed made runnable from the store — its programs name the store's loader and libraries.
 * - Stage 2: every other Debian package is unpacked and relocated by the bootstrap tools
 *   (debian.ts), the stdenv's shell and utilities among them (stdenv.ts).
 */
import { fileURLToPath } from 'node:url';
import { derivation, type Drv } from './drv.js';
import { once } from './context.js';
import { sourcePath } from './path.js';
import { unpackDeb } from './unpack-deb.js';
import { closureNames, fetchDeb, storeVersion, type PinnedSet } from './debian.js';
import BOOTSTRAP_SET from './bootstrap/set.js';

export { BOOTSTRAP_SET };

const TOOLS_SCRIPT = fileURLToPath(new URL('../../../src/expr/bootstrap/tools.sh', import.meta.url));

/** What the seed is made of: a static shell, and what runs the relocation of everything else. */
export const SEED_ROOTS = ['busybox-static', 'nodejs', 'patchelf', 'sed', 'tar', 'xz-utils'];

/** Stage 0: the seed's packages unpacked as they are, in one store path. */
export function bootstrapSeed(): Drv {
  return once('bootstrap-seed', () => {
    const set: PinnedSet = BOOTSTRAP_SET;
    const names = closureNames(set, SEED_ROOTS);
    return unpackDeb({
      name: `bootstrap-seed-${storeVersion(set.packages.libc6.version)}`,
      debs: names.map((n) => fetchDeb(n, set.packages[n], set.command)),
    });
  });
}

/** Stage 1 from a seed (the store's own unless another is given, e.g. to test a new one). */
export function bootstrapToolsFrom(seed: Drv): Drv {
  return derivation({
    name: 'bootstrap-tools',
    builder: `${seed}/bin/busybox`,
    args: ['sh', '-e', sourcePath(TOOLS_SCRIPT, { name: 'bootstrap-tools.sh' })],
    env: { seed, busybox: `${seed}/bin/busybox` },
  });
}

/** Stage 1: node, tar, xz, patchelf and a C library, runnable from the store. */
export function bootstrapTools(): Drv {
  return once('bootstrap-tools', () => bootstrapToolsFrom(bootstrapSeed()));
}
