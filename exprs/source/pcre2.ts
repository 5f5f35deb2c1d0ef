/**
 * PCRE2 built from source: Debian's upstream tarball, with autotools' configure, make, make check
 * and make install: the 8-, 16- and 32-bit libraries (libpcre2-8, -16, -32, as cmsdist enables
 * them) and libpcre2-posix, shared only, with the JIT compiler; pcre2.h, the libpcre2-*.pc files
 * and pcre2-config; pcre2grep reading .gz and .bz2 files (zlib, libbz2: cmsdist's recipe requires
 * both) and pcre2test. `make check` runs RunTest (pcre2test's test files for each code unit
 * width, interpreted and JIT), pcre2_jit_test, pcre2posix_test and RunGrepTest (pcre2grep's).
 * RunGrepTest's script callouts run /bin/echo, which the sandbox does not have: they run the
 * stdenv's echo instead (the expected output does not name the program). The installed README
 * names /build/pcre2/pcre2-xxx as an example directory: it is reworded to /home/user/pcre2/…,
 * so that no file of the output names /build; and the manual's examples of an installation
 * prefix (/usr/local: "cc -I/usr/local/include …") name this package's prefix instead.
 *
 *   store realize exprs/source/pcre2.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';
import { zlib } from './zlib.ts';
import { bzip2 } from './bzip2.ts';

export const src = fetchDebianSource({
  source: 'pcre2',
  version: '10.42-1+deb12u2',
  file: 'pcre2_10.42.orig.tar.gz',
  sha256: 'c33b418e3b936ee3153de2c61cc638e7e4fe3156022a5c77d0711bcbb9d64f1f',
});

/** Built with the packages it links (`buildInputs`; cmsdist's recipe: bz2lib, zlib). */
export function makePcre2(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'pcre2',
    version: '10.42',
    src,
    configureFlags: [
      '--disable-static', '--enable-jit', '--enable-pcre2-16', '--enable-pcre2-32',
      '--enable-pcre2grep-libz', '--enable-pcre2grep-libbz2',
    ],
    postPatch: [
      String.raw`sed -i "s#/bin/echo|#$(type -P echo)|#g" RunGrepTest && ! grep -q 'C./bin/echo' RunGrepTest`,
      // The README's example of a build directory, /build/pcre2/pcre2-xxx, would look like a
      // reference to this build's directory: it is given as /home/user/pcre2/pcre2-xxx.
      "sed -i 's#/build/pcre2/#/home/user/pcre2/#g' README doc/html/README.txt",
    ].join('\n'),
    doCheck: true,
    // The manual's examples of an installation prefix, /usr/local, say this one.
    postInstall: String.raw`grep -rlF /usr/local $out/share | while read -r f; do sed -i "s#/usr/local#$out#g" "$f"; done`,
  });
}

export const pcre2 = makePcre2({ buildInputs: [bzip2, zlib] });

export default pcre2;
