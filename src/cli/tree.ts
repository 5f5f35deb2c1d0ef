import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { resolveInstallable } from './resolve.js';
import { closureWithSizes } from '../inspect/closure-sizes.js';
import { closureTree, renderTree } from '../inspect/tree.js';

export function parseDepth(v: unknown): number {
  if (v === undefined) return Infinity;
  const n = Number(v);
  if (!/^\d+$/.test(String(v)) || !Number.isSafeInteger(n)) throw new StoreError('USAGE', `--depth takes a whole number (got '${v}')`);
  return n;
}

const tree: Command = {
  usage: 'store tree PATH [--depth N] [--json]',
  positionals: { min: 1, max: 1, says: 'takes exactly one PATH', hint: 'e.g. store tree ./result --depth 2' },
  summary:
    "Show the closure of a store path as a tree: each path with its own size and its closure size, references sorted by what they cost (closure size, largest first). A path is expanded once; later it is marked '[shown above]'.",
  flags: {
    depth: { kind: 'string', short: 'd', description: 'levels below PATH to show (default: all)', check: (v) => parseDepth(v) },
    json: { kind: 'boolean', description: 'print the tree as JSON: {path, narSize, closureSize, children?, repeated?, more?}' },
  },
  async run(args, ctx) {
    const depth = parseDepth(args.flags.depth);
    const store = await ctx.store();
    const p = resolveInstallable(store, args.positionals[0], ctx.cwd);
    store.addTempRoots([p]);
    store.pathInfo(p);
    const t = closureTree(closureWithSizes(store, p), depth);
    if (args.flags.json) printJson(ctx, t);
    else ctx.stdout.write(renderTree(t));
    return 0;
  },
};
export default tree;
