import type { Command } from './command.js';
import { printJson } from './command.js';
import { withGcLock } from '../gc/lock.js';
import { optimiseStore } from '../store/optimise.js';
import { openProgress, PROGRESS_FLAGS } from './progress.js';

const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const optimise: Command = {
  usage: 'store optimise [--quiet] [--json]',
  positionals: { min: 0, max: 0, says: 'takes no arguments' },
  summary:
    "Hard-link identical files across store paths (as nix-store --optimise): each distinct file is kept once in the store's .links directory, and every canonical file with the same contents and executable bit becomes a link to it. Prints the files linked and the space saved.",
  flags: { json: { kind: 'boolean', description: 'print {paths, files, linked, bytesSaved, skipped} as JSON (stdout), and progress as JSON lines (stderr)' }, ...PROGRESS_FLAGS },
  async run(args, ctx) {
    const store = await ctx.store();
    store.assertDatabaseIntact('optimise the store');
    const progress = await openProgress(ctx, args.flags);
    const looking = progress.activity('optimise', 'optimising', 'paths');
    let r;
    try {
      r = await withGcLock(
        store,
        () => optimiseStore(store, { onProgress: (done, total) => looking.update({ done, total }) }),
        (holder) => progress.message(`waiting for a garbage collection (pid ${holder}) to finish`),
      );
    } finally {
      looking.end();
      progress.close();
    }
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
