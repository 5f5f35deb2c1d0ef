/**
 * XZ Utils (liblzma, xz) built from source: Debian's upstream tarball, with autotools'
 * configure, make, make check and make install.
 *
 *   store realize exprs/source/xz.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'xz-utils',
  version: '5.4.1-1+deb12u1',
  file: 'xz-utils_5.4.1.orig.tar.xz',
  sha256: '5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5',
});

/** Built with the packages it links (`buildInputs`). */
export function makeXz(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'xz',
    version: '5.4.1',
    src,
    // No translations (and no gettext to build them with), no documentation, no static library.
    configureFlags: ['--disable-nls', '--disable-doc', '--disable-static'],
    doCheck: true,
  });
}

export const xz = makeXz();

export default xz;
