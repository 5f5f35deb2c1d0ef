import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { readStoreConfig } from '../store/config.js';
import { exportBundle } from '../cache/bundle.js';
import { configuredSecretKeys } from '../cache/trust/keys.js';
import { resolveInstallable } from './resolve.js';
import { openProgress, PROGRESS_FLAGS } from './progress.js';
import { transferProgress } from './realize-progress.js';

const exportCmd: Command = {
  usage: 'store export PATH... -o FILE [--no-closure] [--key-file FILE...] [--quiet] [--json]',
  positionals: { min: 1, says: 'needs at least one PATH' },
  summary:
    'Write store paths with their closure (dependencies first) to one bundle file: canonical archives plus narHash, narSize, references, deriver and signatures. Signs with the configured secret keys. `store import FILE` reads it.',
  flags: {
    output: { kind: 'string', short: 'o', description: 'the bundle file to write (- for stdout)' },
    closure: { kind: 'boolean', description: 'include the closure of the paths (the default)' },
    'no-closure': { kind: 'boolean', description: 'only the paths named (their references must already be valid where it is imported)' },
    'key-file': { kind: 'strings', description: 'sign with this secret key (default: "secretKeyFiles" of etc/hepstore.json)' },
    json: { kind: 'boolean', description: 'print {file, paths, bytes} as JSON (stdout), and progress as JSON lines (stderr)' },
    ...PROGRESS_FLAGS,
  },
  async run(args, ctx) {
    const out = args.flags.output as string | undefined;
    if (!out) throw new StoreError('USAGE', 'store export needs -o FILE', { hint: 'e.g. store export ./result -o env.bundle' });
    if (args.flags.closure && args.flags['no-closure']) throw new StoreError('USAGE', '--closure and --no-closure do not go together');
    const store = await ctx.store();
    const config = readStoreConfig(store.layout.configFile);
    const keys = configuredSecretKeys(config, store.layout.configFile, (args.flags['key-file'] as string[] | undefined)?.map((f) => path.resolve(ctx.cwd, f)));
    const paths = args.positionals.map((a) => resolveInstallable(store, a, ctx.cwd));
    const toStdout = out === '-';
    const file = toStdout ? '' : path.resolve(ctx.cwd, out);
    const temp = toStdout ? '' : `${file}.tmp-${process.pid}`;
    let result;
    const progress = await openProgress(ctx, args.flags);
    const shown = transferProgress(progress, 'export', 'exporting');
    // A file is written at known offsets, its archives on several threads (cache/bundle.ts).
    let fd: number | undefined;
    try {
      if (!toStdout) fd = fs.openSync(temp, 'w');
      result = await exportBundle(store, paths, fd === undefined ? ctx.stdout : { fd }, { closure: !args.flags['no-closure'], keys, onProgress: shown.onProgress });
      if (fd !== undefined) {
        fs.closeSync(fd);
        fd = undefined;
        fs.renameSync(temp, file);
      }
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      if (!toStdout) fs.rmSync(temp, { force: true });
      if (err instanceof StoreError) throw err;
      throw new StoreError('IO', `cannot write the bundle ${toStdout ? 'to stdout' : file}: ${(err as Error).message}`, { cause: err });
    } finally {
      shown.end();
      progress.close();
    }
    if (args.flags.json) printJson(ctx, { file: toStdout ? '-' : file, paths: result.paths, bytes: result.bytes });
    else ctx.stderr.write(`exported ${result.paths.length} paths (${result.bytes} bytes)${toStdout ? '' : ` to ${file}`}\n`);
    return 0;
  },
};
export default exportCmd;
