/**
 * NumPy 1.24.2 for CMSSW's externals (py3-numpy): Debian's binary package, linked with the
 * store's OpenBLAS. Debian's build of NumPy links the generic names of a BLAS and a LAPACK
 * (libblas.so.3, liblapack.so.3, chosen by Debian's alternatives at run time); here its
 * extension modules' run paths name the store's OpenBLAS (built from source, exprs/source/
 * openblas.ts, which installs itself as libblas.so.3 too) and a copy of Debian's reference
 * LAPACK (liblapack3, 3.11.0: OpenBLAS's LAPACK is not in Debian's source tarball), whose own
 * run path names the same OpenBLAS, so that every BLAS call — NumPy's and LAPACK's — is
 * OpenBLAS's. numpy/__config__.py, which `numpy.show_config()` prints, is written anew to
 * name those libraries (Debian's names the build machine's /usr/lib).
 *
 * After installing, NumPy's own test suite runs on the installed tree (what `numpy.test()` runs:
 * all but the tests marked slow; those that compile extension modules or run /bin/sh, which
 * cannot here, left out: IGNORE, DESELECT) with Debian's pytest and hypothesis, and the process is checked
 * to map the store's OpenBLAS.
 */
import { mkDerivation, stdenvNoCC, bootstrapTools, type Drv } from 'hepstore';
import { deb, pythonClosure } from './python.ts';
import { makeOpenblas } from '../source/openblas.ts';

/**
 * NumPy's tests that cannot pass here, with the reason: the check has no C compiler (the files
 * are Debian's; nothing is compiled) and the sandbox no /bin/sh.
 */
const IGNORE: Record<string, string> = {
  'f2py': 'builds extension modules with C and Fortran compilers',
  'core/tests/test_mem_policy.py': 'builds an extension module with a C compiler (x86_64-linux-gnu-gcc)',
  'core/tests/test_limited_api.py': 'builds an extension module with a C compiler',
};
const DESELECT: Record<string, string> = {
  'test_join_matches_subprocess': 'runs its command lines with /bin/sh (shell=True)',
};

/** py3-numpy; `buildInputs` (cmsdist's requirements) give the OpenBLAS it links (default: the store's). */
export function makeNumpy(opts: { buildInputs?: Drv[] } = {}): Drv {
  const openblas = (opts.buildInputs ?? []).find((d) => d.name.startsWith('openblas-')) ?? makeOpenblas();
  const testPath = pythonClosure(['python3-pytest', 'python3-hypothesis', 'python3-setuptools'])
    .map((n) => deb[n])
    .filter((d, i, a) => a.indexOf(d) === i);
  return mkDerivation({
    stdenv: stdenvNoCC,
    pname: 'py3-numpy',
    version: '1.24.2',
    // Nothing to unpack or compile: the files are Debian's, the check runs on the installed tree.
    phases: ['install', 'fixup'],
    dontStrip: true,
    env: {
      numpy: deb['python3-numpy'],
      lapack: deb['liblapack3'],
      openblas,
      python: deb['python3.11'],
      patchelf: `${bootstrapTools()}/bin/patchelf`,
      testPath,
      ignore: Object.keys(IGNORE),
      deselect: Object.keys(DESELECT).join(' or '),
    },
    installPhase: `
site="$out/lib/python3/dist-packages"
mkdir -p "$site" "$out/lib"
cp -a "$numpy/lib/python3/dist-packages/." "$site/"
if [ -d "$numpy/bin" ]; then cp -a "$numpy/bin" "$out/bin"; fi
cp -L "$lapack/lib/x86_64-linux-gnu/lapack/liblapack.so.3" "$out/lib/liblapack.so.3"
chmod -R u+w "$out"
# LAPACK's BLAS is OpenBLAS.
"$patchelf" --set-rpath "$openblas/lib:$("$patchelf" --print-rpath "$out/lib/liblapack.so.3")" "$out/lib/liblapack.so.3"
# NumPy's extension modules: this LAPACK and OpenBLAS first.
find "$site" -name '*.so' | sort | while read -r so; do
  old=$("$patchelf" --print-rpath "$so")
  keep=$(printf '%s' "$old" | tr ':' '\\n' | grep -v -e "^$lapack/" | paste -sd: -)
  "$patchelf" --set-rpath "$out/lib:$openblas/lib\${keep:+:$keep}" "$so"
done
cat > "$site/numpy/__config__.py" <<EOF
# The libraries this NumPy is linked with in the store (exprs/cmssw/numpy.ts): Debian's build of
# NumPy 1.24.2, its BLAS the store's OpenBLAS and its LAPACK Debian's reference LAPACK linked
# with that OpenBLAS.
__all__ = ["get_info", "show"]

openblas_info = {'libraries': ['openblas'], 'library_dirs': ['$openblas/lib'], 'include_dirs': ['$openblas/include'], 'language': 'c', 'define_macros': [('HAVE_CBLAS', None)]}
blas_opt_info = openblas_info
lapack_info = {'libraries': ['lapack'], 'library_dirs': ['$out/lib'], 'language': 'f77'}
lapack_opt_info = {'libraries': ['lapack', 'openblas'], 'library_dirs': ['$out/lib', '$openblas/lib'], 'language': 'c', 'define_macros': [('HAVE_CBLAS', None)]}

def get_info(name):
    g = globals()
    return g.get(name, g.get(name + "_info", {}))

def show():
    """Show the libraries this NumPy uses."""
    for name in ("openblas_info", "blas_opt_info", "lapack_info", "lapack_opt_info"):
        print(name + ":")
        for k, v in globals()[name].items():
            print("    %s = %s" % (k, v))
EOF
# A docstring's example names a cross-compiling sysroot below /build, which a store path may not name.
sed -i 's|pkgdir=/build/arm-linux-gnueabi/|pkgdir=/cross/arm-linux-gnueabi/|' "$site/numpy/distutils/misc_util.py"
rm -f "$site"/numpy/__pycache__/__config__.*.pyc "$site"/numpy/distutils/__pycache__/misc_util.*.pyc
PYTHONHASHSEED=0 "$python/bin/python3.11" -m compileall -q --invalidation-mode unchecked-hash "$site/numpy/__config__.py" "$site/numpy/distutils/misc_util.py"
`,
    // The tests run on the installed tree, after the install phase.
    postInstall: `
export HOME="$TMPDIR" PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 SETUPTOOLS_USE_DISTUTILS=local
pp="$out/lib/python3/dist-packages"
for d in $testPath; do pp="$pp:$d/lib/python3/dist-packages"; done
export PYTHONPATH="$pp"
cd "$TMPDIR"
"$python/bin/python3.11" - <<'PYTHON'
import os, sys, warnings
# numpy.distutils (imported by numpy.test() and a few test modules) needs the standard library's
# distutils, which Debian packages apart (python3-distutils): setuptools' copy stands in for it.
import setuptools
import numpy, pytest
numpy.show_config()
print(numpy.linalg.inv(numpy.eye(3) * 2))
maps = open('/proc/self/maps').read()
assert os.environ['openblas'] + '/lib/libopenblas' in maps, 'the store OpenBLAS is not loaded'
print('BLAS and LAPACK loaded:', sorted({l.split()[-1] for l in maps.splitlines() if 'blas' in l or 'lapack' in l}))
with warnings.catch_warnings(record=True):
    import numpy.array_api
root = os.path.dirname(numpy.__file__)
# numpy.test(label='fast')'s arguments, less the tests that need a compiler or /bin/sh (IGNORE, DESELECT).
args = ['-l', '-q', '-p', 'no:cacheprovider', '-rfE',
        '-W', 'ignore:Not importing directory', '-W', 'ignore:numpy.dtype size changed', '-W', 'ignore:numpy.ufunc size changed',
        '-W', 'ignore::UserWarning:cpuinfo', '-W', 'ignore:the matrix subclass is not', '-W', 'ignore:Importing from numpy.matlib is',
        '-m', 'not slow', '--durations=10', '-k', 'not (' + os.environ['deselect'] + ')']
args += ['--ignore=' + os.path.join(root, f) for f in os.environ['ignore'].split()]
sys.exit(pytest.main(args + ['--pyargs', 'numpy']))
PYTHON
`,
  });
}
