import fs from 'node:fs';
import path from 'node:path';
import type { Command, Context } from './command.js';
import { printJson } from './command.js';
import type { Store } from '../store/store.js';
import { BUNDLE_MAGIC, readBundleIndex } from '../cache/bundle.js';
import { diffClosures, storeClosure, type ClosureEntry, type PackageChange } from '../cache/diff.js';
import { resolveInstallable } from './resolve.js';
import { formatSizeDelta as size } from '../gc/format.js';

async function closureOf(store: Store, arg: string, ctx: Context): Promise<ClosureEntry[]> {
  const abs = path.resolve(ctx.cwd, arg);
  let head = Buffer.alloc(0);
  try {
    const st = fs.statSync(abs);
    if (st.isFile() && !abs.startsWith(store.storeDir + '/')) {
      const fd = fs.openSync(abs, 'r');
      head = Buffer.alloc(BUNDLE_MAGIC.length);
      fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
    }
  } catch {
    /* resolved below */
  }
  if (head.equals(BUNDLE_MAGIC)) return (await readBundleIndex(abs, store)).entries.map((e) => ({ path: e.meta.path, narSize: e.meta.narSize, deriver: e.meta.deriver }));
  const p = resolveInstallable(store, arg, ctx.cwd);
  store.addTempRoots([p]);
  return storeClosure(store, [p]);
}

const diff: Command = {
  usage: 'store diff A B [--json]',
  positionals: { min: 2, max: 2, says: 'takes two closures, A and B', hint: 'e.g. store diff ./result-old ./result' },
  summary:
    'Compare two closures (store paths, result links or bundle files): packages added, removed and changed (version, size delta), and for a changed package the first input that made its hash differ.',
  flags: { json: { kind: 'boolean', description: 'print {added, removed, changed, sizeA, sizeB} as JSON' } },
  async run(args, ctx) {
    const store = await ctx.store();
    const [a, b] = await Promise.all(args.positionals.map((x) => closureOf(store, x, ctx)));
    const d = diffClosures(store, a, b);
    if (args.flags.json) {
      printJson(ctx, d);
      return 0;
    }
    const line = (mark: string, c: PackageChange) => {
      const v = c.from && c.to ? (c.from.version !== c.to.version ? `${c.from.version || '?'} -> ${c.to.version || '?'}` : c.to.version) : (c.to ?? c.from)!.version;
      ctx.stdout.write(`${mark} ${c.name}${v ? ` ${v}` : ''}  ${size(c.sizeDelta)}\n`);
      if (c.cause?.length) ctx.stdout.write(`    because ${c.cause.join('\n      because ')}\n`);
    };
    for (const c of d.removed) line('-', c);
    for (const c of d.added) line('+', c);
    for (const c of d.changed) line('~', c);
    ctx.stdout.write(`${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed; closure size ${size(d.sizeB - d.sizeA)}\n`);
    return 0;
  },
};
export default diff;
