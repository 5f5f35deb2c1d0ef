import type { Command } from './command.js';
import { gcKeepOptions, readStoreConfig } from '../store/config.js';
import { printJson } from './command.js';
import { rootsReport } from '../gc/report.js';
import { formatAge, formatBytes, formatDate, count } from '../gc/format.js';

const roots: Command = {
  usage: 'store roots [--json] [--keep-derivations] [--keep-outputs]',
  positionals: { min: 0, max: 0, says: 'takes no arguments' },
  summary:
    'List every GC root — out-links, gcroots, profile generations, releases and the temporary roots of running processes — with its kind, target, age, and the bytes only it keeps alive (what gc would free without it).',
  flags: {
    json: { kind: 'boolean', description: 'print a JSON array' },
    'keep-derivations': { kind: 'boolean', description: 'count .drv files of live outputs as alive (the default, as gc; "keepDerivations": false in etc/hepstore.json turns it off)' },
    'keep-outputs': { kind: 'boolean', description: 'count outputs of live .drv files as alive (as gc --keep-outputs)' },
  },
  async run(args, ctx) {
    const store = await ctx.store();
    const rep = rootsReport(store, gcKeepOptions(readStoreConfig(store.layout.configFile), store.layout.configFile, args.flags));
    const now = Math.floor(Date.now() / 1000);
    rep.roots.sort((a, b) => b.uniqueBytes - a.uniqueBytes || (a.name < b.name ? -1 : 1));
    if (args.flags.json) {
      printJson(ctx, {
        roots: rep.roots.map((r) => ({ kind: r.kind, name: r.name, targets: r.targets, time: r.time ?? null, age: r.time !== undefined ? now - r.time : null, deprecated: r.deprecated ?? null, uniqueBytes: r.uniqueBytes, uniquePaths: r.uniquePaths })),
        valid: rep.valid,
        validBytes: rep.validBytes,
        alive: rep.alive,
        aliveBytes: rep.aliveBytes,
      });
      return 0;
    }
    const lines = [`${'KIND'.padEnd(9)} ${'AGE'.padStart(5)} ${'UNIQUE'.padStart(10)}  ROOT -> TARGET`];
    for (const r of rep.roots) {
      const target = r.targets.length === 1 ? r.targets[0] : `${r.targets.length} paths`;
      const dep = r.deprecated !== undefined ? ` (deprecated ${formatDate(r.deprecated)})` : '';
      lines.push(`${r.kind.padEnd(9)} ${(r.time !== undefined ? formatAge(now - r.time) : '-').padStart(5)} ${formatBytes(r.uniqueBytes).padStart(10)}  ${r.name}${dep} -> ${target}`);
    }
    const dead = rep.valid - rep.alive;
    lines.push(
      `${count(rep.roots.length, 'root')} keep${rep.roots.length === 1 ? 's' : ''} ${rep.alive} of ${count(rep.valid, 'path')} alive (${formatBytes(rep.aliveBytes)}); ${count(dead, 'path')} (${formatBytes(rep.validBytes - rep.aliveBytes)}) ${dead === 1 ? 'is' : 'are'} garbage`,
    );
    ctx.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
export default roots;
