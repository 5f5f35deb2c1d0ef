/** `store shell FILE`: realize an environment and run a shell (or one command) inside it. */
import os from 'node:os';
import { spawn } from 'node:child_process';
import type { Command } from './command.js';
import { StoreError } from '../errors.js';
import { REALIZE_FLAGS } from './realize-file.js';
import { applyActivation } from '../profile/activation.js';
import { environmentOf } from './env.js';

/** What --pure keeps of the caller's environment (as nix-shell --pure). */
const PURE_KEEP = ['HOME', 'USER', 'LOGNAME', 'TERM', 'DISPLAY', 'WAYLAND_DISPLAY', 'XAUTHORITY', 'TZ', 'LANG', 'PAGER', 'SHLVL'];

const shell: Command = {
  usage: 'store shell FILE|PATH|--profile NAME [--attr NAME] [-c COMMAND] [--pure [--keep VAR...]] [--hermetic]',
  positionals: { min: 0, max: 1, says: 'takes one FILE', hint: "to run a command, use -c 'COMMAND ARGS'" },
  summary: [
    'Realize an environment and start $SHELL (or /bin/sh) with it activated; with -c, run COMMAND',
    'with /bin/sh instead. Exits with the status of the shell or command. The environment stays',
    'alive (a temporary GC root) while the shell runs.',
  ].join('\n'),
  flags: {
    ...REALIZE_FLAGS,
    profile: { kind: 'string', short: 'p', description: 'the environment of this profile of the user (see store profile list)' },
    command: { kind: 'string', short: 'c', description: 'run this command with /bin/sh -c instead of an interactive shell' },
    pure: { kind: 'boolean', description: `clear the environment except ${PURE_KEEP.join(', ')} (PATH is only the environment's)` },
    keep: { kind: 'strings', description: 'with --pure: keep these variables too' },
    hermetic: { kind: 'boolean', description: 'what --pure is for realize: refuse an environment whose closure uses a host tool or a host program as builder (default: "pure" of etc/hepstore.json)' },
  },
  async run(args, ctx) {
    if (args.flags.keep && !args.flags.pure) throw new StoreError('USAGE', '--keep goes with --pure');
    // --pure here keeps nothing of the caller's environment (as nix-shell's); --hermetic is
    // the --pure of the realize options.
    const a = await environmentOf(args.positionals[0], { ...args, flags: { ...args.flags, pure: args.flags.hermetic } }, ctx, 'shell');
    const keep = new Set([...PURE_KEEP, ...((args.flags.keep as string[] | undefined) ?? [])]);
    const base = args.flags.pure ? Object.fromEntries(Object.entries(process.env).filter(([k]) => keep.has(k))) : process.env;
    const env = applyActivation(a, base);
    const command = args.flags.command as string | undefined;
    const program = command !== undefined ? '/bin/sh' : process.env.SHELL || '/bin/sh';
    const child = spawn(program, command !== undefined ? ['-c', command] : [], { cwd: ctx.cwd, env, stdio: 'inherit' });
    // The terminal's interrupt goes to the shell; this process waits for it.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    process.on('SIGQUIT', ignore);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once('error', (e) => reject(new StoreError('USAGE', `cannot run '${program}': ${e.message}`)));
        child.once('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
      });
    } finally {
      process.off('SIGINT', ignore);
      process.off('SIGQUIT', ignore);
    }
  },
};
export default shell;
