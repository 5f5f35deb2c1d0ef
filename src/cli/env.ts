/**
 * `store env FILE`: realize an environment and print its activation (sh, csh or JSON). A
 * profile (`--profile NAME`, or a link that leads through the profiles directory) is
 * activated through its link, so that installs and rollbacks take effect where it is active.
 */
import path from 'node:path';
import type { Command, Context } from './command.js';
import type { Parsed } from './args.js';
import { StoreError } from '../errors.js';
import { REALIZE_FLAGS, realizeArg } from './realize-file.js';
import { activation, formatCsh, formatJson, formatSh, type Activation } from '../profile/activation.js';
import { Profile, isManifestOnly } from '../profile/profiles.js';
import { linkChain } from './resolve.js';

const FORMATS = ['sh', 'csh', 'json'] as const;

/**
 * Realize FILE (or take a store path, ./result or a profile) and read the activation of its one
 * output. With --profile NAME, the activation of that profile.
 */
export async function environmentOf(arg: string | undefined, args: Parsed, ctx: Context, command: string): Promise<Activation> {
  const store = await ctx.store();
  const profileName = args.flags.profile as string | undefined;
  if (profileName !== undefined) {
    if (arg !== undefined) throw new StoreError('USAGE', `store ${command} takes either FILE or --profile NAME, not both`);
    const prof = new Profile(store.layout, profileName);
    if (prof.current() === undefined) throw new StoreError('USAGE', `profile '${prof.name}' has no generations yet`, { hint: `install something first: store profile install FILE${prof.name === 'default' ? '' : ` --profile ${prof.name}`}` });
    arg = prof.link;
  }
  if (arg === undefined) throw new StoreError('USAGE', `store ${command} takes an expression FILE (or a store path, or --profile NAME)`, { hint: `e.g. store ${command} env.ts` });
  const outs = await realizeArg(store, arg, args, ctx);
  const drvs = new Set(outs.map((o) => o.drvPath ?? o.path));
  if (drvs.size !== 1) {
    throw new StoreError('USAGE', `'${arg}' names ${drvs.size} derivations; an environment is one`, { hint: `choose one with --attr (${[...new Set(outs.map((o) => o.attr))].filter(Boolean).join(', ')})` });
  }
  const abs = path.resolve(ctx.cwd, arg);
  const viaProfile = linkChain(abs, store.storeDir)?.some((p) => p.startsWith(store.layout.profilesDir + '/'));
  if (viaProfile && isManifestOnly(outs[0].path)) {
    throw new StoreError('USAGE', `the current generation of '${arg}' is a manifest from an older hepstore, with no bin/ to activate (${outs[0].path})`, {
      hint: 'make a new generation: store profile install (or remove) anything, then activate it again',
    });
  }
  return activation(outs[0].path, viaProfile ? abs : outs[0].path);
}

const env: Command = {
  usage: 'store env FILE|PATH [--attr NAME] [--format sh|csh|json] [--out-link PATH] | store env --profile NAME',
  positionals: { min: 0, max: 1, says: 'takes one FILE (or --profile NAME)' },
  summary: [
    'Realize an environment (e.g. a buildEnv) and print the variables that activate it: PATH, MANPATH,',
    'PKG_CONFIG_PATH, CMAKE_PREFIX_PATH… wherever the environment has those directories.',
    '  eval "$(store env env.ts)"            sh, bash, zsh',
    '  eval "`store env env.ts --format csh`"   csh, tcsh',
    'A profile (--profile NAME, or the path of a profile link) is activated through its link: PATH gets',
    '<profile>/bin, so a later install or rollback takes effect without activating it again.',
    '  eval "$(store env --profile default)"',
  ].join('\n'),
  flags: {
    ...REALIZE_FLAGS,
    format: { kind: 'string', short: 'f', description: 'sh (default), csh or json' },
    profile: { kind: 'string', short: 'p', description: 'activate this profile of the user (see store profile list)' },
    'out-link': { kind: 'string', short: 'o', description: 'also make this symlink to the environment, a GC root (otherwise only this command keeps it alive)' },
  },
  async run(args, ctx) {
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
