import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { printJson } from './command.js';
import { storeLayout } from '../store/root.js';
import { readStoreConfig } from '../store/config.js';
import { EVAL_FLAGS, argsKey, evalOptions, expressionFile } from './eval-flags.js';
import { lookupEvalRecords, saveEvalRecords, type EvalCacheKey, type EvalRecord } from '../eval/eval-cache.js';
import { defaultSystem } from '../expr/context.js';

const evalCmd: Command = {
  usage: 'store eval FILE [--attr NAME] [--pure] [--arg NAME VALUE] [--argstr NAME VALUE] [--eval-timeout SECONDS] [--no-eval-cache] [--json]',
  positionals: { min: 1, max: 1, says: 'takes exactly one FILE' },
  summary: 'Evaluate an expression file and print the .drv and output paths it names, without building anything or writing to the store.',
  flags: {
    attr: { kind: 'string', short: 'A', description: 'evaluate this exported attribute instead of the default export' },
    json: { kind: 'boolean', description: 'print JSON: attribute, drvPath, outputs, and the host tools of each closure' },
    pure: { kind: 'boolean', description: 'fail if anything in the closure uses a host tool or a host program as builder (default: "pure" of etc/hepstore.json)' },
    'no-eval-cache': { kind: 'boolean', description: 'evaluate FILE even if nothing it read has changed since the last eval of it (and keep no result)' },
    ...EVAL_FLAGS,
  },
  async run(args, ctx) {
    const layout = storeLayout(ctx.storeRoot);
    const file = expressionFile(args.positionals[0], ctx.cwd);
    const config = readStoreConfig(layout.configFile);
    // The compiled expression and what it gave are kept in (and taken from) the cache of a
    // store that exists; no store is made for them.
    const cacheDir = fs.existsSync(layout.varDir) ? path.join(layout.varDir, 'cache') : undefined;
    const opts = evalOptions(args, config, layout.configFile, layout.storeDir, cacheDir);
    const pure = Boolean(args.flags.pure || config.pure === true);
    const json = Boolean(args.flags.json);
    const key: EvalCacheKey | undefined =
      cacheDir === undefined || args.flags['no-eval-cache'] ? undefined : { file, attr: opts.attr, args: argsKey(opts.args), storeDir: layout.storeDir, system: defaultSystem() };
    const records = (key && (await lookupEvalRecords(cacheDir!, key, { hostTools: json, pure }))) || (await evaluate(file, opts, key, pure, json));
    if (json) printJson(ctx, records);
    else for (const r of records) ctx.stdout.write(`${r.attr || r.name}\t${r.drvPath}\t${Object.values(r.outputs).join(' ')}\n`);
    return 0;
  },
};
export default evalCmd;

/** Evaluate FILE (recording what it read when there is a cache to keep the result in). */
async function evaluate(file: string, opts: ReturnType<typeof evalOptions>, key: EvalCacheKey | undefined, pure: boolean, json: boolean): Promise<EvalRecord[]> {
  // Loaded only here: a cached eval needs none of the expression API.
  const [{ evaluateFile, evaluateFileRecorded }, { hostDependencies, refuseHostDependencies }] = await Promise.all([import('../eval/evaluate.js'), import('../eval/host-deps.js')]);
  const evaluation = key ? await evaluateFileRecorded(file, opts) : { roots: await evaluateFile(file, opts) };
  const roots = evaluation.roots;
  if (pure) refuseHostDependencies(roots, file);
  const host = json ? hostDependencies(roots) : undefined;
  const records: EvalRecord[] = roots.map((r, i) => ({
    attr: r.attr,
    name: r.drv.name,
    drvPath: r.drv.drvPath,
    outputs: Object.fromEntries(Object.entries(r.drv.drv.outputs).map(([o, v]) => [o, v.path])),
    ...(host ? { hostTools: host[i] } : {}),
  }));
  if (key && 'modules' in evaluation) {
    // Whether the closures use the host is known when it was refused (--pure) or listed (--json).
    const hostUse = pure ? false : host ? host.some((h) => h.length > 0) : undefined;
    saveEvalRecords(opts.cacheDir!, key, evaluation.modules, evaluation.inputs, records, hostUse);
  }
  return records;
}
