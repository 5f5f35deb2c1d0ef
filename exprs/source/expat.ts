/**
 * Expat (libexpat, the XML parser, and its xmlwf program) built from source: Debian's upstream
 * tarball, which is Expat's git tree (libexpat-R_2_5_0/, the library in expat/) with no
 * generated configure script, so it is built by Expat's CMake build (expat/CMakeLists.txt):
 * the shared library, expat.h, expat.pc and expat-config.cmake. ctest runs its two test
 * programs (runtests, the C test suite, and runtests_cxx, the same compiled as C++). No
 * documentation (xmlwf's man page needs docbook2man) and no examples.
 *
 *   store realize exprs/source/expat.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'expat',
  version: '2.5.0-1+deb12u5',
  file: 'expat_2.5.0.orig.tar.gz',
  sha256: 'ab00ee05c7067fd10a35c5d2a4922ebba746ddd50ff83b79c828da17bbdf1757',
});

/** Built with the packages it links (`buildInputs`). */
export function makeExpat(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'expat',
    version: '2.5.0',
    src,
    nativeBuildInputs: [buildTools.cmake],
    cmakeDir: 'expat',
    cmakeFlags: ['-DEXPAT_BUILD_DOCS=OFF', '-DEXPAT_BUILD_EXAMPLES=OFF', '-DEXPAT_BUILD_TESTS=ON', '-DEXPAT_SHARED_LIBS=ON'],
    doCheck: true,
  });
}

export const expat = makeExpat();

export default expat;
