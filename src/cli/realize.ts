import path from 'node:path';
import { count } from '../gc/format.js';
import type { Command, Context } from './command.js';
import type { Parsed } from './args.js';
import { printJson } from './command.js';
import { PROGRESS_FLAGS } from './progress.js';
import { BUILD_FLAGS, realizeGraph, substituterUrls } from './realize-graph.js';
import { StoreError } from '../errors.js';
import { lookupEvaluation, saveEvaluation, type CachedRoot, type EvalCacheKey } from '../eval/eval-cache.js';
import { defaultSystem } from '../expr/context.js';
import { buildLimits, networkTimeouts, readStoreConfig } from '../store/config.js';
import { EVAL_FLAGS, argsKey, evalOptions, expressionFile } from './eval-flags.js';
import type { EvalOptions } from '../eval/evaluate.js';
import { addOutLink } from '../gc/roots.js';
import { requireDerivation } from './resolve.js';
import type { Store } from '../store/store.js';
import type { StoreConfig } from '../store/config.js';


/** Out-link names as Nix makes them: result, result-2 …, and result-<output> for other outputs. */
export function outLinkNames(base: string, roots: Array<{ outputs: Record<string, string> }>): Array<[string, string]> {
  const links: Array<[string, string]> = [];
  roots.forEach((r, i) => {
    for (const [o, p] of Object.entries(r.outputs)) {
      const suffix = (i === 0 ? '' : `-${i + 1}`) + (o === 'out' ? '' : `-${o}`);
      links.push([base + suffix, p]);
    }
  });
  return links;
}

const realizeCmd: Command = {
  usage: 'store realize FILE|DIR|DRV [--attr NAME] [-j N] [--out-link PATH | --no-out-link] [--check | --check-closure] [--keep-failed] [--no-sandbox] [--substituters URL...] [--no-require-sigs] [--no-fallback] [--lock FILE] [--timeout SECONDS] [--max-silent-time SECONDS] [--dry-run] [--pure] [--arg NAME VALUE] [--argstr NAME VALUE] [--eval-timeout SECONDS] [-L] [--quiet] [--json]',
  positionals: { min: 1, max: 1, says: 'takes exactly one FILE', hint: 'e.g. store realize env.ts' },
  summary:
    'Evaluate an expression file and build (or find) every output it names, in parallel and sandboxed. Prints the output paths; makes ./result a GC root.',
  flags: {
    attr: { kind: 'string', short: 'A', description: 'build this exported attribute (a.b for nested) instead of the default export' },
    'out-link': { kind: 'string', short: 'o', description: 'name of the result symlink (default ./result)' },
    'no-out-link': { kind: 'boolean', description: 'make no result symlink (and so no GC root)' },
    check: { kind: 'boolean', description: 'rebuild the derivations named (FILE, --attr) whose outputs are valid and compare bit for bit (exit 104 if they differ); missing inputs are built, valid ones used' },
    'check-closure': { kind: 'boolean', description: 'as --check, for every derivation they need too (the toolchain and bootstrap included)' },
    json: { kind: 'boolean', description: 'print a JSON record of what was realized (stdout), and progress as JSON lines (stderr)' },
    ...PROGRESS_FLAGS,
    pure: { kind: 'boolean', description: 'refuse (exit 1, building nothing) if anything in the closure uses a host tool or a host program as builder (default: "pure" of etc/hepstore.json)' },
    ...EVAL_FLAGS,
    ...BUILD_FLAGS,
    lock: { kind: 'string', description: 'fail if any derivation, output path or narHash differs from this lock file (`store lock`)' },
    'dry-run': { kind: 'boolean', description: 'print what would be built and what fetched (with download sizes), changing nothing' },
    'no-eval-cache': { kind: 'boolean', description: 'evaluate FILE even if nothing it read has changed since an earlier realize (and keep no result)' },
  },
  async run(args, ctx) {
    const checking = Boolean(args.flags.check || args.flags['check-closure']);
    if (args.flags['out-link'] && args.flags['no-out-link']) throw new StoreError('USAGE', '--out-link and --no-out-link do not go together');
    if (args.flags.check && args.flags['check-closure']) throw new StoreError('USAGE', '--check and --check-closure do not go together (--check-closure checks what --check does, and more)');
    if (args.flags['dry-run'] && (checking || args.flags.lock !== undefined)) throw new StoreError('USAGE', `--dry-run does not go with ${checking ? (args.flags.check ? '--check' : '--check-closure') : '--lock'}`);
    const store = await ctx.store();
    const config = readStoreConfig(store.layout.configFile);
    // Checked before anything is evaluated; evaluateAndRealize hands them to the builder.
    buildLimits(config, store.layout.configFile, { timeout: args.flags.timeout, maxSilentTime: args.flags['max-silent-time'] });
    const drvPath = storeDerivationArg(store, args.positionals[0], ctx.cwd);
    const file = drvPath ?? expressionFile(args.positionals[0], ctx.cwd);
    const pure = Boolean(args.flags.pure || config.pure === true);
    const cacheDir = path.join(store.layout.varDir, 'cache');
    const evalOpts = evalOptions(args, config, store.layout.configFile, store.storeDir, cacheDir);
    // Evaluated every time (a cached no-op would realize), and nothing kept.
    if (args.flags['dry-run'] && drvPath) throw new StoreError('USAGE', '--dry-run takes an expression file, not a .drv');
    if (args.flags['dry-run']) return dryRun(store, config, file, pure, evalOpts, args, ctx);
    const lockFile = args.flags.lock === undefined ? undefined : path.resolve(ctx.cwd, args.flags.lock as string);
    // --check and --lock need the derivations themselves; the cache holds only their paths.
    const cacheKey: EvalCacheKey | undefined =
      drvPath !== undefined || args.flags['no-eval-cache'] || checking || lockFile !== undefined ? undefined : { file, attr: evalOpts.attr, args: argsKey(evalOpts.args), storeDir: store.storeDir, system: defaultSystem() };
    const cached = cacheKey ? await lookupEvaluation(cacheDir, cacheKey) : undefined;
    let result: { roots: CachedRoot[]; checked: string[]; built: string[]; outPaths?: string[] } | undefined;
    if (cached && !(pure && cached.hostDependencies !== false)) {
      // A no-op as it is without the cache: the outputs rooted, then checked, in one query.
      store.addTempRoots(cached.outPaths);
      if (store.allValidWithDerivers(cached.outPaths)) result = { get roots() { return cached.roots; }, checked: [], built: [], outPaths: cached.outPaths };
    }
    if (!result && drvPath) result = await realizeStoreDerivation(store, config, drvPath, args, ctx);
    if (!result) result = await evaluateAndRealize(store, config, file, evalOpts, cacheKey, pure, lockFile, args, ctx);
    const links = args.flags['no-out-link'] ? [] : outLinkNames(path.resolve(ctx.cwd, (args.flags['out-link'] as string | undefined) ?? 'result'), result.roots);
    for (const [link, p] of links) addOutLink(store.layout, link, p);
    if (args.flags.json) {
      printJson(
        ctx,
        result.roots.map((r) => ({ attr: r.attr, drvPath: r.drvPath, outputs: r.outputs })),
      );
    } else if (result.outPaths) {
      ctx.stdout.write(result.outPaths.join('\n') + '\n');
    } else {
      let out = '';
      for (const r of result.roots) for (const p of Object.values(r.outputs)) out += p + '\n';
      ctx.stdout.write(out);
    }
    if (checking && !args.flags.json) {
      const built = result.built.length ? ` (${result.built.length} not valid before were built, not checked)` : '';
      ctx.stderr.write(`checked ${count(result.checked.length, 'derivation')}: every rebuilt output is bit for bit the same${built}\n`);
    }
    return 0;
  },
};
export default realizeCmd;

/** Evaluate FILE (recording its inputs for the cache), then realize what it names. */
async function evaluateAndRealize(
  store: Store,
  config: StoreConfig,
  file: string,
  evalOpts: EvalOptions & { cacheDir: string },
  cacheKey: EvalCacheKey | undefined,
  pure: boolean,
  lockFile: string | undefined,
  args: Parsed,
  ctx: Context,
): Promise<{ roots: CachedRoot[]; checked: string[]; built: string[] }> {
  // Loaded only here: a cached no-op needs none of the expression API.
  const [{ evaluateFileRecorded }, { buildGraph, requestedOutputs }, { refuseHostDependencies }] = await Promise.all([
    import('../eval/evaluate.js'),
    import('../eval/graph.js'),
    import('../eval/host-deps.js'),
  ]);
  const evaluation = await evaluateFileRecorded(file, evalOpts);
  const roots = evaluation.roots;
  if (roots.length === 0) throw new StoreError('EVAL', `${file} names no derivations`);
  if (pure) refuseHostDependencies(roots, file);
  let result: { roots: CachedRoot[]; checked: string[]; built: string[] };
  const asked: Array<Record<string, string>> = [];
  const wanted: string[] = [];
  for (const r of roots) {
    const outs: Record<string, string> = {};
    for (const o of requestedOutputs(r.drv)) wanted.push((outs[o] = r.drv.output(o).outPath));
    asked.push(outs);
  }
  store.addTempRoots(wanted); // GC: root before checking validity (src/gc/collect.ts), until the out-links exist
  const lock = lockFile === undefined ? undefined : await import('../cache/lock-file.js');
  const locked = lock?.readLock(lockFile!);
  const graph = locked ? buildGraph(roots) : undefined;
  if (locked) lock!.checkLockBefore(locked, lockFile!, store, graph!);
  if (!args.flags.check && !args.flags['check-closure'] && !locked && store.allValidWithDerivers(wanted)) {
    // Everything asked for is valid, and so are its .drv files (with those of all their
    // inputs): no graph, nothing to write or build (and the builder is not even loaded).
    // Otherwise realize() writes the missing .drv files, even when nothing is built.
    result = { roots: roots.map((r, i) => ({ attr: r.attr, get drvPath() { return r.drv.drvPath; }, outputs: asked[i] })), checked: [], built: [] };
  } else {
    result = await realizeGraph(store, config, graph ?? buildGraph(roots), args, ctx);
  }
  if (locked) lock!.checkLockAfter(locked, lockFile!, store, graph!);
  // Kept only once everything asked for is valid: the next no-op needs no evaluation.
  if (cacheKey) saveEvaluation(evalOpts.cacheDir, cacheKey, evaluation.modules, evaluation.inputs, { roots: result.roots, ...(pure ? { hostDependencies: false } : {}) });
  return result;
}


/**
 * `store realize STORE/…-x.drv`: build the outputs of a derivation already in the store (as
 * `nix-store --realise`), read back from its .drv files (which this store must trust).
 */
async function realizeStoreDerivation(store: Store, config: StoreConfig, drvPath: string, args: Parsed, ctx: Context) {
  const { graphFromStore } = await import('../realize/repair.js');
  requireDerivation(store, drvPath);
  const graph = graphFromStore(store, drvPath);
  const { drv } = graph.nodes.get(drvPath)!;
  graph.roots.push({ drvPath, outputs: Object.keys(drv.outputs), attr: '' });
  store.addTempRoots(Object.values(drv.outputs).map((o) => o.path));
  return realizeGraph(store, config, graph, args, ctx);
}

/** The .drv path an argument names (a store path ending in .drv), or undefined for an expression file. */
function storeDerivationArg(store: Store, arg: string, cwd: string): string | undefined {
  const abs = path.resolve(cwd, arg);
  return abs.startsWith(store.storeDir + '/') && abs.endsWith('.drv') ? abs : undefined;
}



/** `--dry-run`: what would be built and fetched; nothing is written (src/realize/plan.ts). */
async function dryRun(store: Store, config: StoreConfig, file: string, pure: boolean, evalOpts: EvalOptions, args: Parsed, ctx: Context): Promise<number> {
  const [{ evaluateFile }, { buildGraph }, { refuseHostDependencies }, { planRealize }] = await Promise.all([
    import('../eval/evaluate.js'),
    import('../eval/graph.js'),
    import('../eval/host-deps.js'),
    import('../realize/plan.js'),
  ]);
  const roots = await evaluateFile(file, evalOpts);
  if (roots.length === 0) throw new StoreError('EVAL', `${file} names no derivations`);
  if (pure) refuseHostDependencies(roots, file);
  const substituters = substituterUrls(args, config);
  let substitute;
  if (substituters.length) {
    const { configuredTrustedKeys } = await import('../cache/trust/keys.js');
    substitute = { substituters, trusted: configuredTrustedKeys(config), requireSigs: !args.flags['no-require-sigs'], timeouts: networkTimeouts(config, store.layout.configFile), onWarning: (m: string) => ctx.stderr.write(`warning: ${m}\n`) };
  }
  const json = Boolean(args.flags.json);
  const graph = buildGraph(roots);
  const plan = await planRealize(store, graph, substitute);
  if (json) {
    printJson(ctx, plan);
    return 0;
  }
  const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;
  const out: string[] = [];
  if (plan.build.length) {
    out.push(plan.build.length === 1 ? 'this derivation would be built:' : `these ${plan.build.length} derivations would be built:`);
    for (const b of plan.build) out.push(`  ${b.drvPath}`);
  }
  if (plan.fetch.length) {
    const sizes = `(${mib(plan.downloadSize)} download, ${mib(plan.narSize)} unpacked)`;
    out.push(plan.fetch.length === 1 ? `this path would be fetched ${sizes}:` : `these ${plan.fetch.length} paths would be fetched ${sizes}:`);
    for (const f of plan.fetch) out.push(`  ${f.path}`);
  }
  if (!out.length) out.push(`nothing to build or fetch: ${plan.valid.length === 1 ? 'the output is' : `all ${plan.valid.length} outputs are`} valid`);
  ctx.stdout.write(out.join('\n') + '\n');
  return 0;
}


