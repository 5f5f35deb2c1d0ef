import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { withGcLock } from '../gc/lock.js';
import { optimiseStore } from '../store/optimise.js';

const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const optimise: Command = {
  usage: 'store optimise [--json]',
  summary:
    "Hard-link identical files across store paths (as nix-store --optimise): each distinct file is kept once in the store's .links directory, and every canonical file with the same contents and executable bit becomes a link to it. Prints the files linked and the space saved.",
  flags: { json: { kind: 'boolean', description: 'print {paths, files, linked, bytesSaved, skipped} as JSON' } },
  async run(args, ctx) {
    if (args.positionals.length) throw new StoreError('USAGE', 'store optimise takes no arguments');
    const store = await ctx.store();
    store.assertDatabaseIntact('optimise the store');
    const tty = Boolean(ctx.stderr.isTTY) && !args.flags.json;
    const r = await withGcLock(
      store,
      () => optimiseStore(store, { onProgress: tty ? (done, total) => ctx.stderr.write(`\r\x1b[Klooked at ${done}/${total} paths`) : undefined }),
      (holder) => ctx.stderr.write(`waiting for a garbage collection (pid ${holder}) to finish\n`),
    );
    if (tty) ctx.stderr.write('\r\x1b[K');
    if (args.flags.json) {
      printJson(ctx, r);
      return 0;
    }
    for (const s of r.skipped) ctx.stderr.write(`warning: not linking ${s.file}: ${s.reason}\n`);
    ctx.stdout.write(`${mib(r.bytesSaved)} saved by hard-linking ${plural(r.linked, 'file')} (${plural(r.files, 'file')} in ${plural(r.paths, 'path')} looked at)\n`);
    return 0;
  },
};
export default optimise;
