/**
 * CMSSW's Python externals from the pinned Debian set sets/python-build.ts: CPython 3.11 with
 * the headers and the library for building extensions (python3), setuptools, pip, wheel and
 * Cython (py3-*), each a Debian binary package relocated into the store; and NumPy (py3-numpy),
 * Debian's binary linked with the store's OpenBLAS (see numpy.ts).
 *
 * A Debian Python package is its files alone (its `dist-packages`): it is used through an
 * environment, `pythonEnv(name, packages)`, a view of the interpreter and the packages with the
 * interpreter copied in, so that it finds its prefix, standard library and `dist-packages` there.
 */
import { buildEnv, type Drv } from 'hepstore';
import { debianPackages, closureNames } from '../debian/lib.ts';
import { PYTHON_CORE } from '../debian/python.ts';
import set from './sets/python-build.ts';

/** Every package of the set, the interpreter grouped with its standard library (one store path, which compiles its own bytecode). */
export const deb = debianPackages(set, { groups: [PYTHON_CORE] });

/** The interpreter as `python3`/`python3.11`, with its headers, `libpython3.11.so` and `python3.11-config`. */
export const PYTHON_PACKAGES = ['python3', 'python3.11-dev', 'libpython3.11-dev'];

/** The Debian packages of `roots` and of the Python packages they need (not the libraries: those are in the run paths). */
export function pythonClosure(roots: string[]): string[] {
  return closureNames(set, roots).filter((n) => /^(python3|libpython3|cython3)/.test(n));
}

/**
 * A Python environment: the interpreter (and its development files) with `packages` — store
 * paths with a `lib/python3/dist-packages` — and the Debian packages `debian` with the Python
 * packages they need. The interpreter writes no bytecode into it (the store's is read-only,
 * but not to root).
 */
export function pythonEnv(name: string, packages: Drv[], debian: string[] = [], checkPhase?: string): Drv {
  const names = pythonClosure([...PYTHON_PACKAGES, ...debian]);
  return buildEnv({
    name,
    paths: [...new Set(names.map((n) => deb[n]))].concat(packages),
    copyFiles: ['bin/python3.11'],
    // dist-packages may be one package's directory, linked whole: made a directory of links
    // (each directory on the way to it too) so that the environment's own file can go in.
    postBuild: `
site="$out/lib/python3/dist-packages"
d="$out"
for part in lib python3 dist-packages; do
  d="$d/$part"
  if [ -L "$d" ]; then
    target=$(readlink -f "$d")
    rm "$d"
    mkdir "$d"
    for f in "$target"/* "$target"/.[!.]*; do if [ -e "$f" ] || [ -L "$f" ]; then ln -s "$f" "$d/"; fi; done
  fi
  mkdir -p "$d"
done
echo 'import sys; sys.dont_write_bytecode = True' > "$site/00-no-bytecode-in-the-store.pth"
`,
    ...(checkPhase ? { doCheck: true, checkPhase } : {}),
  });
}

/** python3: the interpreter and its development files (no packages beyond the standard library). */
export function makePython3(_opts: { buildInputs?: Drv[] } = {}): Drv {
  return pythonEnv('python3-3.11.2', [], [], `
python3 -c 'import sys, sysconfig, ssl, sqlite3, zlib, bz2, lzma, ctypes; print(sys.version); print(sysconfig.get_paths()["include"])'
test -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h"
`);
}

/** A Debian Python package as a CMSSW external: its own files (the build inputs that cmsdist gives it are in its Debian closure already). */
const debianPython = (name: string) => (_opts: { buildInputs?: Drv[] } = {}): Drv => deb[name];

export const makeSetuptools = debianPython('python3-setuptools');
export const makePip = debianPython('python3-pip');
export const makeWheel = debianPython('python3-wheel');
export const makeCython = debianPython('cython3');
