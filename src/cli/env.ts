/** `store env FILE`: realize an environment and print its activation (sh, csh or JSON). */
import path from 'node:path';
import type { Command, Context } from './command.js';
import type { Parsed } from './args.js';
import { StoreError } from '../errors.js';
import { REALIZE_FLAGS, realizeArg } from './realize-file.js';
import { activation, formatCsh, formatJson, formatSh, type Activation } from '../profile/activation.js';

const FORMATS = ['sh', 'csh', 'json'] as const;

/** Realize FILE (or take a store path or ./result) and read the activation of its one output. */
export async function environmentOf(arg: string | undefined, args: Parsed, ctx: Context, command: string): Promise<Activation> {
  if (arg === undefined) throw new StoreError('USAGE', `store ${command} takes an expression FILE (or a store path)`, { hint: `e.g. store ${command} env.ts` });
  const store = await ctx.store();
  const outs = await realizeArg(store, arg, args, ctx);
  const drvs = new Set(outs.map((o) => o.drvPath ?? o.path));
  if (drvs.size !== 1) {
    throw new StoreError('USAGE', `'${arg}' names ${drvs.size} derivations; an environment is one`, { hint: `choose one with --attr (${[...new Set(outs.map((o) => o.attr))].filter(Boolean).join(', ')})` });
  }
  return activation(outs[0].path);
}

const env: Command = {
  usage: 'store env FILE|PATH [--attr NAME] [--format sh|csh|json] [--out-link PATH]',
  summary: [
    'Realize an environment (e.g. a buildEnv) and print the variables that activate it: PATH, MANPATH,',
    'PKG_CONFIG_PATH, CMAKE_PREFIX_PATH… wherever the environment has those directories.',
    '  eval "$(store env env.ts)"            sh, bash, zsh',
    '  eval "`store env env.ts --format csh`"   csh, tcsh',
  ].join('\n'),
  flags: {
    ...REALIZE_FLAGS,
    format: { kind: 'string', short: 'f', description: 'sh (default), csh or json' },
    'out-link': { kind: 'string', short: 'o', description: 'also make this symlink to the environment, a GC root (otherwise only this command keeps it alive)' },
  },
  async run(args, ctx) {
    if (args.positionals.length > 1) throw new StoreError('USAGE', 'store env takes one FILE');
    const format = (args.flags.format as string | undefined) ?? 'sh';
    if (!(FORMATS as readonly string[]).includes(format)) throw new StoreError('USAGE', `--format must be one of ${FORMATS.join(', ')} (got '${format}')`);
    const a = await environmentOf(args.positionals[0], args, ctx, 'env');
    if (args.flags['out-link']) {
      const { addOutLink } = await import('../gc/roots.js');
      addOutLink((await ctx.store()).layout, path.resolve(ctx.cwd, args.flags['out-link'] as string), a.storePath);
    }
    ctx.stdout.write(format === 'json' ? formatJson(a) : format === 'csh' ? formatCsh(a) : formatSh(a));
    return 0;
  },
};
export default env;
