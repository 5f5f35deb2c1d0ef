import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { parseDerivation } from '../derivation/derivation.js';
import { requireDerivation, resolveInstallable } from './resolve.js';
import type { Store } from '../store/store.js';

const showDerivation: Command = {
  usage: 'store show-derivation DRVPATH|OUTPUT...',
  positionals: { min: 1, says: 'needs a .drv path' },
  summary: 'Print .drv files as JSON: outputs, inputs, builder, args and environment. An output (./result, a store path) stands for the .drv that made it.',
  flags: {},
  async run(args, ctx) {
    const store = await ctx.store();
    const out: Record<string, unknown> = {};
    for (const a of args.positionals) {
      const p = derivationOf(store, resolveInstallable(store, a, ctx.cwd), a);
      out[p] = parseDerivation(fs.readFileSync(p, 'utf8'), path.basename(p).slice(33));
    }
    printJson(ctx, out);
    return 0;
  },
};
/** The .drv path `p` is, or the one that made the output `p` (as recorded when it was built). */
function derivationOf(store: Store, p: string, arg: string): string {
  if (p.endsWith('.drv')) {
    requireDerivation(store, p);
    return p;
  }
  const info = store.queryPathInfo(p);
  if (!info) throw new StoreError('NOT_IN_STORE', `'${arg}' is not valid in the store`, { hint: 'it was never added, or it was garbage-collected' });
  if (!info.deriver) throw new StoreError('USAGE', `'${p}' has no derivation: it was added, imported or substituted without one`);
  if (!store.queryPathInfo(info.deriver)) {
    throw new StoreError('NOT_IN_STORE', `'${p}' was made by '${info.deriver}', which is no longer in the store`, { hint: 'realize its expression again to write the .drv files (gc with keepDerivations off removes them)' });
  }
  return info.deriver;
}

export default showDerivation;
