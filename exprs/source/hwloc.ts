/**
 * hwloc (Portable Hardware Locality) built from source: Debian's upstream tarball, with
 * autotools' configure, make, make check and make install; the library and its tools (lstopo
 * without a graphical or Cairo output, hwloc-bind, hwloc-calc, ...).
 *
 * Nothing optional that needs a package outside the store is probed: no Cairo, X11, CUDA,
 * OpenCL, NVML, ROCm SMI, oneAPI Level Zero, GL or libudev. XML is read and written by hwloc's
 * own parser (--disable-libxml2): with libxml2, hwloc.pc would require libxml-2.0 (its
 * Requires.private), which pkg-config then has to find for every package using hwloc. PCI
 * devices are discovered from sysfs (Linux I/O discovery, without libpciaccess); it stays
 * enabled, as the tests of hwloc's recorded topologies with PCI devices expect it.
 *
 * The check phase runs `make check`: 181 tests, of which 180 pass and one is skipped, the
 * gather-topology test, which needs the build machine's real /sys (HWLOC_TEST_GATHER_TOPOLOGY=0
 * skips it; the sandbox has no /sys, so PCI discovery finds nothing there, while the recorded
 * topologies bring their own). The shmem test adopts a topology in a
 * second process, which it started through system() and so /bin/sh: a patch runs the program
 * itself with fork and exec (hwloc-shmem-exec.patch).
 *
 *   store realize exprs/source/hwloc.ts
 */
import { mkDerivation, fetchDebianSource, path, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'hwloc',
  version: '2.9.0-1',
  file: 'hwloc_2.9.0.orig.tar.bz2',
  sha256: 'b3fb1a43a14d8fbcd8e976de5ede2ea7ce1d768ed173adb33c7ceaaf098dc970',
});

/** Built with the packages it links (`buildInputs`). */
export function makeHwloc(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'hwloc',
    version: '2.9.0',
    src,
    patches: [path('./hwloc-shmem-exec.patch')],
    configureFlags: [
      '--disable-static',
      '--disable-libxml2',
      '--disable-cairo',
      '--without-x',
      '--disable-cuda',
      '--disable-opencl',
      '--disable-nvml',
      '--disable-rsmi',
      '--disable-levelzero',
      '--disable-gl',
      '--disable-libudev',
      '--disable-doxygen',
    ],
    // The library's assertions in headers name them by absolute path (-I of the source tree's
    // include/): the tree's prefix is mapped away, so they name them relative to it.
    preConfigure: 'export CFLAGS="-g -O2 -ffile-prefix-map=$PWD/="',
    // The test scripts that configure writes (from their .in templates) start with #!/bin/sh.
    postConfigure: 'patchShebangs .',
    doCheck: true,
    preCheck: 'export HWLOC_TEST_GATHER_TOPOLOGY=0',
    postInstall: 'if grep -n "^Requires" "$out"/lib/pkgconfig/hwloc.pc | grep -v ": *$"; then exit 1; fi',
  });
}

export const hwloc = makeHwloc();

export default hwloc;
