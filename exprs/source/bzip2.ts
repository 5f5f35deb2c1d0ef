/**
 * bzip2 (libbz2) built from source: Debian's upstream tarball. bzip2 has no configure script:
 * its Makefile builds the static library and the programs, Makefile-libbz2_so the shared
 * library; `make check` compresses and decompresses its sample files.
 *
 *   store realize exprs/source/bzip2.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'bzip2',
  version: '1.0.8-5',
  file: 'bzip2_1.0.8.orig.tar.gz',
  sha256: 'ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269',
});

/** Built with the packages it links (`buildInputs`). */
export function makeBzip2(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'bzip2',
    version: '1.0.8',
    src,
    // Both Makefiles name gcc; -fPIC for the static library too (it is linked into shared ones).
    makeFlags: ['CC=cc', 'AR=ar', 'RANLIB=ranlib'],
    buildPhase: 'make -f Makefile-libbz2_so $makeFlags CFLAGS="$CFLAGS" && make $makeFlags CFLAGS="$CFLAGS"',
    env: { CFLAGS: '-O2 -fPIC -D_FILE_OFFSET_BITS=64' },
    doCheck: true,
    checkTarget: 'test',
    installPhase: [
      'make $makeFlags install PREFIX=$out',
      // The shared library and its links, as the static one's Makefile does not install them.
      'cp libbz2.so.1.0.8 $out/lib/',
      'ln -s libbz2.so.1.0.8 $out/lib/libbz2.so.1.0',
      'ln -s libbz2.so.1.0 $out/lib/libbz2.so',
      // The programs' links are absolute names of the build: make them relative.
      'cd $out/bin && for l in bzcmp bzegrep bzfgrep bzless; do [ -L $l ] && ln -sf "$(basename "$(readlink $l)")" $l; done',
      // The scripts put the host's /usr/bin and /bin first on PATH: they run with the caller's.
      "sed -i -e 's|^PATH=\"/usr/bin:/bin:|PATH=\"|' -e 's|^PATH=\"/usr/bin:|PATH=\"|' bzdiff bzgrep bzmore",
    ].join('\n'),
  });
}

export const bzip2 = makeBzip2();

export default bzip2;
