/**
 * The store's C/C++ toolchain: GCC 12, binutils and the C library from a pinned Debian set
 * (./bootstrap/toolchain.ts), relocated into the store like every Debian package, and put
 * together by a compiler wrapper (./cc-wrapper/) — `cc`, `c++`, `gcc`, `g++`, `cpp` and `ld`
 * scripts run by the stdenv's bash — that gives the compiler its programs, headers and
 * libraries in the store, and nothing of the host: -B for GCC's own directory, --sysroot for
 * the C library, -nostdinc and explicit header directories, the store's dynamic loader and
 * run paths into the store, -frandom-seed and -ffile-prefix-map for deterministic output.
 *
 * `stdenv.cc` is this toolchain (stdenv.ts); `mkDerivation` puts it on PATH unless a package
 * takes `stdenvNoCC`.
 */
import { fileURLToPath } from 'node:url';
import { derivation, type Drv } from './drv.js';
import { sourcePath } from './path.js';
import { debianPackages } from './debian.js';
import TOOLCHAIN_SET from './bootstrap/toolchain.js';

export { TOOLCHAIN_SET };

const here = (f: string) => fileURLToPath(new URL(`../../../src/expr/cc-wrapper/${f}`, import.meta.url));

/** The toolchain's Debian packages whose libraries programs load at run time. */
export const CC_RUNTIME_PACKAGES = ['libc6', 'libstdc++6', 'libgomp1', 'libatomic1', 'libquadmath0', 'libitm1', 'libasan8', 'liblsan0', 'libtsan2', 'libubsan1', 'libcrypt1', 'libcc1-0'] as const;

export interface CcWrapperOptions {
  /** The shell that runs the wrappers and the builder. */
  shell: string;
  /** PATH of the builder: coreutils, sed, grep, findutils. */
  path: string;
  /** The tools that relocate the Debian packages (default: the store's bootstrap tools). */
  tools?: Drv;
}

/** The wrapped toolchain: $out/bin/{cc,gcc,c++,g++,cpp,ld,ar,…}. */
export function ccWrapper(opts: CcWrapperOptions): Drv {
  const pk = debianPackages(TOOLCHAIN_SET, opts.tools ? { tools: opts.tools } : {});
  const version = TOOLCHAIN_SET.packages['gcc-12'].version.replace(/-.*$/, '');
  return derivation({
    name: `gcc-wrapper-${version}`,
    builder: opts.shell,
    args: ['-e', sourcePath(here('build.sh'), { name: 'cc-wrapper-build.sh' })],
    env: {
      shell: opts.shell,
      PATH: opts.path,
      ccWrapper: sourcePath(here('cc-wrapper.sh'), { name: 'cc-wrapper.sh' }),
      ldWrapper: sourcePath(here('ld-wrapper.sh'), { name: 'ld-wrapper.sh' }),
      gcc: pk['gcc-12'],
      cpp: pk['cpp-12'],
      gxx: pk['g++-12'],
      binutils: pk['binutils-x86-64-linux-gnu'],
      libgccDev: pk['libgcc-12-dev'],
      libstdcxxDev: pk['libstdc++-12-dev'],
      libcDev: pk['libc6-dev'],
      linuxHeaders: pk['linux-libc-dev'],
      libcryptDev: pk['libcrypt-dev'],
      libc: pk.libc6,
      runtimeLibs: CC_RUNTIME_PACKAGES.map((n) => pk[n]),
    },
  });
}
