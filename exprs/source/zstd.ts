/**
 * Zstandard (libzstd and the zstd programs) built from source: Debian's upstream tarball, by
 * zstd's CMake build (build/cmake/, as cmsdist builds it): shared and static libraries, zstd.h,
 * libzstd.pc and zstdConfig.cmake; multithreading and the legacy formats on, no zlib/lzma/lz4
 * support in the zstd program (cmsdist's recipe requires none of them). ctest runs the CMake
 * build's quick tests, shortened as zstd's tests/Makefile shortens them: fullbench with -i1
 * (one pass of each benchmark), fuzzer and zstreamtest for 20 s each (-T20s; by default they
 * run 30000 tests or until stopped). playTests.sh (the zstd program's command-line tests, one of
 * zstd's "Medium" tests) passes in the sandbox too, but takes about five minutes on two cores:
 * it is left out (ctest -E playTests). The programs' error messages name their source file
 * (__FILE__), which CMake gives the compiler as an absolute path in the build directory: the
 * source tree's prefix is mapped away (-ffile-prefix-map), so that they name it relative to the
 * tree.
 *
 *   store realize exprs/source/zstd.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'libzstd',
  version: '1.5.4+dfsg2-5',
  file: 'libzstd_1.5.4+dfsg2.orig.tar.xz',
  sha256: '8cf4bbb65e77ec348d052c8d6230eba66d435bddf64c8b5be2fcb16880c19953',
});

/** Built with the packages it links (`buildInputs`). */
export function makeZstd(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'zstd',
    version: '1.5.4',
    src,
    preConfigure: 'cmakeFlags="$cmakeFlags -DCMAKE_C_FLAGS=-ffile-prefix-map=$PWD/="',
    nativeBuildInputs: [buildTools.cmake],
    cmakeDir: 'build/cmake',
    cmakeFlags: [
      '-DZSTD_BUILD_SHARED=ON', '-DZSTD_BUILD_STATIC=ON', '-DZSTD_BUILD_PROGRAMS=ON',
      '-DZSTD_MULTITHREAD_SUPPORT=ON', '-DZSTD_LEGACY_SUPPORT=ON',
      '-DZSTD_ZLIB_SUPPORT=OFF', '-DZSTD_LZMA_SUPPORT=OFF', '-DZSTD_LZ4_SUPPORT=OFF',
      '-DZSTD_BUILD_TESTS=ON', '-DZSTD_FULLBENCH_FLAGS=-i1', '-DZSTD_FUZZER_FLAGS=-T20s', '-DZSTD_ZSTREAM_FLAGS=-T20s',
    ],
    doCheck: true,
    checkFlags: ['-E', 'playTests'],
  });
}

export const zstd = makeZstd();

export default zstd;
