import type { Command } from './command.js';
import { dumpPath } from '../archive/dump.js';

const dump: Command = {
  usage: 'store dump PATH > archive.tar',
  positionals: { min: 1, max: 1, says: 'takes exactly one PATH' },
  summary: 'Write the canonical archive (tar) of a file or tree to stdout: the bytes that narHash covers.',
  flags: {},
  async run(args, ctx) {
    await dumpPath(args.positionals[0], ctx.stdout);
    return 0;
  },
};
export default dump;
