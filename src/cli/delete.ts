import type { Command } from './command.js';
import { gcKeepOptions, readStoreConfig } from '../store/config.js';
import { printJson } from './command.js';
import { resolveInstallable } from './resolve.js';
import { deletePaths } from '../gc/collect.js';
import { formatBytes, count } from '../gc/format.js';

const del: Command = {
  usage: 'store delete PATH... [--also-referrers] [--dry-run] [--json]',
  positionals: { min: 1, says: 'needs at least one PATH' },
  summary: 'Delete particular store paths if nothing live needs them; otherwise say which root keeps them alive (as store why).',
  flags: {
    'also-referrers': { kind: 'boolean', description: 'also delete the dead paths that refer to them' },
    'dry-run': { kind: 'boolean', description: 'print what would be deleted; change nothing' },
    json: { kind: 'boolean', description: 'print a JSON report' },
  },
  async run(args, ctx) {
    const store = await ctx.store({ gc: !args.flags['dry-run'] });
    const paths = args.positionals.map((a) => resolveInstallable(store, a, ctx.cwd));
    const r = await deletePaths(store, paths, {
      ...gcKeepOptions(readStoreConfig(store.layout.configFile), store.layout.configFile, {}),
      alsoReferrers: Boolean(args.flags['also-referrers']),
      dryRun: Boolean(args.flags['dry-run']),
      onWait: (holder) => ctx.stderr.write(`waiting for a garbage collection (pid ${holder}) to finish\n`),
    });
    if (args.flags.json) {
      printJson(ctx, { dryRun: r.dryRun, deleted: r.deleted, bytesFreed: r.bytesFreed });
      return 0;
    }
    const out = r.deleted.map((d) => d.path);
    out.push(`${r.dryRun ? 'would delete' : 'deleted'} ${count(r.deleted.length, 'path')}, ${r.dryRun ? 'freeing' : 'freed'} ${formatBytes(r.bytesFreed)} (${r.bytesFreed} bytes)`);
    ctx.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
export default del;
