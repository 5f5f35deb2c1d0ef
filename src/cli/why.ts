import type { Command } from './command.js';
import { gcKeepOptions, readStoreConfig } from '../store/config.js';
import { printJson } from './command.js';
import { resolveInstallable } from './resolve.js';
import { explain } from '../gc/why.js';
import { formatAge } from '../gc/format.js';

const why: Command = {
  usage: 'store why PATH [--json] [--keep-derivations] [--keep-outputs]',
  positionals: { min: 1, max: 1, says: 'takes exactly one PATH' },
  summary: 'Explain why a store path is alive: for every root that keeps it, the chain of references from the root down to PATH.',
  flags: {
    json: { kind: 'boolean', description: 'print JSON' },
    'keep-derivations': { kind: 'boolean', description: 'follow outputs to their .drv files too (the default, as gc; "keepDerivations": false in etc/hepstore.json turns it off)' },
    'keep-outputs': { kind: 'boolean', description: 'follow .drv files to their outputs too (as gc --keep-outputs)' },
  },
  async run(args, ctx) {
    const store = await ctx.store();
    const p = resolveInstallable(store, args.positionals[0], ctx.cwd);
    const e = explain(store, p, gcKeepOptions(readStoreConfig(store.layout.configFile), store.layout.configFile, args.flags));
    if (args.flags.json) {
      printJson(ctx, { path: e.path, alive: e.alive, chains: e.chains.map((c) => ({ kind: c.root.kind, root: c.root.name, time: c.root.time ?? null, chain: c.chain })) });
      return 0;
    }
    if (!e.alive) {
      ctx.stdout.write(`${p} is not reachable from any root: 'store gc' would delete it\n`);
      return 0;
    }
    const now = Math.floor(Date.now() / 1000);
    const out = [`${p} is kept alive by ${e.chains.length} root${e.chains.length === 1 ? '' : 's'}:`];
    for (const c of e.chains) {
      const age = c.root.time !== undefined ? `, ${formatAge(now - c.root.time)} old` : '';
      out.push('', `${c.root.kind} ${c.root.name}${age}`);
      c.chain.forEach((q, i) => out.push(`  ${i === 0 ? '' : '-> '}${q}`));
    }
    ctx.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
export default why;
