import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { addRelease, deprecateRelease, removeRelease, validateReleaseName } from '../gc/releases.js';
import { releaseReport } from '../gc/release-report.js';
import { formatAge, formatBytes, formatDate } from '../gc/format.js';
import { REALIZE_FLAGS, realizeArg } from './realize-file.js';

const SUBCOMMANDS = 'add|deprecate|rm|list';

const release: Command = {
  usage: `store release ${SUBCOMMANDS} [NAME] [FILE|PATH] [--attr A] [--json]`,
  summary: [
    'Named releases: GC roots a software librarian adds, deprecates and retires.',
    '  add NAME FILE|PATH   realize FILE (or take a store path) and keep its outputs as release NAME',
    '  deprecate NAME       mark a release deprecated (it stays a root)',
    '  rm NAME              remove the release root (store gc then frees what only it needed)',
    '  list                 releases with state, age, closure (paths, bytes), the bytes each shares with other',
    '                       releases and the bytes only it keeps alive; what sharing saves altogether',
  ].join('\n'),
  flags: { ...REALIZE_FLAGS, json: { kind: 'boolean', description: 'print JSON' } },
  async run(args, ctx) {
    const [sub, ...rest] = args.positionals;
    if (!sub) throw new StoreError('USAGE', `store release needs a subcommand: ${SUBCOMMANDS}`);
    const store = await ctx.store();
    const json = Boolean(args.flags.json);
    const needName = (n: number) => {
      if (rest.length !== n) throw new StoreError('USAGE', sub === 'add' ? 'store release add takes NAME and FILE (or a store PATH)' : `store release ${sub} takes a release NAME`);
      validateReleaseName(rest[0]);
      return rest[0];
    };
    switch (sub) {
      case 'add': {
        const name = needName(2);
        const outs = await realizeArg(store, rest[1], args, ctx);
        const { created } = addRelease(store, name, outs.map((o) => ({ path: o.path, drvPath: o.drvPath, attr: o.attr })), outs[0].source);
        if (json) printJson(ctx, { name, created, outputs: outs.map((o) => o.path) });
        else {
          for (const o of outs) ctx.stdout.write(o.path + '\n');
          ctx.stderr.write(created ? `release '${name}' added\n` : `release '${name}' already exists with these outputs\n`);
        }
        return 0;
      }
      case 'deprecate': {
        const r = deprecateRelease(store, needName(1));
        if (json) printJson(ctx, { name: r.name, deprecated: r.deprecated });
        else ctx.stdout.write(`release '${r.name}' deprecated since ${formatDate(r.deprecated!)}; it stays a root until 'store release rm ${r.name}'\n`);
        return 0;
      }
      case 'rm': {
        const r = removeRelease(store, needName(1));
        if (json) printJson(ctx, { name: r.name, removed: true });
        else ctx.stdout.write(`release '${r.name}' removed; 'store gc' frees what only it kept alive\n`);
        return 0;
      }
      case 'list': {
        if (rest.length) throw new StoreError('USAGE', 'store release list takes no arguments');
        const rep = releaseReport(store);
        const now = Math.floor(Date.now() / 1000);
        const rows = rep.releases.map((r) => ({ ...r, age: now - r.created }));
        if (json) {
          printJson(ctx, rows);
          return 0;
        }
        if (rows.length === 0) {
          ctx.stdout.write("no releases ('store release add NAME FILE' makes one)\n");
          return 0;
        }
        const lines = [`${'NAME'.padEnd(24)} ${'STATE'.padEnd(32)} ${'AGE'.padStart(5)} ${'PATHS'.padStart(7)} ${'CLOSURE'.padStart(11)} ${'SHARED'.padStart(11)} ${'UNIQUE'.padStart(11)}`];
        for (const r of rows) {
          const state = r.deprecated !== undefined ? `deprecated ${formatDate(r.deprecated)}` : 'active';
          lines.push(`${r.name.padEnd(24)} ${state.padEnd(32)} ${formatAge(r.age).padStart(5)} ${String(r.closurePaths).padStart(7)} ${formatBytes(r.closureBytes).padStart(11)} ${formatBytes(r.sharedBytes).padStart(11)} ${formatBytes(r.uniqueBytes).padStart(11)}`);
        }
        if (rows.length > 1) {
          lines.push(`${rows.length} releases: ${rep.paths} paths, ${formatBytes(rep.bytes)} in the store; their closures add up to ${rep.closurePaths} paths, ${formatBytes(rep.closureBytes)} (sharing saves ${formatBytes(rep.closureBytes - rep.bytes)})`);
        }
        ctx.stdout.write(lines.join('\n') + '\n');
        return 0;
      }
      default:
        throw new StoreError('USAGE', `unknown release subcommand '${sub}'`, { hint: `use one of ${SUBCOMMANDS}` });
    }
  },
};
export default release;
