import type { Command } from './command.js';
import { hashPath } from '../archive/dump.js';

const hashPathCmd: Command = {
  usage: 'store hash-path PATH... [--size]',
  positionals: { min: 1, says: 'needs at least one PATH' },
  summary: "Print the sha256 of each path's canonical archive as an SRI string (the narHash it would get in the store).",
  flags: { size: { kind: 'boolean', description: 'also print the archive size in bytes' } },
  async run(args, ctx) {
    for (const p of args.positionals) {
      const nar = await hashPath(p);
      ctx.stdout.write(args.flags.size ? `${nar.narHash} ${nar.narSize}\n` : `${nar.narHash}\n`);
    }
    return 0;
  },
};
export default hashPathCmd;
