/**
 * oneTBB (cmsdist's tbb) built from source: Debian's upstream tarball, by CMake: libtbb,
 * libtbbmalloc, libtbbmalloc_proxy and libtbbbind_2_5 (the NUMA and hybrid-CPU support, linked
 * with the store's hwloc, which pkg-config finds among the build inputs), with the headers, the
 * CMake config files and tbb.pc. Compiler warnings are not made errors (TBB_STRICT off).
 *
 * CMake asks `uname -m` for the processor through /bin/sh, which the sandbox does not have, so
 * CMAKE_SYSTEM_PROCESSOR comes out wrong, and oneTBB's x86 options (-mrtm, -mwaitpkg: the
 * transactional memory and waitpkg instructions its mutexes and spin waits use) would be left
 * out, failing the build. oneTBB's GNU compiler settings are given the processor from the
 * stdenv's uname (a native build's).
 *
 * The build phase builds the libraries only; oneTBB's whole test suite (some 150 programs) takes
 * long to build. The check phase builds and runs, with ctest, a handful of them: the parallel
 * algorithms (test_parallel_for, test_parallel_reduce), task groups and arenas (test_task_group,
 * test_task_arena), tbbbind with hwloc (test_arena_constraints, which passes only when
 * libtbbbind_2_5 is loaded), the scalable allocator and its pools (test_scalable_allocator,
 * test_malloc_pools) and the version of the libraries against the headers (conformance_version).
 *
 *   store realize exprs/source/tbb.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';
import { hwloc } from './hwloc.ts';

export const src = fetchDebianSource({
  source: 'onetbb',
  version: '2021.8.0-2+deb12u1',
  file: 'onetbb_2021.8.0.orig.tar.xz',
  sha256: '7e9111b8bb59c8800bf6d0b06afe7b0891937443d2dae1ee1101c8e2ede6a7ef',
});

/** The tests the check phase runs (ctest's names). */
export const TESTS = [
  'test_parallel_for',
  'test_parallel_reduce',
  'test_task_group',
  'test_task_arena',
  'test_arena_constraints',
  'test_scalable_allocator',
  'test_malloc_pools',
  'conformance_version',
];

/** Built with the packages it links (`buildInputs`: hwloc). */
export function makeTbb(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'tbb',
    version: '2021.8.0',
    src,
    nativeBuildInputs: [buildTools.cmake, buildTools.pkgconf],
    postPatch: `
      printf 'set(CMAKE_SYSTEM_PROCESSOR %s)\\n' "$(uname -m)" | cat - cmake/compilers/GNU.cmake > GNU.cmake.new
      mv GNU.cmake.new cmake/compilers/GNU.cmake
    `,
    cmakeFlags: [
      '-DTBB_STRICT=OFF',
      '-DTBB_TEST=ON',
      '-DTBB_EXAMPLES=OFF',
      '-DTBB4PY_BUILD=OFF',
      // `make install` installs what is built, without building the tests first.
      '-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON',
    ],
    buildFlags: ['tbb', 'tbbmalloc', 'tbbmalloc_proxy', 'tbbbind_2_5'],
    doCheck: true,
    checkPhase: `
      make -j\${HEPSTORE_BUILD_CORES:-1} ${TESTS.join(' ')}
      ctest --output-on-failure --no-tests=error -R '^(${TESTS.join('|')})$'
    `,
  });
}

export const tbb = makeTbb({ buildInputs: [hwloc] });

export default tbb;
