/**
 * TinyXML-2 built from source: Debian's upstream tarball, by CMake; ctest runs its xmltest.
 *
 *   store realize exprs/source/tinyxml2.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'tinyxml2',
  version: '9.0.0+dfsg-3.1',
  file: 'tinyxml2_9.0.0+dfsg.orig.tar.xz',
  sha256: '96510f47a5db537f70dff3e83dd71fd2180cbba4aa76c589a549467e7f34bc9b',
});

/** Built with the packages it links (`buildInputs`). */
export function makeTinyxml2(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'tinyxml2',
    version: '9.0.0',
    src,
    nativeBuildInputs: [buildTools.cmake],
    cmakeFlags: ['-DBUILD_SHARED_LIBS=ON', '-Dtinyxml2_BUILD_TESTING=ON'],
    doCheck: true,
  });
}

export const tinyxml2 = makeTinyxml2();

export default tinyxml2;
