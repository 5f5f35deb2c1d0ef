/**
 * A physicist's laptop analysis environment from real Debian binaries: Python 3.11 with numpy,
 * scipy, matplotlib, pandas, iminuit, h5py, scikit-learn, xgboost, uncertainties, tqdm and
 * joblib, in one view whose programs need nothing from the host but the kernel.
 *
 *   store realize exprs/examples/laptop-analysis.ts
 *   ./result/bin/python3 -c 'import numpy, scipy, matplotlib, pandas, iminuit, h5py, sklearn, xgboost'
 *
 * The package set is pinned in ../debian/sets/laptop.ts (regenerate it with the command at its top).
 */
import { pythonEnv } from '../debian/python.ts';
import laptop from '../debian/sets/laptop.ts';

export default pythonEnv({
  name: 'laptop-analysis',
  set: laptop,
  imports: {
    'python3.11': ['ssl', 'sqlite3', 'ctypes', 'lzma', 'bz2', 'zlib', 'decimal'],
    'python3-numpy': ['numpy', 'numpy.linalg', 'numpy.fft'],
    'python3-scipy': ['scipy', 'scipy.optimize', 'scipy.stats', 'scipy.special', 'scipy.linalg'],
    'python3-matplotlib': ['matplotlib', 'matplotlib.pyplot'],
    'python3-pandas': ['pandas'],
    'python3-iminuit': ['iminuit'],
    'python3-h5py': ['h5py'],
    'python3-sklearn': ['sklearn', 'sklearn.ensemble', 'sklearn.linear_model'],
    'python3-xgboost': ['xgboost'],
    'python3-uncertainties': ['uncertainties', 'uncertainties.unumpy'],
    'python3-tqdm': ['tqdm'],
    'python3-joblib': ['joblib'],
  },
});
