import path from 'node:path';
import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { readStoreConfig } from '../store/config.js';
import { addSignatures } from '../cache/trust/signing.js';
import { configuredSecretKeys } from '../cache/trust/keys.js';
import { resolveInstallable } from './resolve.js';

const signCmd: Command = {
  usage: 'store sign PATH... [--key-file FILE...] [-r] [--json]',
  positionals: { min: 1, says: 'needs at least one PATH' },
  summary: 'Sign valid store paths (their path, narHash, narSize and references) with a secret key, recording the signatures in the store database.',
  flags: {
    'key-file': { kind: 'strings', short: 'k', description: 'secret key file (default: "secretKeyFiles" of etc/hepstore.json)' },
    recursive: { kind: 'boolean', short: 'r', description: 'sign the closure of the paths' },
    json: { kind: 'boolean', description: 'print the signed paths and their signatures as JSON' },
  },
  async run(args, ctx) {
    const store = await ctx.store();
    const config = readStoreConfig(store.layout.configFile);
    const files = (args.flags['key-file'] as string[] | undefined)?.map((f) => path.resolve(ctx.cwd, f));
    const keys = configuredSecretKeys(config, store.layout.configFile, files);
    if (keys.length === 0) throw new StoreError('USAGE', 'no secret key to sign with', { hint: 'pass --key-file FILE (see `store keygen`), or set "secretKeyFiles" in etc/hepstore.json' });
    const roots = args.positionals.map((a) => resolveInstallable(store, a, ctx.cwd));
    store.addTempRoots(roots);
    const paths = args.flags.recursive ? store.queryClosure(roots) : roots;
    const out: Array<{ path: string; signatures: string[] }> = [];
    for (const p of paths) {
      const info = store.pathInfo(p);
      const sigs = addSignatures(info, info.sigs, keys);
      store.setSignatures(p, sigs);
      out.push({ path: p, signatures: sigs });
    }
    if (args.flags.json) printJson(ctx, out);
    else ctx.stderr.write(`signed ${paths.length} path${paths.length === 1 ? '' : 's'} with ${keys.map((k) => k.name).join(', ')}\n`);
    return 0;
  },
};
export default signCmd;
