import type { Command } from './command.js';
import { gcKeepOptions, readStoreConfig } from '../store/config.js';
import { printJson } from './command.js';
import { collectGarbage } from '../gc/collect.js';
import { formatBytes, parseBytes, count } from '../gc/format.js';
import { openProgress, PROGRESS_FLAGS } from './progress.js';

const gc: Command = {
  usage: 'store gc [--dry-run] [--max-freed BYTES] [--keep-derivations] [--keep-outputs] [--quiet] [--json]',
  positionals: { min: 0, max: 0, says: 'takes no arguments', hint: "to delete particular paths use 'store delete PATH'" },
  summary:
    'Delete every store path that no root keeps alive (out-links, profiles, releases, running processes), referrers first, and stray files in the store directory. Prints the number of paths and bytes freed.',
  flags: {
    'dry-run': { kind: 'boolean', description: 'print what would be deleted and the bytes it would free; change nothing' },
    'max-freed': { kind: 'string', description: 'stop once this much is freed (bytes; K, M, G, T suffixes)' },
    'keep-derivations': { kind: 'boolean', description: 'keep the .drv files of live outputs (the default, as Nix keep-derivations; "keepDerivations": false in etc/hepstore.json turns it off)' },
    'keep-outputs': { kind: 'boolean', description: 'keep the outputs of live .drv files (as Nix keep-outputs; default: "keepOutputs" of etc/hepstore.json)' },
    json: { kind: 'boolean', description: 'print a JSON report (stdout), and progress as JSON lines (stderr)' },
    ...PROGRESS_FLAGS,
  },
  async run(args, ctx) {
    const maxFreed = args.flags['max-freed'] !== undefined ? parseBytes(args.flags['max-freed'] as string) : undefined;
    const dryRun = Boolean(args.flags['dry-run']);
    // On a full disk even opening the database may need space: the reserve goes first.
    const store = await ctx.store({ gc: !dryRun });
    const progress = await openProgress(ctx, args.flags);
    const deleting = progress.activity('gc', 'deleting', 'paths');
    let r;
    try {
      r = await collectGarbage(store, {
        dryRun,
        maxFreed,
        ...gcKeepOptions(readStoreConfig(store.layout.configFile), store.layout.configFile, args.flags),
        onWait: (holder) => progress.message(`waiting for another garbage collection (pid ${holder}) to finish`),
        onProgress: (done, total, bytes) => deleting.update({ done, total, bytes }),
      });
    } finally {
      deleting.end();
      progress.close();
    }
    if (args.flags.json) {
      printJson(ctx, { ...r, paths: r.deleted.length });
      return 0;
    }
    const out: string[] = [];
    if (dryRun) {
      for (const d of r.deleted) out.push(d.path);
      for (const j of r.junk) out.push(j.path);
      for (const l of r.leftovers) out.push(l.path);
      out.push(`would delete ${count(r.deleted.length, 'path')}, freeing ${formatBytes(r.bytesFreed)} (${r.bytesFreed} bytes)`);
      if (r.junk.length) out.push(`would remove ${r.junk.length} stray entries in the store directory (${formatBytes(r.junkBytes)})`);
      if (r.leftovers.length) out.push(`would remove ${r.leftovers.length} build directories and staging files of finished processes (${formatBytes(r.leftoverBytes)})`);
    } else {
      out.push(`deleted ${count(r.deleted.length, 'path')}, freed ${formatBytes(r.bytesFreed)} (${r.bytesFreed} bytes)`);
      if (r.junk.length) out.push(`removed ${r.junk.length} stray entries in the store directory (${formatBytes(r.junkBytes)})`);
      if (r.leftovers.length) out.push(`removed ${r.leftovers.length} build directories and staging files of finished processes (${formatBytes(r.leftoverBytes)})`);
      if (r.unusedLinks) out.push(`removed ${count(r.unusedLinks, 'file')} of .links that no path shares any more (${formatBytes(r.unusedLinkBytes)})`);
      if (r.kept.length) out.push(`kept ${count(r.kept.length, 'path')} that became alive during the collection`);
      if (r.staleLocks || r.staleTempRoots) out.push(`cleaned ${r.staleLocks} stale locks and ${r.staleTempRoots} temporary roots of finished processes`);
    }
    if (maxFreed !== undefined && r.bytesFreed >= maxFreed) out.push(`stopped after freeing ${formatBytes(maxFreed)} (--max-freed)`);
    ctx.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
export default gc;
