/** The API that expression files import from "hepstore". */
import { derivation as makeDerivation, lazyErrors } from './drv.js';
import { fetchurl as makeFetchurl } from './fetchurl.js';
import { mkDerivation as makeMkDerivation } from './mkderivation.js';
import { zxDerivation as makeZxDerivation } from './zx.js';
import { buildEnv as makeBuildEnv } from './buildenv.js';
import { unpackDeb as makeUnpackDeb } from './unpack-deb.js';
import { urlName } from './fetchurl.js';

// The functions that make derivations keep a mistake in the value they return, raised where
// it is used (see BrokenDrv): an error in one export does not stop --attr of another.
const field = (a: unknown, k: string): unknown => (a && typeof a === 'object' ? (a as Record<string, unknown>)[k] : undefined);
export const derivation = lazyErrors(makeDerivation, (a) => field(a, 'name'));
export const fetchurl = lazyErrors(makeFetchurl, (a) => field(a, 'name') ?? (typeof field(a, 'url') === 'string' ? urlName(field(a, 'url') as string) : undefined));
export const mkDerivation = lazyErrors(makeMkDerivation, (a) => field(a, 'name') ?? `${String(field(a, 'pname'))}-${String(field(a, 'version'))}`);
export const zxDerivation = lazyErrors(makeZxDerivation, (a) => field(a, 'name'));
export const buildEnv = lazyErrors(makeBuildEnv, (a) => field(a, 'name'));
export const unpackDeb = lazyErrors(makeUnpackDeb, (a) => field(a, 'name'));
export { Drv, isDrv, type DerivationArgs, type Stringish } from './drv.js';
export { sourcePath as path, writeText, SourcePath } from './path.js';
export { type FetchurlArgs } from './fetchurl.js';
export { host, tool as hostTool, HostTool, type HostToolOptions } from './host.js';
export { type MkDerivationArgs } from './mkderivation.js';
export { stdenv, stdenvNoCC, shellOnlyStdenv, makeStdenv, hostStdenv, STDENV_PACKAGES, DEFAULT_HOST_TOOLS, type Stdenv, type MakeStdenvOptions } from './stdenv.js';
export { ccWrapper, TOOLCHAIN_SET, CC_RUNTIME_PACKAGES, type CcWrapperOptions } from './cc.js';
export { buildTools, BUILD_TOOLS_SET, type BuildTools } from './build-tools.js';
export { packageSet, type PackageDefs } from './package-set.js';
export { type ZxDerivationArgs } from './zx.js';
export { beginEvaluation, settings as evalSettings } from './context.js';
export { hiPrio, lowPrio, type BuildEnvArgs, type EnvPackage } from './buildenv.js';
export { debianPackages, fetchDeb, fetchDebianSource, sourcePoolDir, storeVersion, closureNames, type Pin, type PinnedSet, type DebianPackagesOptions, type DebianSourceFile } from './debian.js';
export { bootstrapSeed, bootstrapTools, bootstrapToolsFrom, BOOTSTRAP_SET, SEED_ROOTS } from './bootstrap.js';
export { type UnpackDebArgs } from './unpack-deb.js';
