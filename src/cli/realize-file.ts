/**
 * Shared by `store profile install` and `store release add`: turn an argument into store
 * paths — a store path (or a link into the store, such as ./result) as it is, or an
 * expression file evaluated and realized like `store realize --no-out-link`. The paths are
 * temporarily rooted by this process until it exits, so the caller can make them a
 * permanent root without a collection racing it.
 */
import path from 'node:path';
import { StoreError } from '../errors.js';
import type { FlagSpec, Parsed } from './args.js';
import type { Context } from './command.js';
import type { Store } from '../store/store.js';
import { linkIntoStore, resolveInstallable } from './resolve.js';
import { EVAL_FLAGS, evalOptions, expressionFile } from './eval-flags.js';
import { PROGRESS_FLAGS } from './progress.js';
import { BUILD_FLAGS } from './realize-graph.js';

export interface Realized {
  path: string;
  drvPath?: string;
  attr: string;
  /** The file (and attribute), or the path as given. */
  source: string;
}

export const REALIZE_FLAGS: FlagSpec = {
  attr: { kind: 'string', short: 'A', description: 'realize this exported attribute of FILE (a.b for nested)' },
  ...BUILD_FLAGS,
  pure: { kind: 'boolean', description: 'refuse (exit 1, building nothing) if anything in the closure uses a host tool or a host program as builder (default: "pure" of etc/hepstore.json)' },
  ...EVAL_FLAGS,
  ...PROGRESS_FLAGS,
};

function isStorePathArg(store: Store, arg: string, cwd: string): boolean {
  const abs = path.resolve(cwd, arg);
  return abs.startsWith(store.storeDir + '/') || linkIntoStore(abs, store.storeDir) !== undefined;
}

export async function realizeArg(store: Store, arg: string, args: Parsed, ctx: Context): Promise<Realized[]> {
  if (isStorePathArg(store, arg, ctx.cwd)) {
    const p = resolveInstallable(store, arg, ctx.cwd);
    store.addTempRoots([p]);
    store.pathInfo(p);
    return [{ path: p, attr: '', source: p }];
  }
  const file = expressionFile(arg, ctx.cwd, () => new StoreError('USAGE', `'${arg}' is neither a store path nor an expression file`));
  const [{ evaluateFile }, { refuseHostDependencies }, { buildGraph }, { readStoreConfig }, { realizeGraph }] = await Promise.all([
    import('../eval/evaluate.js'),
    import('../eval/host-deps.js'),
    import('../eval/graph.js'),
    import('../store/config.js'),
    import('./realize-graph.js'),
  ]);
  const config = readStoreConfig(store.layout.configFile);
  const attr = args.flags.attr as string | undefined;
  const roots = await evaluateFile(file, evalOptions(args, config, store.layout.configFile, store.storeDir, path.join(store.layout.varDir, 'cache')));
  if (roots.length === 0) throw new StoreError('EVAL', `${file} names no derivations`);
  if (args.flags.pure || config.pure === true) refuseHostDependencies(roots, file);
  const result = await realizeGraph(store, config, buildGraph(roots), args, ctx);
  const source = attr ? `${file}#${attr}` : file;
  return result.roots.flatMap((r) => Object.values(r.outputs).map((p) => ({ path: p, drvPath: r.drvPath, attr: r.attr, source })));
}
