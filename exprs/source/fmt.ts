/**
 * {fmt} built from source: Debian's upstream tarball, by CMake, as a shared library with its
 * CMake config and pkg-config files; ctest runs its test suite. Debian's tarball leaves out the
 * copy of GoogleTest and Google Mock that fmt's tests build (test/gtest/), so GoogleTest's own
 * sources (googletest.ts) take its place: test/gtest/CMakeLists.txt is written to build the same
 * static `gtest` library (GoogleTest and Google Mock together) from them.
 *
 *   store realize exprs/source/fmt.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';
import { src as googletest, dir as googletestDir } from './googletest.ts';

export const src = fetchDebianSource({
  source: 'fmtlib',
  version: '9.1.0+ds1-2',
  file: 'fmtlib_9.1.0+ds1.orig.tar.gz',
  sha256: '84ce1c2d0be3a9863935137969dcec6970125caac032f82474640bfc81463583',
});

/** Built with the packages it links (`buildInputs`). */
export function makeFmt(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'fmt',
    version: '9.1.0',
    src,
    env: { googletest },
    // fmt's test/gtest/: one static library of GoogleTest and Google Mock, as fmt's bundled copy is.
    prePatch: `
      mkdir -p test/gtest
      tar -xf "$googletest" -C test/gtest
      cat > test/gtest/CMakeLists.txt <<'CMAKE'
set(G \${CMAKE_CURRENT_SOURCE_DIR}/${googletestDir})
add_library(gtest STATIC \${G}/googletest/src/gtest-all.cc \${G}/googlemock/src/gmock-all.cc)
target_include_directories(gtest SYSTEM PUBLIC \${G}/googletest/include \${G}/googlemock/include)
target_include_directories(gtest PRIVATE \${G}/googletest \${G}/googlemock)
target_compile_definitions(gtest PUBLIC GTEST_HAS_STD_WSTRING=1)
target_compile_features(gtest PUBLIC cxx_std_14)
find_package(Threads REQUIRED)
target_link_libraries(gtest PUBLIC Threads::Threads)
CMAKE
    `,
    nativeBuildInputs: [buildTools.cmake],
    cmakeFlags: ['-DBUILD_SHARED_LIBS=ON', '-DFMT_DOC=OFF', '-DFMT_TEST=ON', '-DFMT_INSTALL=ON'],
    doCheck: true,
  });
}

export const fmt = makeFmt();

export default fmt;
