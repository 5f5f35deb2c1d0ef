/**
 * `mkDerivation`: a package from phases (unpack, patch, configure, build, check, install,
 * fixup), run by a generic shell builder — the stdenv's shell, with the stdenv's utilities and
 * the inputs' bin/ directories on PATH (and host programs only where a package asks for them).
 */
import { fileURLToPath } from 'node:url';
import { StoreError } from '../errors.js';
import { derivation, type Drv, type Stringish } from './drv.js';
import { sourcePath, type SourcePath } from './path.js';
import { tool, type HostTool } from './host.js';
import { makeStdenv, type Stdenv } from './stdenv.js';

const SETUP_SCRIPT = fileURLToPath(new URL('../../../src/expr/setup.sh', import.meta.url));


export interface MkDerivationArgs {
  name?: string;
  pname?: string;
  version?: string;
  src?: Drv | SourcePath | string;
  buildInputs?: Array<Drv | SourcePath>;
  nativeBuildInputs?: Array<Drv | SourcePath>;
  unpackPhase?: string;
  patchPhase?: string;
  configurePhase?: string;
  buildPhase?: string;
  checkPhase?: string;
  installPhase?: string;
  fixupPhase?: string;
  /** Shell code run before or after a phase (its default or its own). */
  prePatch?: string;
  postPatch?: string;
  preConfigure?: string;
  postConfigure?: string;
  preBuild?: string;
  postBuild?: string;
  preCheck?: string;
  postCheck?: string;
  preInstall?: string;
  postInstall?: string;
  postFixup?: string;
  /** Phase names in order (default: unpack patch configure build check install fixup). */
  phases?: string[];
  /** Patches applied in order by the patch phase, with `patch $patchFlags` (default -p1). */
  patches?: Array<Drv | SourcePath>;
  patchFlags?: string[];
  /** Autotools: `./configure --prefix=$out ...configureFlags` (when ./configure exists). */
  configureFlags?: string[];
  /**
   * CMake, when `cmake` is among the inputs and the source has a CMakeLists.txt (in `cmakeDir`):
   * an out-of-tree build in build/ with `-DCMAKE_INSTALL_PREFIX=$out -DCMAKE_BUILD_TYPE=Release`
   * and the store's fixed flags, then these.
   */
  cmakeFlags?: string[];
  cmakeDir?: string;
  /** Arguments of every make (build, check, install), and of one of them. */
  makeFlags?: string[];
  buildFlags?: string[];
  checkFlags?: string[];
  installFlags?: string[];
  /** make -j with the build's cores (default true). */
  enableParallelBuilding?: boolean;
  /** Run the check phase: `make check` (or `checkTarget`), or `ctest` for a CMake build. */
  doCheck?: boolean;
  checkTarget?: string;
  /** Leave the fixup phase's strip out (debug sections name the build directory: stripped by default). */
  dontStrip?: boolean;
  outputs?: string[];
  env?: Record<string, Stringish | Stringish[]>;
  /**
   * The shell, utilities and compiler of the build: default the store's `stdenv`, with the
   * C/C++ toolchain (`cc`, `c++` on PATH); `stdenvNoCC` for a package that compiles nothing
   * (smaller closure, no toolchain to build); `hostStdenv()` for the host's programs.
   */
  stdenv?: Stdenv;
  /** Host programs put on PATH before the stdenv's: an explicit choice, refused by --pure. */
  hostTools?: Array<string | HostTool>;
  meta?: Record<string, unknown>;
}

let setupSource: { store: string; src: SourcePath } | undefined;

export function mkDerivation(a: MkDerivationArgs): Drv {
  const name = a.name ?? (a.pname && a.version ? `${a.pname}-${a.version}` : a.pname);
  if (!name) throw new StoreError('EVAL', 'mkDerivation needs a name (or pname and version)');
  const setup = sourcePath(SETUP_SCRIPT, { name: 'hepstore-setup.sh' });
  if (setupSource?.store !== setup.storePath) setupSource = { store: setup.storePath, src: setup };
  // The C/C++ toolchain by default, as a package that compiles expects; stdenvNoCC opts out.
  const sd = a.stdenv ?? makeStdenv();
  const tools = [...sd.hostTools, ...(a.hostTools ?? []).map((t) => (typeof t === 'string' ? tool(t) : t))];
  const byName = new Map<string, HostTool>();
  for (const t of tools) byName.set(t.id.name, t);
  const hostToolPaths = [...byName.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([n, t]) => `${n}=${t.path}`).join(' ');
  const env: Record<string, Stringish | Stringish[]> = {
    name,
    ...(a.pname ? { pname: a.pname } : {}),
    ...(a.version ? { version: a.version } : {}),
    src: a.src ?? '',
    buildInputs: a.buildInputs ?? [],
    nativeBuildInputs: a.nativeBuildInputs ?? [],
    ...(sd.path ? { stdenvPath: sd.path } : {}),
    ...(hostToolPaths ? { hostToolPaths } : {}),
    doCheck: a.doCheck ?? false,
    enableParallelBuilding: a.enableParallelBuilding ?? true,
    ...(a.phases ? { phases: a.phases.join(' ') } : {}),
    ...(a.outputs ? { hepstoreOutputs: a.outputs.join(' ') } : {}),
    ...(a.patches?.length ? { patches: a.patches } : {}),
    ...(a.dontStrip ? { dontStrip: true } : {}),
    ...(a.checkTarget ? { checkTarget: a.checkTarget } : {}),
    ...(a.cmakeDir ? { cmakeDir: a.cmakeDir } : {}),
    ...a.env,
  };
  for (const f of ['patchFlags', 'configureFlags', 'cmakeFlags', 'makeFlags', 'buildFlags', 'checkFlags', 'installFlags'] as const) {
    const v = a[f];
    if (v?.length) env[f] = v;
  }
  for (const p of ['unpack', 'patch', 'configure', 'build', 'check', 'install', 'fixup'] as const) {
    const code = a[`${p}Phase`];
    if (code !== undefined) env[`${p}Phase`] = code;
  }
  for (const h of ['prePatch', 'postPatch', 'preConfigure', 'postConfigure', 'preBuild', 'postBuild', 'preCheck', 'postCheck', 'preInstall', 'postInstall', 'postFixup'] as const) {
    const code = a[h];
    if (code !== undefined) env[h] = code;
  }
  const drv = derivation({ name, builder: sd.shell, args: ['-e', setup], env, outputs: a.outputs });
  if (a.meta) drv.meta = { ...a.meta };
  if (a.version) drv.meta.version ??= a.version;
  return drv;
}
