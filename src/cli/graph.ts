import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { StoreError } from '../errors.js';
import { resolveInstallable } from './resolve.js';
import { closureWithSizes } from '../inspect/closure-sizes.js';
import { GRAPH_FORMATS, renderGraph, type GraphFormat } from '../inspect/graph-render.js';

const graph: Command = {
  usage: 'store graph PATH [--format dot|svg|html] [-o FILE]',
  positionals: { min: 1, max: 1, says: 'takes exactly one PATH', hint: 'e.g. store graph ./result --format html -o closure.html' },
  summary:
    "Draw the closure of a store path with each path's own and closure size: DOT text for Graphviz, or an SVG picture, or a self-contained HTML page (laid out here; a browser opens it offline).",
  flags: {
    format: { kind: 'string', short: 'f', description: 'dot (default), svg or html' },
    output: { kind: 'string', short: 'o', description: 'write to FILE instead of stdout' },
  },
  async run(args, ctx) {
    const format = (args.flags.format as string | undefined) ?? 'dot';
    if (!GRAPH_FORMATS.includes(format as GraphFormat)) throw new StoreError('USAGE', `--format takes ${GRAPH_FORMATS.join(', ')} (got '${format}')`);
    const store = await ctx.store();
    const p = resolveInstallable(store, args.positionals[0], ctx.cwd);
    store.addTempRoots([p]);
    store.pathInfo(p);
    const text = await renderGraph(closureWithSizes(store, p), format as GraphFormat);
    if (args.flags.output !== undefined) fs.writeFileSync(path.resolve(ctx.cwd, args.flags.output as string), text);
    else ctx.stdout.write(text);
    return 0;
  },
};
export default graph;
