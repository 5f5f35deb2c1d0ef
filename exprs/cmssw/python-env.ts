/**
 * The Python externals of exprs/cmssw/externals.ts as one environment: the store's Python 3.11
 * with NumPy (on the store's OpenBLAS), Cython, setuptools, pip and wheel; its check imports
 * them and inverts a matrix. `extension` builds a Cython module with the store's compiler against
 * the environment's headers and imports it: what building an extension for the store's Python
 * takes.
 *
 *   store realize exprs/cmssw/python-env.ts
 *   store realize exprs/cmssw/python-env.ts -A extension
 */
import { mkDerivation, type Drv } from 'hepstore';
import externals from './externals.ts';
import { pythonEnv } from './python.ts';

export const env: Drv = pythonEnv(
  'cmssw-python-3.11.2',
  [externals['py3-numpy']],
  ['cython3', 'python3-pip', 'python3-pkg-resources', 'python3-setuptools', 'python3-wheel'],
  `
python3 -c 'import numpy, Cython, setuptools, pip, wheel; numpy.show_config(); print(numpy.linalg.inv(numpy.eye(3) * 2)); print("numpy", numpy.__version__, "Cython", Cython.__version__, "setuptools", setuptools.__version__, "pip", pip.__version__, "wheel", wheel.__version__)'
`,
);

export const extension: Drv = mkDerivation({
  pname: 'cython-extension-check',
  version: '1',
  buildInputs: [env],
  phases: ['build', 'install'],
  buildPhase: `
cat > fib.pyx <<'EOF'
def fib(int n):
    cdef long a = 0, b = 1
    for _ in range(n):
        a, b = b, a + b
    return a
EOF
python3 -m cython -3 fib.pyx -o fib.c
include=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
suffix=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
cc -O2 -shared -fPIC -I"$include" fib.c -o "fib$suffix"
python3 -c 'import fib; assert fib.fib(90) == 2880067194370816120, fib.fib(90); print("fib(90) =", fib.fib(90))'
`,
  installPhase: 'mkdir -p "$out/lib/python3/dist-packages" && cp fib.*.so "$out/lib/python3/dist-packages/"',
});

export default env;
