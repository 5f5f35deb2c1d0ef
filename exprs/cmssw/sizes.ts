/**
 * How big a synthetic CMSSW package is: a typical installed size for its kind, varied
 * deterministically by its name and version, times a scale.
 *
 * Typical sizes (MiB, installed, roughly as on a release area): Python packages from pip are
 * small (a couple of MiB) except the scientific stack; spec packages are some tens of MiB,
 * with compilers, ROOT, Geant4, Boost, TensorFlow, PyTorch, CUDA and the generators far
 * larger; data packages (data-*, Geant4 data sets) are large; meta packages that only tie
 * others together (cmssw-tool-conf, python_tools, cmsswdata, geant4data) are tiny. At scale 1
 * a release is some tens of GiB; the default scale keeps it to some tens of MiB.
 */
import { createHash } from 'node:crypto';

export type Kind = 'spec' | 'pip' | 'missing';

const MiB = 1024 * 1024;

/** Named packages whose size is well known (MiB). */
const KNOWN: Record<string, number> = {
  // compilers, toolchains, runtimes
  gcc: 900, llvm: 1800, icc: 1500, icx: 1500, 'intel-vtune': 1200, rust: 700, go: 250, 'java-env': 200, bazel: 150,
  python3: 250, cuda: 4000, cudnn: 1000, rocm: 3000, 'rocm-rocrand': 100, gdb: 60, valgrind: 100, git: 60, cmake: 80,
  // big libraries and frameworks
  root: 650, geant4: 400, boost: 300, tensorflow: 900, 'tensorflow-sources': 1200, 'tensorflow-xla-runtime': 150,
  pytorch: 1200, onnxruntime: 150, oracle: 300, opencv: 150, xrootd: 60, hdf5: 60, dd4hep: 80, grpc: 80, protobuf: 50,
  OpenBLAS: 60, xgboost: 50, 'triton-inference-client': 40, openmpi: 80, mozsearch: 100,
  // generators
  madgraph5amcatnlo: 600, 'openloops-process': 900, sherpa: 300, herwig7: 150, pythia8: 150, thepeg: 80, rivet: 60,
  // data sets
  'geant4-G4NDL': 1000, 'geant4-G4EMLOW': 600, 'geant4-G4PARTICLEXS': 250, 'geant4-G4RealSurface': 150,
  'geant4-G4RadioactiveDecay': 50, 'geant4-G4PhotonEvaporation': 20, 'geant4-G4ENSDFSTATE': 2, 'geant4-G4ABLA': 1,
  'geant4-G4INCL': 1, 'geant4-G4SAIDDATA': 1, 'geant4-parfullcms': 5,
  // the scientific Python stack
  'py3-tensorflow': 500, 'py3-scipy': 110, 'py3-pandas': 70, 'py3-sympy': 70, 'py3-numpy': 60, 'py3-matplotlib': 45,
  'py3-scikit-learn': 45, 'py3-onnx': 40, 'py3-jupyterlab': 40, 'py3-grpcio': 30, 'py3-grpcio-tools': 30, 'py3-babel': 30,
  'py3-notebook': 30, 'py3-tensorboard': 25, 'py3-lxml': 20, 'py3-debugpy': 20, 'py3-pillow': 15, 'py3-cryptography': 15,
  'py3-jax': 15, 'py3-tables': 15, 'py3-h5py': 15, 'py3-awkward-cpp': 10, 'py3-pycuda': 10, 'py3-rapidfuzz': 10,
};

/** Packages that only gather others (configuration, environment): tiny whatever they depend on. */
const META = new Set(['cmssw-tool-conf', 'cmssw-tools', 'python_tools', 'cmsswdata', 'geant4data', 'coral-tool-conf', 'python-python3', 'fakesystem', 'oracle-fake', 'tkonlinesw-fake']);

/** Typical size (MiB) of a package of this kind when nothing more is known about it. */
function typicalMiB(name: string, kind: Kind): number {
  if (name in KNOWN) return KNOWN[name];
  if (META.has(name)) return 0.05;
  if (name.startsWith('data-')) return 40;
  if (kind === 'missing') return 0.1;
  if (kind === 'pip') return 2;
  return 20;
}

/** A number in [0, 1) from the package's name and version. */
function unitInterval(name: string, version: string | undefined): number {
  return createHash('sha256').update(`size:${name}@${version ?? ''}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Payload bytes of a package at `scale` (1 = typical installed size). Well-known packages
 * vary by ±15% between versions; others by a factor between 0.35 and 2.8 (sizes of a kind
 * spread over an order of magnitude).
 */
export function payloadBytes(name: string, version: string | undefined, kind: Kind, scale: number): number {
  const u = unitInterval(name, version);
  const factor = name in KNOWN || META.has(name) ? 0.85 + 0.3 * u : 2 ** (3 * u - 1.5);
  return Math.round(typicalMiB(name, kind) * factor * MiB * scale);
}
