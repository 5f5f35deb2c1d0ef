/**
 * FastJet built from source: Debian's upstream tarball, which has neither a generated configure
 * script nor SISCone's sources (Debian builds SISCone apart). The autotools cannot run in a
 * hermetic build (perl runs its commands with /bin/sh), so a patch adds a CMake build that
 * installs what the autotools build does — libfastjet, libfastjettools, libfastjetplugins with
 * the C++ plugins present, the headers and fastjet-config — and a regression test (the example
 * event's kt jets against the reference output), run by ctest.
 *
 *   store realize exprs/source/fastjet.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, path, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'fastjet',
  version: '3.4.0+dfsg-1',
  file: 'fastjet_3.4.0+dfsg.orig.tar.xz',
  sha256: '0a4a256235f1b5262d90dcef379b86f2981a08590e8779e163398b6cbfc0eb7e',
});

/** Built with the packages it links (`buildInputs`). */
export function makeFastjet(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'fastjet',
    version: '3.4.0',
    src,
    patches: [path('./fastjet-cmake.patch')],
    nativeBuildInputs: [buildTools.cmake],
    doCheck: true,
  });
}

export const fastjet = makeFastjet();

export default fastjet;
