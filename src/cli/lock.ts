import path from 'node:path';
import type { Command } from './command.js';
import { PROGRESS_FLAGS } from './progress.js';
import { StoreError } from '../errors.js';
import { evaluateFile } from '../eval/evaluate.js';
import { buildGraph } from '../eval/graph.js';
import { readStoreConfig } from '../store/config.js';
import { EVAL_FLAGS, evalOptions, expressionFile } from './eval-flags.js';
import { makeLock } from '../cache/lock-file.js';
import { refuseHostDependencies } from '../eval/host-deps.js';
import { BUILD_FLAGS, realizeGraph } from './realize-graph.js';

const lockCmd: Command = {
  usage: 'store lock FILE [--attr NAME] [-j N] [--substituters URL...] [--pure] [--arg NAME VALUE] > env.lock.json',
  positionals: { min: 1, max: 1, says: 'takes exactly one FILE' },
  summary:
    'Realize an expression file (without an out-link) and print a lock file: every derivation of its graph with its output paths and narHashes. `store realize --lock env.lock.json FILE` then fails if anything would come out different.',
  flags: {
    attr: { kind: 'string', short: 'A', description: 'lock this exported attribute instead of the default export' },
    ...BUILD_FLAGS,
    pure: { kind: 'boolean', description: 'refuse (exit 1, building nothing) if anything in the closure uses a host tool or a host program as builder (default: "pure" of etc/hepstore.json)' },
    ...EVAL_FLAGS,
    json: { kind: 'boolean', description: 'the lock file is JSON in any case; progress as JSON lines on stderr' },
    ...PROGRESS_FLAGS,
  },
  async run(args, ctx) {
    const store = await ctx.store();
    const config = readStoreConfig(store.layout.configFile);
    const file = expressionFile(args.positionals[0], ctx.cwd);
    const roots = await evaluateFile(file, evalOptions(args, config, store.layout.configFile, store.storeDir, path.join(store.layout.varDir, 'cache')));
    if (roots.length === 0) throw new StoreError('EVAL', `${file} names no derivations`);
    if (args.flags.pure || config.pure === true) refuseHostDependencies(roots, file);
    const graph = buildGraph(roots);
    const result = await realizeGraph(store, config, graph, args, ctx);
    ctx.stdout.write(JSON.stringify(makeLock(store, graph, result.roots.map((r) => ({ attr: r.attr, drvPath: r.drvPath, outputs: r.outputs }))), null, 2) + '\n');
    return 0;
  },
};
export default lockCmd;
