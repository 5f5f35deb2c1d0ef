/**
 * A Python environment from a Debian package set: one view (buildEnv) of the whole closure,
 * with the interpreter copied in so that it finds its standard library and dist-packages in the
 * view, no bytecode written next to the sources (the store's), and an imports check run as part of building it — each package lists the modules it
 * must provide, and the build fails naming the first one that does not import.
 */
import { buildEnv, shellOnlyStdenv, type Drv } from 'hepstore';
import { debianPackages, type PinnedSet } from './lib.ts';

export interface PythonEnvArgs {
  name: string;
  set: PinnedSet;
  /** Debian package → the modules it must provide. */
  imports: Record<string, string[]>;
  /** The interpreter's file name in bin/ (default python3.11). */
  interpreter?: string;
}

/** The check phase: one interpreter imports every module and names the package of the first that fails. */
export function importsCheck(imports: Record<string, string[]>, python = '"$out/bin/python3"'): string {
  const pairs = Object.keys(imports)
    .sort()
    .flatMap((pkg) => imports[pkg].map((m) => [pkg, m]));
  return `
export HOME="$TMPDIR" MPLBACKEND=Agg
${python} - <<'PYTHON'
import importlib, sys
for pkg, module in ${JSON.stringify(pairs)}:
    try:
        importlib.import_module(module)
    except Exception as e:
        print(f"imports check failed: {pkg} must provide module '{module}', which did not import: {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"imported {module} ({pkg})")
PYTHON
`;
}

/** Debian's split of CPython 3.11: interpreter, minimal and full standard library. */
export const PYTHON_CORE = ['python3.11', 'python3.11-minimal', 'libpython3.11-minimal', 'libpython3.11-stdlib'];

export function pythonEnv(a: PythonEnvArgs): Drv {
  const pkgs = debianPackages(a.set, { groups: [PYTHON_CORE.filter((p) => p in a.set.packages)] });
  for (const pkg of Object.keys(a.imports)) {
    if (!(pkg in a.set.packages)) throw new Error(`pythonEnv '${a.name}': imports names '${pkg}', which is not in the package set`);
  }
  const interpreter = a.interpreter ?? 'python3.11';
  return buildEnv({
    name: a.name,
    paths: Object.keys(a.set.packages).map((n) => pkgs[n]),
    copyFiles: [`bin/${interpreter}`],
    // Store paths are read-only, but not to root: an interpreter run by root would write
    // __pycache__ into the packages' store paths. The environment's Python writes no bytecode.
    postBuild: `echo 'import sys; sys.dont_write_bytecode = True' > "$out/lib/python3/dist-packages/00-no-bytecode-in-the-store.pth"`,
    doCheck: true,
    checkPhase: importsCheck(a.imports, `"$out/bin/${interpreter}"`),
    // Both run the shell's builtins and the environment's python only.
    stdenv: shellOnlyStdenv,
  });
}
