/**
 * `store init [DIR]`: make a directory ready for an expression of one's own, anywhere on disk —
 * an env.ts to start from, a tsconfig.json for editors and `tsc --noEmit`, and
 * node_modules/hepstore, a link to this hepstore, through which both "hepstore" (the API) and
 * "hepstore/NAME" (the package sets and helpers of its exprs/ folder) get their types.
 * Existing files are kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.js';
import { StoreError } from '../errors.js';

/** The installed hepstore package (the folder with package.json, dist/ and exprs/). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

const ENV_TS = `/**
 * An analysis environment: Python 3.11 with the laptop set's packages (numpy, scipy,
 * matplotlib, pandas, …, pinned Debian binaries), checked to import what is listed.
 *
 *   store realize env.ts           # ./result/bin/python3
 *   eval "$(store env env.ts)"     # or activate it in this shell
 */
import { pythonEnv } from 'hepstore/debian/python';
import laptop from 'hepstore/debian/sets/laptop';

export default pythonEnv({
  name: 'my-analysis',
  set: laptop,
  imports: {
    'python3-numpy': ['numpy'],
    'python3-matplotlib': ['matplotlib.pyplot'],
  },
});
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'preserve',
    moduleResolution: 'bundler',
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: ['./node_modules/hepstore/node_modules/@types', './node_modules/@types'],
  },
  exclude: ['node_modules', 'result*'],
};

const init: Command = {
  usage: 'store init [DIR] [--force-link]',
  positionals: { min: 0, max: 1, says: 'takes at most one DIR' },
  summary:
    'Make DIR (default: the current directory) ready for an expression of your own: env.ts (a Python analysis environment to start from), tsconfig.json, and node_modules/hepstore, a link to this hepstore that gives editors and `tsc` the types of "hepstore" and of the package sets ("hepstore/debian/sets/laptop"). Existing files are kept.',
  flags: {
    'force-link': { kind: 'boolean', description: 'replace a node_modules/hepstore that points elsewhere' },
  },
  async run(args, ctx) {
    const dir = path.resolve(ctx.cwd, args.positionals[0] ?? '.');
    fs.mkdirSync(dir, { recursive: true });
    const shown = (file: string) => {
      const rel = path.relative(ctx.cwd, file);
      return rel === '' ? '.' : rel.startsWith('..') ? file : rel;
    };
    const say = (what: string, file: string) => ctx.stderr.write(`${what} ${shown(file)}\n`);
    const writeNew = (name: string, text: string) => {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return say('kept', file);
      fs.writeFileSync(file, text, { flag: 'wx' });
      say('wrote', file);
    };
    writeNew('env.ts', ENV_TS);
    writeNew('tsconfig.json', JSON.stringify(TSCONFIG, null, 2) + '\n');
    const link = path.join(dir, 'node_modules', 'hepstore');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    let current: string | undefined;
    try {
      current = fs.realpathSync(link);
    } catch {
      current = undefined;
    }
    if (current === fs.realpathSync(PACKAGE_ROOT)) say('kept', link);
    else if (current !== undefined || isLink(link)) {
      if (!args.flags['force-link']) {
        throw new StoreError('USAGE', `${link} exists and is not this hepstore (${PACKAGE_ROOT})`, { hint: 'pass --force-link to point it here' });
      }
      fs.rmSync(link, { recursive: true, force: true });
      fs.symlinkSync(PACKAGE_ROOT, link);
      say('relinked', link);
    } else {
      fs.symlinkSync(PACKAGE_ROOT, link);
      say('linked', link);
    }
    ctx.stderr.write(`next: store realize ${shown(path.join(dir, 'env.ts'))}\n`);
    return 0;
  },
};

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

export default init;
