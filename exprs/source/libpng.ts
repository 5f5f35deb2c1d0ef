/**
 * libpng built from source: Debian's upstream tarball, with autotools' configure, make, make
 * check and make install (as cmsdist builds it), linked with zlib (cmsdist's recipe requires
 * it): libpng16 (shared), png.h, libpng16.pc and libpng.pc, libpng-config and the pngfix and
 * png-fix-itxt programs. `make check` runs libpng's test programs: pngtest, pngvalid (its
 * standard, sBIT, gamma and transform tests), pngstest on the bundled images, pngunknown and
 * pngimage.
 *
 *   store realize exprs/source/libpng.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';
import { zlib } from './zlib.ts';

export const src = fetchDebianSource({
  source: 'libpng1.6',
  version: '1.6.39-2+deb12u6',
  file: 'libpng1.6_1.6.39.orig.tar.gz',
  sha256: 'a00e9d2f2f664186e4202db9299397f851aea71b36a35e74910b8820e380d441',
});

/** Built with the packages it links (`buildInputs`; cmsdist's recipe: zlib). */
export function makeLibpng(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'libpng',
    version: '1.6.39',
    src,
    configureFlags: ['--disable-static'],
    doCheck: true,
    // The link libpng.la -> libpng16.la, whose target the fixup phase removes (as every .la file).
    postInstall: 'rm $out/lib/libpng.la',
  });
}

export const libpng = makeLibpng({ buildInputs: [zlib] });

export default libpng;
