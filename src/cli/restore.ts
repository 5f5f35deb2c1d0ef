import type { Command } from './command.js';
import { StoreError } from '../errors.js';
import { restoreArchive } from '../archive/restore.js';

const restore: Command = {
  usage: 'store restore DIR < archive.tar',
  summary: 'Restore a canonical archive from stdin to DIR (which must not exist). Hostile or corrupt archives are refused and leave nothing behind.',
  flags: {},
  async run(args, ctx) {
    if (args.positionals.length !== 1) throw new StoreError('USAGE', 'store restore takes exactly one DIR');
    const nar = await restoreArchive(process.stdin, args.positionals[0]);
    ctx.stdout.write(`${nar.narHash}\n`);
    return 0;
  },
};
export default restore;
