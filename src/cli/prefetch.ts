import type { Command } from './command.js';
import { printJson } from './command.js';
import { formatBytes } from '../gc/format.js';
import { StoreError } from '../errors.js';
import { networkTimeouts, readStoreConfig } from '../store/config.js';
import { checkUrl, urlName } from '../expr/fetchurl.js';
import { prefetchUrl } from '../realize/prefetch.js';

const prefetch: Command = {
  usage: 'store prefetch URL [--name NAME] [--executable] [--json]',
  positionals: { min: 1, max: 1, says: 'takes exactly one URL', hint: 'e.g. store prefetch https://example.org/fastjet-3.4.2.tar.gz' },
  summary:
    "Download a file into the store as fetchurl would (http(s)://, file://, mirror://, apt:) and print its store path and the `integrity` to write in the expression; realizing `fetchurl({ url, integrity })` then downloads nothing.",
  flags: {
    name: { kind: 'string', description: "the store path's name (default: the URL's last component, as fetchurl)" },
    executable: { kind: 'boolean', description: "as fetchurl's executable: the file is executable and its integrity is its archive's hash" },
    json: { kind: 'boolean', description: 'print {url, name, path, integrity, size} as JSON' },
  },
  async run(args, ctx) {
    const url = args.positionals[0];
    try {
      checkUrl(url);
    } catch (e) {
      throw new StoreError('USAGE', (e as Error).message.replace(/^fetchurl: /, ''), { hint: (e as StoreError).hint });
    }
    const name = (args.flags.name as string | undefined) ?? urlName(url);
    const store = await ctx.store();
    const config = readStoreConfig(store.layout.configFile);
    const r = await prefetchUrl(store, url, { name, executable: Boolean(args.flags.executable), mirrors: config.mirrors, timeouts: networkTimeouts(config, store.layout.configFile) });
    if (args.flags.json) {
      printJson(ctx, { url, name, path: r.path, integrity: r.integrity, size: r.size });
      return 0;
    }
    ctx.stderr.write(`${r.existed ? 'already in the store' : 'added'}: ${formatBytes(r.size)} from ${url}\n`);
    const opts = [`url: '${url}'`, `integrity: '${r.integrity}'`, ...(args.flags.name !== undefined ? [`name: '${name}'`] : []), ...(args.flags.executable ? ['executable: true'] : [])];
    ctx.stdout.write(`path: ${r.path}\nintegrity: ${r.integrity}\nfetchurl({ ${opts.join(', ')} })\n`);
    return 0;
  },
};
export default prefetch;
