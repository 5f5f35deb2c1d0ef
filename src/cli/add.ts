import type { Command } from './command.js';
import { StoreError } from '../errors.js';

const add: Command = {
  usage: 'store add PATH... [--name NAME]',
  positionals: { min: 1, says: 'needs at least one PATH' },
  summary: 'Copy files or trees into the store by content, canonicalised and read-only, and print their store paths.',
  flags: { name: { kind: 'string', description: 'store name to use instead of the base name (one PATH only)' } },
  async run(args, ctx) {
    const name = args.flags.name as string | undefined;
    if (name !== undefined && args.positionals.length > 1) throw new StoreError('USAGE', '--name goes with a single PATH');
    const store = await ctx.store();
    for (const p of args.positionals) ctx.stdout.write((await store.addToStore(p, name)) + '\n');
    return 0;
  },
};
export default add;
