import fs from 'node:fs';
import type { Command } from './command.js';
import { StoreError } from '../errors.js';
import { logPath } from '../realize/builder.js';
import { resolveInstallable } from './resolve.js';

const log: Command = {
  usage: 'store log PATH',
  positionals: { min: 1, max: 1, says: 'takes exactly one PATH' },
  summary: 'Print the build log of a store path (an output, or the .drv that built it).',
  flags: {},
  async run(args, ctx) {
    const store = await ctx.store();
    const p = resolveInstallable(store, args.positionals[0], ctx.cwd);
    const drv = p.endsWith('.drv') ? p : (store.queryPathInfo(p)?.deriver ?? store.queryValidDerivers(p)[0]);
    if (!drv) throw new StoreError('NOT_VALID', `no build log for '${p}': it was not built here`, { hint: 'paths added, imported or substituted have no log' });
    const file = logPath(store.layout.logDir, drv);
    if (!fs.existsSync(file)) throw new StoreError('NOT_VALID', `no build log for '${p}' (looked for ${file})`);
    ctx.stdout.write(fs.readFileSync(file));
    return 0;
  },
};

export default log;
