/**
 * HepMC3 built from source: Debian's upstream tarball, built by CMake (the core library and
 * its search library; no ROOT, Python, examples or documentation); ctest runs its tests.
 *
 *   store realize exprs/source/hepmc3.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'hepmc3',
  version: '3.1.2-2',
  file: 'hepmc3_3.1.2.orig.tar.gz',
  sha256: '4133074b3928252877982f3d4b4c6c750bb7a324eb6c7bb2afc6fa256da3ecc7',
});

/** Built with the packages it links (`buildInputs`). */
export function makeHepmc3(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'hepmc3',
    version: '3.1.2',
    src,
    nativeBuildInputs: [buildTools.cmake],
    cmakeFlags: ['-DHEPMC3_ENABLE_ROOTIO=OFF', '-DHEPMC3_ENABLE_PYTHON=OFF', '-DHEPMC3_BUILD_EXAMPLES=OFF', '-DHEPMC3_BUILD_DOCS=OFF', '-DHEPMC3_ENABLE_TEST=ON', '-DHEPMC3_INSTALL_INTERFACES=OFF'],
    doCheck: true,
  });
}

export const hepmc3 = makeHepmc3();

export default hepmc3;
