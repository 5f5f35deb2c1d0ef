/**
 * CMSSW's externals built from source, keyed by cmsdist's package names, each depending on the
 * packages that cmsdist's recipe requires (the graph of CMSSW_14_2_X, graphs/), where the set
 * has them. The sources are Debian's upstream tarballs (exprs/source/), so versions are Debian's
 * (zlib 1.2.13, bzip2 1.0.8, xz 5.4.1, FastJet 3.4.0, HepMC3 3.1.2, LZ4 1.9.4, TinyXML-2 9.0.0,
 * {fmt} 9.1.0, yaml-cpp 0.7.0, FFTW 3.3.10, CLHEP 2.1.4.1, GSL 2.7.1), not cmsdist's.
 *
 * OpenBLAS 0.3.21 is built from Debian's tarball as well, its BLAS and CBLAS: Debian's tarball
 * has no LAPACK sources (exprs/source/openblas.ts). GSL links it as its CBLAS, as cmsdist does:
 * GSL's own libgslcblas is built and tested but kept out of lib/ (exprs/source/gsl.ts).
 *
 * The Python externals are Debian's binary packages relocated into the store (sets/python-build.ts,
 * python.ts): python3 (CPython 3.11.2 with its headers and libpython), py3-setuptools 66.1.1,
 * py3-pip 23.0.1, py3-wheel 0.38.4, py3-cython 0.29.32; py3-numpy is Debian's NumPy 1.24.2 linked
 * with the store's OpenBLAS (numpy.ts). Debian's archive does not serve the upstream tarballs of
 * Cython, NumPy or setuptools, so they are not built from source. The Debian entries take no build
 * inputs: what cmsdist's recipes require is in their Debian closure. python-env.ts puts them in one
 * environment.
 *
 *   store realize exprs/cmssw/externals.ts -A fastjet
 *   store realize exprs/cmssw/externals.ts          # all of them
 */
import { packageSet, type Drv } from 'hepstore';
import { readGraph } from './graph.ts';
import { makeZlib } from '../source/zlib.ts';
import { makeBzip2 } from '../source/bzip2.ts';
import { makeXz } from '../source/xz.ts';
import { makeFastjet } from '../source/fastjet.ts';
import { makeHepmc3 } from '../source/hepmc3.ts';
import { makeLz4 } from '../source/lz4.ts';
import { makeTinyxml2 } from '../source/tinyxml2.ts';
import { makeOpenblas } from '../source/openblas.ts';
import { makePython3, makeSetuptools, makePip, makeWheel, makeCython } from './python.ts';
import { makeNumpy } from './numpy.ts';
import { makeFmt } from '../source/fmt.ts';
import { makeYamlCpp } from '../source/yaml-cpp.ts';
import { makeFftw3 } from '../source/fftw3.ts';
import { makeClhep } from '../source/clhep.ts';
import { makeGsl } from '../source/gsl.ts';

type Make = (opts: { buildInputs?: Drv[] }) => Drv;

/** How each package is built, by cmsdist name. */
const MAKE: Record<string, Make> = {
  zlib: () => makeZlib(),
  bz2lib: makeBzip2,
  xz: makeXz,
  fastjet: makeFastjet,
  hepmc3: makeHepmc3,
  lz4: makeLz4,
  tinyxml2: makeTinyxml2,
  OpenBLAS: makeOpenblas,
  python3: makePython3,
  'py3-setuptools': makeSetuptools,
  'py3-pip': makePip,
  'py3-wheel': makeWheel,
  'py3-cython': makeCython,
  'py3-numpy': makeNumpy,
  fmt: makeFmt,
  'yaml-cpp': makeYamlCpp,
  fftw3: makeFftw3,
  clhep: makeClhep,
  gsl: makeGsl,
};

const graph = readGraph('14_2');

/**
 * cmsdist requirements that the recipes here do not use: FastJet's python3 is for its Python
 * bindings, which are left out (so FastJet does not pull in the Python externals).
 */
const UNUSED: Readonly<Record<string, readonly string[]>> = { fastjet: ['python3'] };

/** cmsdist's runtime requirements of a package that this set builds too. */
function requires(name: string): string[] {
  const node = graph[name];
  if (!node) throw new Error(`externals: '${name}' is not a package of cmsdist's CMSSW_14_2_X graph`);
  return node.req.filter((d) => d in MAKE && !UNUSED[name]?.includes(d)).sort();
}

const externals = packageSet<Drv>(
  Object.fromEntries(
    Object.entries(MAKE).map(([name, make]) => [name, (self: Record<string, Drv>) => {
      const deps = requires(name).map((d) => self[d]);
      return make(deps.length ? { buildInputs: deps } : {});
    }]),
  ),
);

export default externals;

// Each package as an attribute too (`-A fastjet`).
export const zlib = () => externals.zlib;
export const bz2lib = () => externals.bz2lib;
export const xz = () => externals.xz;
export const fastjet = () => externals.fastjet;
export const hepmc3 = () => externals.hepmc3;
export const lz4 = () => externals.lz4;
export const tinyxml2 = () => externals.tinyxml2;
export const OpenBLAS = () => externals.OpenBLAS;
export const python3 = () => externals.python3;
export const fmt = () => externals.fmt;
export const fftw3 = () => externals.fftw3;
export const clhep = () => externals.clhep;
export const gsl = () => externals.gsl;
// cmsdist's names with '-' are attributes under those names (`-A py3-numpy`).
const py3Setuptools = () => externals['py3-setuptools'];
const py3Pip = () => externals['py3-pip'];
const py3Wheel = () => externals['py3-wheel'];
const py3Cython = () => externals['py3-cython'];
const py3Numpy = () => externals['py3-numpy'];
const yamlCpp = () => externals['yaml-cpp'];
export { py3Setuptools as 'py3-setuptools', py3Pip as 'py3-pip', py3Wheel as 'py3-wheel', py3Cython as 'py3-cython', py3Numpy as 'py3-numpy', yamlCpp as 'yaml-cpp' };
