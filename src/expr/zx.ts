/**
 * zx builders: a build script written in JavaScript with zx's `$` for commands. The bootstrap
 * tools' node runs zx's command-line entry (zx itself is brought into the store by content),
 * with the stdenv (bash among it) on PATH — or, with `stdenv: hostStdenv()`, the host's node
 * and programs.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { derivation, type Drv, type Stringish } from './drv.js';
import { sourcePath, writeText, type SourcePath } from './path.js';
import { tool, type HostTool } from './host.js';
import { stdenvOf, type Stdenv } from './stdenv.js';
import { bootstrapTools } from './bootstrap.js';
import { checkArgsObject, checkKeys, describe, exprError, optionalArray, optionalRecord, packageElement, stringElement } from './check.js';

const ZX_KEYS: ReadonlySet<string> = new Set(['name', 'script', 'buildInputs', 'env', 'outputs', 'stdenv', 'hostTools']);

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
  checkArgsObject('zxDerivation', a);
  const r = a as unknown as Record<string, unknown>;
  checkKeys('zxDerivation', r, ZX_KEYS, undefined, "the build's environment variables go in env: { NAME: value }");
  if (typeof a.name !== 'string') throw exprError(a.name === undefined ? 'zxDerivation needs a name' : `zxDerivation: name must be a string, not ${describe(a.name)}`, { key: a.name === undefined ? undefined : 'name' });
  const fn = `zxDerivation '${a.name}'`;
  if (!a.script) throw exprError(`${fn} needs a script`);
  if (typeof a.script !== 'string' && (a.script as { kind?: unknown }).kind !== 'source') throw exprError(`${fn}: script must be a path(...) or the script's text, not ${describe(a.script)}`, { key: 'script' });
  optionalArray(fn, r, 'buildInputs', packageElement(fn, 'buildInputs'));
  optionalArray(fn, r, 'outputs', stringElement(fn, 'outputs'));
  optionalRecord(fn, r, 'env');
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
