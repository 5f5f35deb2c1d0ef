import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { printJson } from './command.js';
import { evaluateFile } from '../eval/evaluate.js';
import { storeLayout } from '../store/root.js';
import { readStoreConfig } from '../store/config.js';
import { EVAL_FLAGS, evalOptions, expressionFile } from './eval-flags.js';
import { hostDependencies, refuseHostDependencies } from '../eval/host-deps.js';

const evalCmd: Command = {
  usage: 'store eval FILE [--attr NAME] [--pure] [--arg NAME VALUE] [--argstr NAME VALUE] [--eval-timeout SECONDS] [--json]',
  positionals: { min: 1, max: 1, says: 'takes exactly one FILE' },
  summary: 'Evaluate an expression file and print the .drv and output paths it names, without building anything or writing to the store.',
  flags: {
    attr: { kind: 'string', short: 'A', description: 'evaluate this exported attribute instead of the default export' },
    json: { kind: 'boolean', description: 'print JSON: attribute, drvPath, outputs, and the host tools of each closure' },
    pure: { kind: 'boolean', description: 'fail if anything in the closure uses a host tool or a host program as builder (default: "pure" of etc/hepstore.json)' },
    ...EVAL_FLAGS,
  },
  async run(args, ctx) {
    const layout = storeLayout(ctx.storeRoot);
    const file = expressionFile(args.positionals[0], ctx.cwd);
    const config = readStoreConfig(layout.configFile);
    // The compiled expression is kept in (and taken from) the cache of a store that exists;
    // no store is made for it.
    const cacheDir = fs.existsSync(layout.varDir) ? path.join(layout.varDir, 'cache') : undefined;
    const roots = await evaluateFile(file, evalOptions(args, config, layout.configFile, layout.storeDir, cacheDir));
    if (args.flags.pure || config.pure === true) refuseHostDependencies(roots, file);
    const records = roots.map((r) => ({ attr: r.attr, name: r.drv.name, drvPath: r.drv.drvPath, outputs: Object.fromEntries(Object.entries(r.drv.drv.outputs).map(([o, v]) => [o, v.path])) }));
    if (args.flags.json) {
      const host = hostDependencies(roots);
      printJson(
        ctx,
        records.map((r, i) => ({ ...r, hostTools: host[i] })),
      );
    } else for (const r of records) ctx.stdout.write(`${r.attr || r.name}\t${r.drvPath}\t${Object.values(r.outputs).join(' ')}\n`);
    return 0;
  },
};
export default evalCmd;
