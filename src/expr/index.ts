/** The API that expression files import from "hepstore". */
export { derivation, Drv, isDrv, type DerivationArgs, type Stringish } from './drv.js';
export { sourcePath as path, writeText, SourcePath } from './path.js';
export { fetchurl, type FetchurlArgs } from './fetchurl.js';
export { host, tool as hostTool, HostTool, type HostToolOptions } from './host.js';
export { mkDerivation, type MkDerivationArgs } from './mkderivation.js';
export { stdenv, stdenvNoCC, makeStdenv, hostStdenv, STDENV_PACKAGES, DEFAULT_HOST_TOOLS, type Stdenv, type MakeStdenvOptions } from './stdenv.js';
export { ccWrapper, TOOLCHAIN_SET, CC_RUNTIME_PACKAGES, type CcWrapperOptions } from './cc.js';
export { buildTools, BUILD_TOOLS_SET, type BuildTools } from './build-tools.js';
export { packageSet, type PackageDefs } from './package-set.js';
export { zxDerivation, type ZxDerivationArgs } from './zx.js';
export { beginEvaluation, settings as evalSettings } from './context.js';
export { buildEnv, hiPrio, lowPrio, type BuildEnvArgs, type EnvPackage } from './buildenv.js';
export { debianPackages, fetchDeb, fetchDebianSource, sourcePoolDir, storeVersion, closureNames, type Pin, type PinnedSet, type DebianPackagesOptions, type DebianSourceFile } from './debian.js';
export { bootstrapSeed, bootstrapTools, bootstrapToolsFrom, BOOTSTRAP_SET, SEED_ROOTS } from './bootstrap.js';
export { unpackDeb, type UnpackDebArgs } from './unpack-deb.js';
