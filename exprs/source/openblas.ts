/**
 * OpenBLAS built from source: Debian's upstream tarball, by its Makefiles, for one CPU target
 * (TARGET=HASWELL: AVX2 kernels, no run-time dispatch), threaded with pthreads, no Fortran.
 * Debian repacks the tarball without `lapack-netlib/` (it builds LAPACK from its own lapack
 * package), so there is no LAPACK to build here, neither Fortran nor the C translation that
 * `C_LAPACK=1` compiles: this is OpenBLAS's BLAS and CBLAS (NO_LAPACK=1). The library is
 * installed as libopenblas.so.0 with the generic names of a BLAS beside it (libblas.so.3,
 * libcblas.so.3, as Debian's alternatives name it), so that programs linked against a generic
 * BLAS find this one. The check phase runs OpenBLAS's C unit tests (utest); its BLAS tests
 * (test/, ctest/) are drivers written in Fortran, which the store cannot compile.
 *
 *   store realize exprs/source/openblas.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'openblas',
  version: '0.3.21+ds-4',
  file: 'openblas_0.3.21+ds.orig.tar.xz',
  sha256: 'bbec5cca61c8033b2d57aaecde205d709323a0b35a5f193290081dbb3826848a',
});

/** The make variables of every step: the same in build, check and install. */
const FLAGS = [
  'TARGET=HASWELL',
  'DYNAMIC_ARCH=0',
  'NO_FORTRAN=1',
  'NO_LAPACK=1',
  'NO_LAPACKE=1',
  'USE_OPENMP=0',
  'USE_THREAD=1',
  'NUM_THREADS=64',
  'NO_AFFINITY=1',
  'NO_STATIC=1',
  'CC=cc',
  'HOSTCC=cc',
  'PREFIX=$(out)',
];

/** Built with the packages it links (`buildInputs`). */
export function makeOpenblas(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'openblas',
    version: '0.3.21',
    src,
    makeFlags: FLAGS,
    // `make` alone also runs the tests; they are the check phase's.
    buildPhase: 'make -j${HEPSTORE_BUILD_CORES:-1} $makeFlags libs netlib shared',
    doCheck: true,
    checkPhase: 'make $makeFlags tests',
    installPhase: `
make $makeFlags install
for name in libblas.so.3 libblas.so libcblas.so.3 libcblas.so; do ln -s libopenblas.so.0 "$out/lib/$name"; done
`,
  });
}

export const openblas = makeOpenblas();

export default openblas;
