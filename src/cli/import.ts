import path from 'node:path';
import type { Command } from './command.js';
import { count, formatBytes } from '../gc/format.js';
import { printJson } from './command.js';
import { readStoreConfig } from '../store/config.js';
import { importBundle } from '../cache/bundle.js';
import { addOutLink } from '../gc/roots.js';
import { configuredTrustedKeys } from '../cache/trust/keys.js';
import { openProgress, PROGRESS_FLAGS } from './progress.js';
import { transferProgress } from './realize-progress.js';

const importCmd: Command = {
  usage: 'store import FILE [--out-link PATH] [--no-require-sigs] [--quiet] [--json]',
  positionals: { min: 1, max: 1, says: 'takes exactly one FILE' },
  summary:
    'Import a bundle made by `store export`. Every archive is checked against its narHash, the closure must be complete, and every path that is not content-addressed must be signed by a key in "trustedPublicKeys". Nothing is registered unless everything checks out; paths already valid are skipped. Prints the imported paths. Imported paths are garbage until something roots them: --out-link makes a link to each of the bundle\'s tops (the paths that were exported).',
  flags: {
    'no-require-sigs': { kind: 'boolean', description: 'accept paths without a trusted signature' },
    'out-link': { kind: 'string', short: 'o', description: "make PATH (PATH-2, PATH-3, … for more) a link to each of the bundle's tops, a GC root" },
    json: { kind: 'boolean', description: 'print {imported, alreadyValid, bytes} as JSON (stdout), and progress as JSON lines (stderr)' },
    ...PROGRESS_FLAGS,
  },
  async run(args, ctx) {
    const store = await ctx.store();
    const config = readStoreConfig(store.layout.configFile);
    const file = path.resolve(ctx.cwd, args.positionals[0]);
    const progress = await openProgress(ctx, args.flags);
    const shown = transferProgress(progress, 'import', 'importing');
    let r;
    try {
      r = await importBundle(store, file, { requireSigs: !args.flags['no-require-sigs'], trusted: configuredTrustedKeys(config), onProgress: shown.onProgress });
    } finally {
      shown.end();
      progress.close();
    }
    const base = args.flags['out-link'] as string | undefined;
    if (base !== undefined) r.tops.forEach((p, i) => addOutLink(store.layout, path.resolve(ctx.cwd, i === 0 ? base : `${base}-${i + 1}`), p));
    if (args.flags.json) printJson(ctx, r);
    else {
      for (const p of r.imported) ctx.stdout.write(p + '\n');
      if (base === undefined && r.imported.length) ctx.stderr.write(`note: no root keeps the imported paths; 'store gc' may delete them (use --out-link, or 'store profile install')\n`);
      ctx.stderr.write(`imported ${count(r.imported.length, 'path')} (${formatBytes(r.bytes)})${r.alreadyValid.length ? `; ${r.alreadyValid.length} ${r.alreadyValid.length === 1 ? 'was' : 'were'} already valid` : ''}\n`);
    }
    return 0;
  },
};
export default importCmd;
