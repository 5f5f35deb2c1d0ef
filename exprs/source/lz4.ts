/**
 * LZ4 built from source: Debian's upstream tarball, by its Makefiles (no configure script);
 * `make check` runs its essential tests.
 *
 *   store realize exprs/source/lz4.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'lz4',
  version: '1.9.4-1',
  file: 'lz4_1.9.4.orig.tar.gz',
  sha256: '0b0e3aa07c8c063ddf40b082bdf7e37a1562bda40a0ff5272957f3e987e0e54b',
});

/** Built with the packages it links (`buildInputs`). */
export function makeLz4(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'lz4',
    version: '1.9.4',
    src,
    makeFlags: ['PREFIX=$(out)'],
    buildPhase: 'make -j${HEPSTORE_BUILD_CORES:-1} $makeFlags lib-release lz4-release',
    doCheck: true,
    installPhase: 'make $makeFlags install',
  });
}

export const lz4 = makeLz4();

export default lz4;
