import type { Command } from './command.js';
import { printJson } from './command.js';
import { resolveInstallable } from './resolve.js';
import { whyDepends } from '../inspect/why-depends.js';

const whyDependsCmd: Command = {
  usage: 'store why-depends A B [--json]',
  positionals: { min: 2, max: 2, says: 'takes two paths, A and B', hint: 'e.g. store why-depends ./result /store/…-zlib-1.3' },
  summary:
    "Show why A depends on B: a shortest chain of references from A down to B and, for each hop, the files of the path in which the next path's hash appears, with the text around it. Exits 1 if B is not in A's closure.",
  flags: { json: { kind: 'boolean', description: 'print the chain as JSON: [{path, hits: [{file, in, offset, excerpt}]}]' } },
  async run(args, ctx) {
    const store = await ctx.store();
    const [a, b] = args.positionals.map((x) => resolveInstallable(store, x, ctx.cwd));
    store.addTempRoots([a, b]);
    const hops = whyDepends(store, a, b);
    if (args.flags.json) {
      printJson(ctx, hops);
      return 0;
    }
    const out: string[] = [hops[0].path];
    hops.forEach((hop, i) => {
      if (i + 1 === hops.length) return;
      const indent = '    '.repeat(i);
      const shown = hop.hits.length ? hop.hits : [{ file: '', in: 'contents' as const, excerpt: '(the hash is recorded as a reference but no longer found in the files)' }];
      shown.forEach((h, k) => {
        const where = h.in === 'target' ? `${h.file || '.'} -> ` : h.in === 'name' ? `${h.file} (name): ` : `${h.file || '.'}: `;
        out.push(`${indent}${k + 1 === shown.length ? '└───' : '├───'}${where}${h.excerpt}`);
      });
      out.push(`${indent}    → ${hops[i + 1].path}`);
    });
    ctx.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
export default whyDependsCmd;
