/**
 * zx builders: a build script written in JavaScript with zx's `$` for commands. The bootstrap
 * tools' node runs zx's command-line entry (zx itself is brought into the store by content),
 * with the stdenv (bash among it) on PATH — or, with `stdenv: hostStdenv()`, the host's node
 * and programs.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { StoreError } from '../errors.js';
import { derivation, type Drv, type Stringish } from './drv.js';
import { sourcePath, writeText, type SourcePath } from './path.js';
import { tool, type HostTool } from './host.js';
import { stdenvOf, type Stdenv } from './stdenv.js';
import { bootstrapTools } from './bootstrap.js';

const require = createRequire(import.meta.url);

function zxPackage(): SourcePath {
  const dir = path.dirname(require.resolve('zx/package.json'));
  return sourcePath(dir, { name: 'zx' });
}

export interface ZxDerivationArgs {
  name: string;
  /** The build script: a path('./build.mjs'), or its text. It sees $out etc. in process.env. */
  script: SourcePath | string;
  buildInputs?: Array<Drv | SourcePath>;
  env?: Record<string, Stringish | Stringish[]>;
  outputs?: string[];
  /** The stdenv whose programs are on PATH (default: the store's). */
  stdenv?: Stdenv;
  /** Host programs put on PATH before the stdenv's: an explicit choice, refused by --pure. */
  hostTools?: Array<string | HostTool>;
}

export function zxDerivation(a: ZxDerivationArgs): Drv {
  if (!a.script) throw new StoreError('EVAL', `zxDerivation '${a.name}' needs a script`);
  const script = typeof a.script === 'string' ? writeText(`${a.name}-build.mjs`, a.script) : a.script;
  const sd = stdenvOf(a.stdenv);
  const host = sd.name === 'host';
  const node = host ? tool(process.execPath) : `${bootstrapTools()}/bin/node`;
  const tools = [...(host ? [tool('bash')] : []), ...sd.hostTools, ...(a.hostTools ?? []).map((t) => (typeof t === 'string' ? tool(t) : t))];
  const bins = new Set<string>();
  for (const i of a.buildInputs ?? []) bins.add(`${i}/bin`);
  for (const t of tools) bins.add(path.dirname(t.path));
  if (sd.path) bins.add(sd.path);
  return derivation({
    name: a.name,
    builder: node,
    args: [`${zxPackage()}/build/cli.js`, '--quiet', script],
    env: {
      // The tools are named one by one so that their identities go into the hash.
      ...(tools.length ? { hostTools: tools.map((t) => t.path) } : {}),
      PATH: [...bins].join(':'),
      buildInputs: a.buildInputs ?? [],
      ...a.env,
    },
    outputs: a.outputs,
  });
}
