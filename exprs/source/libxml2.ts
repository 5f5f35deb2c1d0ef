/**
 * libxml2 built from source: Debian's upstream tarball, with autotools' configure, make and
 * make install; with zlib and liblzma (xz), without the Python bindings, ICU or readline.
 *
 * Debian's tarball leaves out upstream's test/ and result/ directories (the test documents and
 * their expected outputs), so `make check`'s runtest (and its fuzz seeds, testThreads, runsuite,
 * runxmlconf) have nothing to run on: runtest fails on its threads test, which needs
 * test/threads/. The check phase runs those of `make check`'s programs that need no test files:
 * testapi (every public function, with generated arguments), testchar (character handling of
 * the parser), testdict (dictionaries) and testrecurse (entity recursion detection, on its
 * generated huge document).
 *
 * xml2-config leaves -L<libdir> out of `--libs` when the library directory is the host's
 * /usr/lib or /usr/lib64: here it is always in the store, so the test is taken out (the script
 * then names no host directory). The HTML documentation (share/doc/, whose change log names host
 * directories) is not installed; the manual pages are.
 *
 *   store realize exprs/source/libxml2.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';
import { zlib } from './zlib.ts';
import { xz } from './xz.ts';

export const src = fetchDebianSource({
  source: 'libxml2',
  version: '2.9.14+dfsg-1.3~deb12u6',
  file: 'libxml2_2.9.14+dfsg.orig.tar.xz',
  sha256: '4fe913dec8b1ab89d13b489b419a8203176ea39e931eaa0d25b17eafb9c279e9',
});

/** Built with the packages it links (`buildInputs`: zlib and xz). */
export function makeLibxml2(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'libxml2',
    version: '2.9.14',
    src,
    configureFlags: ['--without-python', '--without-icu', '--without-readline', '--without-history', '--with-zlib', '--with-lzma', '--disable-static'],
    postPatch: `
      sed -i 's|if \\[ "@XML_LIBDIR@" != "-L/usr/lib" -a "@XML_LIBDIR@" != "-L/usr/lib64" \\]; then|if true; then|' xml2-config.in
      if grep -n /usr/lib xml2-config.in; then exit 1; fi
    `,
    doCheck: true,
    checkPhase: `
      make -j\${HEPSTORE_BUILD_CORES:-1} testapi testchar testdict testrecurse
      ./testapi
      ./testchar
      ./testdict
      ./testrecurse
    `,
    postInstall: 'rm -rf "$out"/share/doc "$out"/share/gtk-doc',
  });
}

export const libxml2 = makeLibxml2({ buildInputs: [xz, zlib] });

export default libxml2;
