import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { parseDerivation } from '../derivation/derivation.js';
import { resolveInstallable } from './resolve.js';

const showDerivation: Command = {
  usage: 'store show-derivation DRVPATH...',
  summary: 'Print .drv files as JSON: outputs, inputs, builder, args and environment.',
  flags: {},
  async run(args, ctx) {
    if (args.positionals.length === 0) throw new StoreError('USAGE', 'store show-derivation needs a .drv path');
    const store = await ctx.store();
    const out: Record<string, unknown> = {};
    for (const a of args.positionals) {
      const p = resolveInstallable(store, a, ctx.cwd);
      if (!p.endsWith('.drv')) throw new StoreError('USAGE', `'${p}' is not a .drv path`);
      out[p] = parseDerivation(fs.readFileSync(p, 'utf8'), path.basename(p).slice(33));
    }
    printJson(ctx, out);
    return 0;
  },
};
export default showDerivation;
