/**
 * FFTW built from source: Debian's upstream tarball, in double precision with its threads
 * library (libfftw3, libfftw3_threads), without the Fortran wrappers (the store has no Fortran
 * compiler), with fftw3.pc and FFTW3Config.cmake. Built by FFTW's CMake build, whose tests
 * ctest runs (bench's self-tests): the autotools build's `make check` is a perl script
 * (tests/check.pl), and the store has no perl. FFTW 3.3.10's CMakeLists.txt swaps the
 * library's VERSION and SOVERSION (soname libfftw3.so.3.6.9); they are set as the autotools
 * build has them (libfftw3.so.3.6.10, soname libfftw3.so.3). SSE2 (part of x86-64) is on; AVX is
 * not, since this build would compile the whole library, not only its AVX codelets, with -mavx.
 * FFTW's assertions name their source file (__FILE__), which CMake gives the compiler as an
 * absolute path in the build directory: the source tree's prefix is mapped away
 * (-ffile-prefix-map), so that they name it relative to the tree, as with the autotools build.
 * FFTW 3.3.10's CMakeLists.txt still says 3.3.9 (FFTW_VERSION): fftw_version and fftw3.pc's
 * Version say 3.3.9.
 *
 *   store realize exprs/source/fftw3.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'fftw3',
  version: '3.3.10-1',
  file: 'fftw3_3.3.10.orig.tar.gz',
  sha256: '56c932549852cddcfafdab3820b0200c7742675be92179e59e6215b340e26467',
});

/** Built with the packages it links (`buildInputs`). */
export function makeFftw3(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'fftw3',
    version: '3.3.10',
    src,
    postPatch: "sed -i 's/SOVERSION 3\\.6\\.9 VERSION 3)/SOVERSION 3 VERSION 3.6.10)/' CMakeLists.txt && grep -q 'SOVERSION 3 VERSION 3.6.10' CMakeLists.txt",
    preConfigure: 'cmakeFlags="$cmakeFlags -DCMAKE_C_FLAGS=-ffile-prefix-map=$PWD/="',
    nativeBuildInputs: [buildTools.cmake],
    cmakeFlags: ['-DBUILD_SHARED_LIBS=ON', '-DBUILD_TESTS=ON', '-DENABLE_THREADS=ON', '-DDISABLE_FORTRAN=ON', '-DENABLE_SSE2=ON'],
    doCheck: true,
  });
}

export const fftw3 = makeFftw3();

export default fftw3;
