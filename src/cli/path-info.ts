import type { Command } from './command.js';
import { printJson } from './command.js';
import { resolveInstallable } from './resolve.js';

const pathInfo: Command = {
  usage: 'store path-info PATH... [-r] [--json]',
  positionals: { min: 1, says: 'needs at least one PATH' },
  summary: 'Show what the store knows of paths: narHash, narSize, references, referrers, deriver. With -r, the whole closure.',
  flags: {
    recursive: { kind: 'boolean', short: 'r', description: 'show the closure of the paths' },
    json: { kind: 'boolean', description: 'print a JSON array' },
    size: { kind: 'boolean', short: 's', description: 'also print the closure size of each path' },
  },
  async run(args, ctx) {
    const store = await ctx.store();
    const roots = args.positionals.map((a) => resolveInstallable(store, a, ctx.cwd));
    for (const r of roots) store.pathInfo(r);
    const paths = args.flags.recursive ? store.queryClosure(roots) : roots;
    const records = paths.map((p) => {
      const info = store.pathInfo(p);
      const rec: Record<string, unknown> = {
        path: info.path,
        narHash: info.narHash,
        narSize: info.narSize,
        references: info.references,
        referrers: store.queryReferrers(p),
        deriver: info.deriver ?? null,
        registrationTime: info.registrationTime,
        ca: info.ca ?? null,
        signatures: info.sigs,
        ultimate: info.ultimate,
      };
      if (args.flags.size) rec.closureSize = store.queryClosure([p]).reduce((n, q) => n + store.pathInfo(q).narSize, 0);
      return rec;
    });
    if (args.flags.json) {
      printJson(ctx, records);
      return 0;
    }
    for (const r of records) {
      const lines = [
        r.path as string,
        `  narHash:    ${r.narHash}`,
        `  narSize:    ${r.narSize}`,
        ...(r.closureSize !== undefined ? [`  closure:    ${r.closureSize}`] : []),
        `  deriver:    ${r.deriver ?? '(none)'}`,
        ...(r.ca ? [`  ca:         ${r.ca}`] : []),
        `  references: ${(r.references as string[]).length === 0 ? '(none)' : ''}`,
        ...(r.references as string[]).map((x) => `    ${x}`),
        `  referrers:  ${(r.referrers as string[]).length === 0 ? '(none)' : ''}`,
        ...(r.referrers as string[]).map((x) => `    ${x}`),
      ];
      if ((r.signatures as string[]).length) lines.push(`  signatures: ${(r.signatures as string[]).join(' ')}`);
      ctx.stdout.write(lines.join('\n') + '\n');
    }
    return 0;
  },
};
export default pathInfo;
