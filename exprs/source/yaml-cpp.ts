/**
 * yaml-cpp built from source: Debian's upstream tarball, by CMake, as a shared library with its
 * CMake config and pkg-config files; ctest runs its test suite (yaml-cpp-tests, GoogleTest).
 * Debian's tarball leaves out the copy of GoogleTest that the tests build (test/gtest-1.10.0/):
 * GoogleTest's own sources (googletest.ts) are unpacked and test/CMakeLists.txt pointed at them;
 * that GoogleTest needs C++14, so everything is built as C++14 (CMAKE_CXX_STANDARD).
 *
 *   store realize exprs/source/yaml-cpp.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';
import { src as googletest, dir as googletestDir } from './googletest.ts';

export const src = fetchDebianSource({
  source: 'yaml-cpp',
  version: '0.7.0+dfsg-8',
  file: 'yaml-cpp_0.7.0+dfsg.orig.tar.xz',
  sha256: 'dc63708605404e0b963e0ca3a9619d1c8270eda2839603e6fa0384e5e51e5312',
});

/** Built with the packages it links (`buildInputs`). */
export function makeYamlCpp(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'yaml-cpp',
    version: '0.7.0',
    src,
    env: { googletest },
    prePatch: `
      tar -xf "$googletest" -C test
      sed -i 's|gtest-1\\.10\\.0|${googletestDir}|g' test/CMakeLists.txt
    `,
    nativeBuildInputs: [buildTools.cmake],
    cmakeFlags: ['-DYAML_BUILD_SHARED_LIBS=ON', '-DYAML_CPP_BUILD_TESTS=ON', '-DYAML_CPP_BUILD_TOOLS=OFF', '-DCMAKE_CXX_STANDARD=14', '-DINSTALL_GTEST=OFF'],
    doCheck: true,
  });
}

export const yamlCpp = makeYamlCpp();

export default yamlCpp;
