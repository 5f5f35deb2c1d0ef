import type { Command } from './command.js';
import { StoreError } from '../errors.js';
import { hashPath } from '../archive/dump.js';

const hashPathCmd: Command = {
  usage: 'store hash-path PATH... [--size]',
  summary: "Print the sha256 of each path's canonical archive as an SRI string (the narHash it would get in the store).",
  flags: { size: { kind: 'boolean', description: 'also print the archive size in bytes' } },
  async run(args, ctx) {
    if (args.positionals.length === 0) throw new StoreError('USAGE', 'store hash-path needs at least one PATH');
    for (const p of args.positionals) {
      const nar = await hashPath(p);
      ctx.stdout.write(args.flags.size ? `${nar.narHash} ${nar.narSize}\n` : `${nar.narHash}\n`);
    }
    return 0;
  },
};
export default hashPathCmd;
