/**
 * Eigen built from source: Debian's upstream tarball, by CMake; header-only, installed as its
 * headers (include/eigen3/, with unsupported/), Eigen3Config.cmake (share/eigen3/cmake/) and
 * eigen3.pc. Its test suite (several hundred programs, each a long compilation) is far too large
 * to build here; the check phase builds and runs a representative subset with ctest:
 * basicstuff (the core: construction, arithmetic, comparisons, casts) and cholesky (LLT and
 * LDLT decompositions and solvers), each as one program (EIGEN_SPLIT_LARGE_TESTS off: Eigen
 * would otherwise compile every part of a test separately).
 * Eigen's BLAS and LAPACK and its documentation (doxygen) are not built.
 *
 *   store realize exprs/source/eigen.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'eigen3',
  version: '3.4.0-4',
  file: 'eigen3_3.4.0.orig.tar.bz2',
  sha256: 'b4c198460eba6f28d34894e3a5710998818515104d6e74e5cc331ce31e46e626',
});

/** The tests the check phase builds and runs. */
const TESTS = ['basicstuff', 'cholesky'];

/** Built with the packages it links (`buildInputs`: none). */
export function makeEigen(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'eigen',
    version: '3.4.0',
    src,
    nativeBuildInputs: [buildTools.cmake],
    cmakeFlags: ['-DBUILD_TESTING=ON', '-DEIGEN_SPLIT_LARGE_TESTS=OFF', '-DEIGEN_BUILD_DOC=OFF'],
    doCheck: true,
    checkPhase: `
      make -j\${HEPSTORE_BUILD_CORES:-1} ${TESTS.join(' ')}
      ctest --output-on-failure -j\${HEPSTORE_BUILD_CORES:-1} -R '^(${TESTS.join('|')})(_[0-9]+)?$'
    `,
  });
}

export const eigen = makeEigen();

export default eigen;
