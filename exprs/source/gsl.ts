/**
 * The GNU Scientific Library built from source: Debian's upstream tarball, with its configure
 * script, make, make check (the test program of every module, run against GSL's own CBLAS,
 * libgslcblas, as upstream links them) and make install: libgsl.so, libgslcblas.so, the headers,
 * gsl.pc, gsl-config, gsl-randist and gsl-histogram, and the man pages. No static libraries.
 * Debian's tarball has no sources of the manual (it is under the GFDL), which doc/Makefile
 * lists: doc/ is left out of the build and its ready-made man pages are installed by hand.
 *
 * cmsdist builds GSL with its own CBLAS too but moves libgslcblas out of lib/ (to cblas/), so
 * that what links GSL uses OpenBLAS's CBLAS (its GSL_CBLAS_LIB is OpenBLAS). The same here when
 * OpenBLAS is among the build inputs (as cmsdist requires it): libgsl.so is linked with
 * libopenblas (the one library then resolves GSL's cblas_* calls, with no second library to name,
 * as Debian links libgsl with its CBLAS), gsl.pc and gsl-config name OpenBLAS as the CBLAS
 * (`-L<openblas>/lib -lopenblas`; GSL_CBLAS_LIB in the environment still overrides gsl-config's),
 * and libgslcblas is installed in cblas/, not lib/. Without OpenBLAS the build is upstream's
 * (libgsl leaves cblas_* to the program, which links -lgslcblas from lib/).
 *
 *   store realize exprs/source/gsl.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';
import { openblas } from './openblas.ts';

export const src = fetchDebianSource({
  source: 'gsl',
  version: '2.7.1+dfsg-5+deb12u1',
  file: 'gsl_2.7.1+dfsg.orig.tar.gz',
  sha256: 'e560d6b9c6e254e46769bbb03583c00ecafbdd51b062c55db23b3b9612868567',
});

/** Built with the packages it links (`buildInputs`): OpenBLAS among them is its CBLAS. */
export function makeGsl(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'gsl',
    version: '2.7.1',
    src,
    // Debian's tarball leaves out the manual's sources, which doc/Makefile lists: doc/ is not
    // built, its man pages are installed as they are (postInstall).
    postPatch: `
      sed -i 's/^\\(SUBDIRS = gsl .*\\) doc$/\\1/' Makefile.in
      grep -q '^SUBDIRS = gsl .* splinalg$' Makefile.in
    `,
    configureFlags: ['--disable-static'],
    // OpenBLAS among the inputs: libgsl.so links it, and gsl.pc and gsl-config name it.
    preConfigure: `
      blasdir=
      for p in $buildInputs; do if [ -e "$p/lib/libopenblas.so" ]; then blasdir=$p/lib; fi; done
      if [ -n "$blasdir" ]; then
        sed -i "s|^libgsl_la_LIBADD = \\$(GSL_LIBADD) \\$(SUBLIBS)\\$|& -L$blasdir -lopenblas|" Makefile.in
        grep -q "^libgsl_la_LIBADD = .* -lopenblas\\$" Makefile.in
        sed -i "s|^GSL_CBLAS_LIB=-lgslcblas\\$|GSL_CBLAS_LIB=-L$blasdir -lopenblas|" gsl.pc.in
        grep -q "^GSL_CBLAS_LIB=-L.* -lopenblas\\$" gsl.pc.in
        sed -i "s|: \\\${GSL_CBLAS_LIB=-lgslcblas}|: \\\${GSL_CBLAS_LIB=-L$blasdir -lopenblas}|" gsl-config.in
        grep -q "GSL_CBLAS_LIB=-L.* -lopenblas}" gsl-config.in
      fi
    `,
    doCheck: true,
    postInstall: `
      for m in gsl.3 gsl-config.1 gsl-randist.1 gsl-histogram.1; do
        install -D -m 644 "doc/$m" "$out/share/man/man\${m##*.}/$m"
      done
      if [ -n "$blasdir" ]; then
        mkdir "$out/cblas"
        mv "$out"/lib/libgslcblas.* "$out/cblas/"
      fi
    `,
  });
}

export const gsl = makeGsl({ buildInputs: [openblas] });

export default gsl;
