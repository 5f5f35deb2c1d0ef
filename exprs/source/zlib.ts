/**
 * zlib built from source: Debian's upstream tarball of the version the store's Debian sets pin,
 * configured, built, checked and installed by the stdenv's compiler.
 *
 *   store realize exprs/source/zlib.ts
 */
import { mkDerivation, fetchDebianSource, type Stdenv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'zlib',
  version: '1:1.2.13.dfsg-1',
  file: 'zlib_1.2.13.dfsg.orig.tar.bz2',
  sha256: '71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1',
});

/** zlib built with `stdenv` (default: the store's). */
export function makeZlib(stdenv?: Stdenv) {
  return mkDerivation({
    ...(stdenv ? { stdenv } : {}),
    pname: 'zlib',
    version: '1.2.13',
    src,
    // zlib's configure is not autoconf's: it takes --prefix and finds gcc (then cc) on PATH.
    configurePhase: './configure --prefix=$out',
    doCheck: true,
    checkPhase: 'make check',
  });
}

export const zlib = makeZlib();

export default zlib;
