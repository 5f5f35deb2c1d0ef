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
import { checkArgsObject, checkKeys, describe, didYouMean, exprError, isPackageLike, optionalArray, optionalBoolean, optionalRecord, optionalString, packageElement, stringElement } from './check.js';

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
  /** UPPER_CASE keys are environment variables of the build, as if given in `env`. */
  [envVar: `${Uppercase<string>}`]: unknown;
}

/** The phases of the generic builder, in their default order. */
const DEFAULT_PHASES = ['unpack', 'patch', 'configure', 'build', 'check', 'install', 'fixup'] as const;

/** Shell code run before or after a phase. */
const HOOKS = ['prePatch', 'postPatch', 'preConfigure', 'postConfigure', 'preBuild', 'postBuild', 'preCheck', 'postCheck', 'preInstall', 'postInstall', 'postFixup'] as const;

/** Lists of words handed to the builder's tools. */
const FLAG_LISTS = ['patchFlags', 'configureFlags', 'cmakeFlags', 'makeFlags', 'buildFlags', 'checkFlags', 'installFlags'] as const;

const MK_KEYS: ReadonlySet<string> = new Set([
  'name', 'pname', 'version', 'src', 'buildInputs', 'nativeBuildInputs',
  ...DEFAULT_PHASES.map((p) => `${p}Phase`),
  ...HOOKS, ...FLAG_LISTS, 'patches', 'cmakeDir', 'checkTarget', 'enableParallelBuilding', 'dontStrip',
  'phases', 'doCheck', 'outputs', 'env', 'stdenv', 'hostTools', 'meta',
]);

/** A key that reads as an environment variable (CFLAGS, NIX_…, MY_OPTION_2). */
const ENV_VAR = /^[A-Z_][A-Z0-9_]*$/;
const PHASE_KEY = /^([a-z][A-Za-z0-9]*)Phase$/;

let setupSource: { store: string; src: SourcePath } | undefined;

/** Check mkDerivation's arguments; return the extra variables (UPPER_CASE keys, phases of `phases`). */
function checkMkArgs(a: MkDerivationArgs): Record<string, unknown> | undefined {
  checkArgsObject('mkDerivation', a);
  const r = a as unknown as Record<string, unknown>;
  const named = typeof r.name === 'string' ? r.name : typeof r.pname === 'string' ? r.pname : undefined;
  const fn = named === undefined ? 'mkDerivation' : `mkDerivation '${named}'`;
  const phases = optionalArray(fn, r, 'phases', stringElement(fn, 'phases'));
  let extra: Record<string, unknown> | undefined;
  const accept = (k: string): boolean => {
    if (ENV_VAR.test(k)) return true;
    // The code of a phase of its own, named in `phases`.
    const m = PHASE_KEY.exec(k);
    return m !== null && phases !== undefined && phases.includes(m[1]);
  };
  checkKeys('mkDerivation', r, MK_KEYS, accept, "the build's environment variables go in env: { name: value } (or as UPPER_CASE keys)");
  for (const k in r) if (!MK_KEYS.has(k)) (extra ??= {})[k] = r[k];
  for (const k of ['name', 'pname', 'version']) optionalString(fn, r, k);
  for (const p of DEFAULT_PHASES) optionalString(fn, r, `${p}Phase`);
  for (const h of HOOKS) optionalString(fn, r, h);
  for (const k of ['cmakeDir', 'checkTarget']) optionalString(fn, r, k);
  for (const k of ['doCheck', 'enableParallelBuilding', 'dontStrip']) optionalBoolean(fn, r, k);
  for (const f of FLAG_LISTS) optionalArray(fn, r, f, stringElement(fn, f));
  optionalArray(fn, r, 'patches', packageElement(fn, 'patches'));
  optionalArray(fn, r, 'outputs', stringElement(fn, 'outputs'));
  optionalArray(fn, r, 'buildInputs', packageElement(fn, 'buildInputs'));
  optionalArray(fn, r, 'nativeBuildInputs', packageElement(fn, 'nativeBuildInputs'));
  optionalRecord(fn, r, 'env');
  optionalRecord(fn, r, 'meta');
  optionalArray(fn, r, 'hostTools', (x, i) => {
    if (typeof x === 'string' || (x !== null && typeof x === 'object' && (x as { kind?: unknown }).kind === 'host-tool')) return;
    throw exprError(`${fn}: hostTools[${i}] must be a program name or host.tool(...), not ${describe(x)}`, { key: 'hostTools' });
  });
  if ('src' in r && !isPackageLike(r.src)) {
    throw exprError(`${fn}: src is ${describe(r.src)}, not a derivation or a path`, {
      key: 'src',
      hint: r.src === undefined || r.src === null ? 'leave src out for a package without sources, or look for a misspelt attribute' : 'give a fetchurl(...) or path(...)',
    });
  }
  if (a.stdenv !== undefined && (a.stdenv === null || typeof a.stdenv !== 'object' || !('shell' in a.stdenv))) {
    throw exprError(`${fn}: stdenv must be a stdenv (stdenv, stdenvNoCC, hostStdenv()), not ${describe(a.stdenv)}`, { key: 'stdenv' });
  }
  if (phases) {
    for (const p of phases) {
      if ((DEFAULT_PHASES as readonly string[]).includes(p) || r[`${p}Phase`] !== undefined || (a.env as Record<string, unknown> | undefined)?.[`${p}Phase`] !== undefined) continue;
      throw exprError(`${fn}: phases has '${p}', which is neither a phase of the builder nor given as ${p}Phase${didYouMean(p, DEFAULT_PHASES)}`, {
        key: 'phases',
        hint: `the builder's phases are ${DEFAULT_PHASES.join(', ')}; a phase of your own needs its code as ${p}Phase`,
      });
    }
  }
  return extra;
}

export function mkDerivation(a: MkDerivationArgs): Drv {
  const extra = checkMkArgs(a);
  const name = a.name ?? (a.pname && a.version ? `${a.pname}-${a.version}` : a.pname);
  if (!name) throw exprError('mkDerivation needs a name (or pname and version)', { hint: "give name: 'foo-1.0', or pname: 'foo' and version: '1.0'" });
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
    ...(extra as Record<string, Stringish | Stringish[]> | undefined),
    ...(a.outputs ? { hepstoreOutputs: a.outputs.join(' ') } : {}),
    ...(a.patches?.length ? { patches: a.patches } : {}),
    ...(a.dontStrip ? { dontStrip: true } : {}),
    ...(a.checkTarget ? { checkTarget: a.checkTarget } : {}),
    ...(a.cmakeDir ? { cmakeDir: a.cmakeDir } : {}),
    ...a.env,
  };
  for (const f of FLAG_LISTS) {
    const v = a[f];
    if (v?.length) env[f] = v;
  }
  for (const p of DEFAULT_PHASES) {
    const code = a[`${p}Phase`];
    if (code !== undefined) env[`${p}Phase`] = code;
  }
  for (const h of HOOKS) {
    const code = a[h];
    if (code !== undefined) env[h] = code;
  }
  const drv = derivation({ name, builder: sd.shell, args: ['-e', setup], env, outputs: a.outputs });
  if (a.meta) drv.meta = { ...a.meta };
  if (a.version) drv.meta.version ??= a.version;
  return drv;
}
