/**
 * Build tools in the store: CMake and pkg-config (pkgconf), Debian packages pinned in
 * ./bootstrap/build-tools.ts and relocated
 * into the store like every Debian package, for packages built from source that take them as
 * `nativeBuildInputs`:
 *
 *   mkDerivation({ pname: 'hepmc3', version: '3.1.2', src, nativeBuildInputs: [buildTools.cmake], … })
 *
 * CMake finds its modules next to its program (`bin/cmake` and `share/cmake-3.25`), which Debian
 * splits into cmake and cmake-data; pkg-config is a link to pkgconf, in pkgconf-bin: each pair is
 * unpacked as one store path.
 */
import { once } from './context.js';
import { debianPackages } from './debian.js';
import type { Drv } from './drv.js';
import BUILD_TOOLS_SET from './bootstrap/build-tools.js';

export { BUILD_TOOLS_SET };

export interface BuildTools {
  /** cmake, ctest and cpack, with CMake's modules. */
  readonly cmake: Drv;
  /** pkg-config (pkgconf). */
  readonly pkgconf: Drv;
}

function packages(): Record<string, Drv> {
  return once('build-tools', () => debianPackages(BUILD_TOOLS_SET, { groups: [['cmake', 'cmake-data'], ['pkgconf', 'pkgconf-bin']] }));
}

/** The store's build tools; each is made on first use, during an evaluation. */
export const buildTools: BuildTools = {
  get cmake() {
    return packages().cmake;
  },
  get pkgconf() {
    return packages().pkgconf;
  },
};
