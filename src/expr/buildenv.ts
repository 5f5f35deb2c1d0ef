/**
 * `buildEnv`: an environment view — one symlink tree merging the outputs of several packages,
 * so that activating it takes a handful of variables (PATH=<env>/bin …), never one entry per
 * package. Made by `builtin:buildenv` (src/realize/buildenv.ts), in-process and deterministic;
 * postBuild and the check phase then run in the sandbox with the stdenv's shell.
 */
import path from 'node:path';
import { BUILDENV, builtinEnv } from '../derivation/builtins.js';
import { derivation, isDrv, type Drv, type Stringish } from './drv.js';
import { SourcePath } from './path.js';
import { tool, type HostTool } from './host.js';
import { stdenvOf, type Stdenv } from './stdenv.js';
import { checkArgsObject, checkKeys, describe, exprError, optionalArray, optionalBoolean, optionalRecord, optionalString, stringElement } from './check.js';

const BUILDENV_KEYS: ReadonlySet<string> = new Set(['name', 'paths', 'pathsToLink', 'ignoreCollisions', 'copyFiles', 'postBuild', 'doCheck', 'checkPhase', 'stdenv', 'hostTools', 'env', 'meta']);

/** The priority of a package that names none (as Nix's meta.priority). */
export const DEFAULT_PRIORITY = 5;

export type EnvPackage = Drv | SourcePath;

export interface BuildEnvArgs {
  name: string;
  /** Packages to merge: derivations (or one of their outputs, `pkg.dev`), store sources, or { path, priority }. */
  paths: Array<EnvPackage | { path: EnvPackage; priority?: number }>;
  /** Only link entries below these paths (default ['/']: everything). */
  pathsToLink?: string[];
  /** On a collision keep the first package's file instead of failing (a warning goes to the log). */
  ignoreCollisions?: boolean;
  /** Relative paths copied as real files, e.g. an interpreter that finds its installation from its own location. */
  copyFiles?: string[];
  /** Shell code run after linking, with $out the environment (its bin/ first on PATH). */
  postBuild?: string;
  /** Run checkPhase after postBuild; the build fails if it does. */
  doCheck?: boolean;
  checkPhase?: string;
  /** The shell and utilities of postBuild and checkPhase (default: the store's `stdenv`). */
  stdenv?: Stdenv;
  /** Host programs on PATH for postBuild and checkPhase (none by default, so that the environment depends on its packages only). */
  hostTools?: Array<string | HostTool>;
  /** More variables for postBuild and checkPhase. */
  env?: Record<string, Stringish | Stringish[]>;
  meta?: Record<string, unknown>;
}

const PHASES = `set -e
PATH="$out/bin\${hostToolDirs:+:$hostToolDirs}\${stdenvPath:+:$stdenvPath}"
export PATH
if [ -n "$postBuild" ]; then
  echo "hepstore: running postBuild"
  eval "$postBuild"
fi
if [ -n "$doCheck" ]; then
  echo "hepstore: running check phase"
  if "$stdenvShell" -ec "$checkPhase"; then :; else
    status=$?
    echo "hepstore: check phase failed with exit code $status"
    exit $status
  fi
fi
`;

function relative(p: string, what: string, name: string): string {
  const parts = p.split('/').filter((x) => x !== '');
  if (parts.some((x) => x === '.' || x === '..')) throw exprError(`buildEnv '${name}': ${what} '${p}' may not contain '.' or '..'`);
  return parts.join('/');
}

function priorityOf(p: EnvPackage, given: number | undefined, name: string): number {
  const meta = isDrv(p) ? p.meta.priority : undefined;
  const prio = given ?? (typeof meta === 'number' ? meta : DEFAULT_PRIORITY);
  if (!Number.isFinite(prio)) throw exprError(`buildEnv '${name}': the priority of '${p}' is not a number`);
  return prio;
}

/** A package with a better priority than the default: its files win collisions. */
export function hiPrio<T extends EnvPackage>(p: T): { path: T; priority: number } {
  return { path: p, priority: -10 };
}

/** A package with a worse priority than the default: its files lose collisions. */
export function lowPrio<T extends EnvPackage>(p: T): { path: T; priority: number } {
  return { path: p, priority: 10 };
}

export function buildEnv(a: BuildEnvArgs): Drv {
  checkArgsObject('buildEnv', a);
  const r = a as unknown as Record<string, unknown>;
  checkKeys('buildEnv', r, BUILDENV_KEYS, undefined, "the build's environment variables go in env: { NAME: value }");
  if (typeof a.name !== 'string') throw exprError(a.name === undefined ? 'buildEnv needs a name' : `buildEnv: name must be a string, not ${describe(a.name)}`, { key: a.name === undefined ? undefined : 'name' });
  const fn = `buildEnv '${a.name}'`;
  if (!Array.isArray(a.paths)) throw exprError(`${fn} needs paths: an array of packages${a.paths === undefined ? '' : `, not ${describe(a.paths)}`}`, { key: a.paths === undefined ? undefined : 'paths' });
  for (const k of ['postBuild', 'checkPhase']) optionalString(fn, r, k);
  for (const k of ['ignoreCollisions', 'doCheck']) optionalBoolean(fn, r, k);
  for (const k of ['pathsToLink', 'copyFiles']) optionalArray(fn, r, k, stringElement(fn, k));
  optionalRecord(fn, r, 'env');
  optionalRecord(fn, r, 'meta');
  const packages: Array<{ path: string; priority: number }> = [];
  const seen = new Set<string>();
  a.paths.forEach((entry, i) => {
    const p = isDrv(entry) || entry instanceof SourcePath ? entry : (entry as { path?: EnvPackage })?.path;
    if (!isDrv(p) && !(p instanceof SourcePath)) {
      throw exprError(`buildEnv '${a.name}': paths[${i}] is ${describe(entry)}, not a package`, { key: 'paths', hint: 'give derivations, path(...) sources, or { path: pkg, priority: n }' });
    }
    const given = isDrv(entry) || entry instanceof SourcePath ? undefined : (entry as { priority?: number }).priority;
    const storePath = p.toString();
    if (seen.has(storePath)) return;
    seen.add(storePath);
    packages.push({ path: storePath, priority: priorityOf(p, given, a.name) });
  });
  if (a.doCheck && !a.checkPhase) throw exprError(`buildEnv '${a.name}' has doCheck but no checkPhase`);
  const spec = {
    packages,
    pathsToLink: (a.pathsToLink ?? ['/']).map((p) => relative(p, 'pathsToLink', a.name)),
    ignoreCollisions: a.ignoreCollisions ?? false,
    copyFiles: (a.copyFiles ?? []).map((p) => relative(p, 'copyFiles', a.name)).sort(),
  };
  for (const c of spec.copyFiles) if (c === '') throw exprError(`buildEnv '${a.name}': copyFiles needs file paths, not '/'`);
  const runsPhases = Boolean(a.postBuild) || Boolean(a.doCheck);
  const sd = runsPhases ? stdenvOf(a.stdenv) : undefined;
  const tools = [...(sd?.hostTools ?? []), ...(a.hostTools ?? []).map((t) => (typeof t === 'string' ? tool(t) : t))];
  const drv = derivation({
    name: a.name,
    builder: BUILDENV.builder,
    args: sd ? [sd.shell, '-c', PHASES] : [],
    env: {
      ...a.env,
      __buildEnv: JSON.stringify(spec),
      ...(sd ? { stdenvShell: sd.shell, ...(sd.path ? { stdenvPath: sd.path } : {}) } : {}),
      ...(a.postBuild ? { postBuild: a.postBuild } : {}),
      ...(a.doCheck ? { doCheck: true, checkPhase: a.checkPhase } : {}),
      ...(tools.length ? { hostToolDirs: [...new Set(tools.map((t) => path.dirname(t.path)))].join(':'), hostTools: tools.map((t) => t.path) } : {}),
      ...builtinEnv(BUILDENV),
    },
  });
  if (a.meta) drv.meta = { ...a.meta };
  return drv;
}
