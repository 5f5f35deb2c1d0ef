import path from 'node:path';
import type { Command } from './command.js';
import { count, formatBytes } from '../gc/format.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { networkTimeouts, readStoreConfig } from '../store/config.js';
import { openBinaryCache } from '../cache/binary/binary-cache.js';
import { pushClosure } from '../cache/binary/push.js';
import { configuredSecretKeys } from '../cache/trust/keys.js';
import type { Compression } from '../cache/binary/narinfo.js';
import { resolveInstallable } from './resolve.js';
import { parseJobs } from './realize-graph.js';
import { openProgress, PROGRESS_FLAGS } from './progress.js';
import { transferProgress } from './realize-progress.js';

const push: Command = {
  usage: 'store push --to URL PATH... [--compression gzip|br|none] [--key-file FILE...] [-j N] [--quiet] [--json]',
  positionals: { min: 1, says: 'needs at least one PATH' },
  summary:
    'Upload store paths and their closure to a binary cache (file:///dir, or http(s):// with PUT), archives first and metadata in dependency order, skipping what the cache already has. Signs with the configured secret keys.',
  flags: {
    to: { kind: 'string', description: 'the binary cache URL' },
    compression: { kind: 'string', description: 'gzip (default, level 1), br or none' },
    'key-file': { kind: 'strings', description: 'sign with this secret key (default: "secretKeyFiles" of etc/hepstore.json)' },
    jobs: { kind: 'string', short: 'j', description: 'uploads at once (default 4)', check: (v) => parseJobs(v) },
    json: { kind: 'boolean', description: 'print {pushed, skipped, narBytes, fileBytes} as JSON (stdout), and progress as JSON lines (stderr)' },
    ...PROGRESS_FLAGS,
  },
  async run(args, ctx) {
    const to = args.flags.to as string | undefined;
    if (!to) throw new StoreError('USAGE', 'store push needs --to URL', { hint: 'e.g. store push --to file:///srv/cache ./result' });
    const compression = ((args.flags.compression as string | undefined) ?? 'gzip') as Compression;
    if (!['gzip', 'br', 'none'].includes(compression)) throw new StoreError('USAGE', `unknown compression '${compression}' (gzip, br or none)`);
    const store = await ctx.store();
    const config = readStoreConfig(store.layout.configFile);
    const keys = configuredSecretKeys(config, store.layout.configFile, (args.flags['key-file'] as string[] | undefined)?.map((f) => path.resolve(ctx.cwd, f)));
    const paths = args.positionals.map((a) => resolveInstallable(store, a, ctx.cwd));
    const progress = await openProgress(ctx, args.flags);
    const shown = transferProgress(progress, 'push', 'pushing');
    let r;
    try {
      r = await pushClosure(store, openBinaryCache(to, { timeouts: networkTimeouts(config, store.layout.configFile) }), paths, { keys, compression, jobs: parseJobs(args.flags.jobs), onProgress: shown.onProgress });
    } finally {
      shown.end();
      progress.close();
    }
    if (args.flags.json) printJson(ctx, r);
    else {
      for (const p of r.pushed) ctx.stdout.write(p + '\n');
      ctx.stderr.write(`pushed ${count(r.pushed.length, 'path')} (${formatBytes(r.narBytes)}, ${formatBytes(r.fileBytes)} compressed) to ${to}; ${r.skipped.length} ${r.skipped.length === 1 ? 'was' : 'were'} already there\n`);
    }
    return 0;
  },
};
export default push;
