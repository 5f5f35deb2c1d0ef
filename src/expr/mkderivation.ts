/**
 * `mkDerivation`: a package from phases (unpack, configure, build, check, install), run by a
 * generic shell builder with the declared host tools and inputs on PATH.
 */
import { fileURLToPath } from 'node:url';
import { StoreError } from '../errors.js';
import { derivation, type Drv, type Stringish } from './drv.js';
import { sourcePath, type SourcePath } from './path.js';
import { tool, type HostTool } from './host.js';

const SETUP_SCRIPT = fileURLToPath(new URL('../../../src/expr/setup.sh', import.meta.url));

/** The tools a phase script can expect, taken from the host unless a package brings its own. */
export const DEFAULT_HOST_TOOLS = [
  'mkdir', 'ln', 'cp', 'mv', 'rm', 'rmdir', 'cat', 'chmod', 'ls', 'touch', 'install', 'head', 'tail', 'sort', 'tr', 'cut',
  'wc', 'basename', 'dirname', 'env', 'sed', 'grep', 'find', 'xargs', 'tar', 'gzip', 'diff', 'cmp', 'true', 'false', 'test', 'expr',
];

export interface MkDerivationArgs {
  name?: string;
  pname?: string;
  version?: string;
  src?: Drv | SourcePath | string;
  buildInputs?: Array<Drv | SourcePath>;
  nativeBuildInputs?: Array<Drv | SourcePath>;
  unpackPhase?: string;
  configurePhase?: string;
  buildPhase?: string;
  checkPhase?: string;
  installPhase?: string;
  /** Phase names in order (default: unpack configure build check install). */
  phases?: string[];
  doCheck?: boolean;
  outputs?: string[];
  env?: Record<string, Stringish | Stringish[]>;
  /** Host programs made available on PATH (default: DEFAULT_HOST_TOOLS). Extra ones are added to the default. */
  hostTools?: Array<string | HostTool>;
  meta?: Record<string, unknown>;
}

let setupSource: { store: string; src: SourcePath } | undefined;

export function mkDerivation(a: MkDerivationArgs): Drv {
  const name = a.name ?? (a.pname && a.version ? `${a.pname}-${a.version}` : a.pname);
  if (!name) throw new StoreError('EVAL', 'mkDerivation needs a name (or pname and version)');
  const setup = sourcePath(SETUP_SCRIPT, { name: 'hepstore-setup.sh' });
  if (setupSource?.store !== setup.storePath) setupSource = { store: setup.storePath, src: setup };
  const tools = [...DEFAULT_HOST_TOOLS, ...(a.hostTools ?? [])].map((t) => (typeof t === 'string' ? tool(t) : t));
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
    hostToolPaths,
    doCheck: a.doCheck ?? false,
    ...(a.phases ? { phases: a.phases.join(' ') } : {}),
    ...a.env,
  };
  for (const p of ['unpack', 'configure', 'build', 'check', 'install'] as const) {
    const code = a[`${p}Phase`];
    if (code !== undefined) env[`${p}Phase`] = code;
  }
  const drv = derivation({ name, builder: '/bin/sh', args: ['-e', setup], env, outputs: a.outputs });
  if (a.meta) drv.meta = { ...a.meta };
  if (a.version) drv.meta.version ??= a.version;
  return drv;
}
