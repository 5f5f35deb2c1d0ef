import type { Command } from './command.js';
import { StoreError } from '../errors.js';
import { dumpPath } from '../archive/dump.js';

const dump: Command = {
  usage: 'store dump PATH > archive.tar',
  summary: 'Write the canonical archive (tar) of a file or tree to stdout: the bytes that narHash covers.',
  flags: {},
  async run(args, ctx) {
    if (args.positionals.length !== 1) throw new StoreError('USAGE', 'store dump takes exactly one PATH');
    await dumpPath(args.positionals[0], ctx.stdout);
    return 0;
  },
};
export default dump;
