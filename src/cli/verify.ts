import type { Command } from './command.js';
import { printJson } from './command.js';
import { resolveInstallable } from './resolve.js';

const verify: Command = {
  usage: 'store verify [PATH...] [--check-contents] [--json]',
  summary:
    'Check that every valid path (or the closure of the given PATHs) exists on disk; with --check-contents, re-hash each one against its recorded narHash. Exits 1 if anything is missing or modified.',
  flags: {
    'check-contents': { kind: 'boolean', description: 're-hash every path and compare with its narHash' },
    json: { kind: 'boolean', description: 'print the report as JSON' },
  },
  async run(args, ctx) {
    const store = await ctx.store();
    const paths = args.positionals.length ? store.queryClosure(args.positionals.map((a) => resolveInstallable(store, a, ctx.cwd))) : undefined;
    const report = await store.verify({ checkContents: Boolean(args.flags['check-contents']), paths });
    const ok = report.missing.length === 0 && report.modified.length === 0;
    if (args.flags.json) {
      printJson(ctx, { ok, ...report });
    } else {
      for (const p of report.missing) ctx.stderr.write(`path '${p}' is missing from disk\n`);
      for (const m of report.modified) {
        ctx.stderr.write(`path '${m.path}' was modified!\n  expected: ${m.expected} (${m.expectedSize} bytes)\n  got:      ${m.actual} (${m.actualSize} bytes)\n`);
      }
      const what = args.flags['check-contents'] ? 'checked the contents of' : 'checked';
      ctx.stderr.write(`${what} ${report.checked} paths: ${report.missing.length} missing, ${report.modified.length} modified\n`);
    }
    return ok ? 0 : 1;
  },
};
export default verify;
