import type { Command } from './command.js';
import { restoreArchive } from '../archive/restore.js';

const restore: Command = {
  usage: 'store restore DIR < archive.tar',
  positionals: { min: 1, max: 1, says: 'takes exactly one DIR' },
  summary: 'Restore a canonical archive from stdin to DIR (which must not exist). Hostile or corrupt archives are refused and leave nothing behind.',
  flags: {},
  async run(args, ctx) {
    const nar = await restoreArchive(process.stdin, args.positionals[0]);
    ctx.stdout.write(`${nar.narHash}\n`);
    return 0;
  },
};
export default restore;
