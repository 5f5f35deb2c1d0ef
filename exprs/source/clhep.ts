/**
 * CLHEP built from source: Debian's upstream tarball (bookworm has CLHEP 2.1.4.1, not cmsdist's
 * 2.4), by its CMake build as cmsdist builds it: a shared and a static library of every package
 * (libCLHEP-Vector-2.1.4.1.so, ...) and of all of them (libCLHEP-2.1.4.1.so, libCLHEP.so), the
 * headers, CLHEPConfig.cmake, clhep.pc and the *-config scripts. ctest runs its tests: each
 * package's test programs, those with a shell script comparing their output with the reference
 * output in the source tree. The per-package shared libraries stay (cmsdist removes them; a
 * consumer may link them, and the -config scripts of the packages name them).
 *
 * CLHEP's CMake refuses a build directory inside the source tree, so the build runs beside it
 * (cmakeDir). The exceptions that CLHEP's classes throw name their source file (__FILE__, which
 * CMake gives the compiler as an absolute path in the build directory): the source tree's prefix
 * is mapped away (-ffile-prefix-map, as a compile option of every target rather than in
 * CMAKE_CXX_FLAGS, which the *-config scripts print), so that they name it relative to the tree. The test scripts that CMake writes into the build directory start with #!/bin/sh,
 * which a hermetic build has not: their #! lines are pointed at the stdenv's shell before the
 * tests run.
 *
 *   store realize exprs/source/clhep.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'clhep',
  version: '2.1.4.1+dfsg-1.1',
  file: 'clhep_2.1.4.1+dfsg.orig.tar.gz',
  sha256: '5fa203ade32adda9b70b994569cfb8b7ebb8ba556826a79cd888288d3f7cf5d9',
});

/** Built with the packages it links (`buildInputs`). */
export function makeClhep(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'clhep',
    version: '2.1.4.1',
    src,
    nativeBuildInputs: [buildTools.cmake],
    // __FILE__ relative to the source tree (a file CMake includes after project() adds the
    // option to every target); then the build directory beside the source tree: ../build.
    preConfigure: `
      printf 'add_compile_options(-ffile-prefix-map=%s/=)\\n' "$PWD" > ../file-prefix-map.cmake
      cmakeFlags="$cmakeFlags -DCMAKE_PROJECT_INCLUDE=$(cd .. && pwd)/file-prefix-map.cmake"
      cd ..
    `,
    cmakeDir: 'source',
    postConfigure: 'patchShebangs .',
    doCheck: true,
  });
}

export const clhep = makeClhep();

export default clhep;
