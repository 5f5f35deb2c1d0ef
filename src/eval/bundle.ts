/**
 * Expression files are bundled with esbuild into one ES module: `import … from "hepstore"`
 * stays external and points at this installation's API, TypeScript is stripped, and inline
 * source maps keep errors naming the original files and lines. Bundles are cached, keyed by
 * the content of every file they were built from, so an unchanged expression is loaded
 * without running esbuild at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StoreError } from '../errors.js';
import { codeFrame } from '../code-frame.js';

const API_URL = new URL('../expr/index.js', import.meta.url).href;
/** Where `import … from "hepstore/NAME"` is taken from: the package's expressions, NAME.ts. */
const EXPRS_DIR = fileURLToPath(new URL('../../../exprs/', import.meta.url));

/** The file of `hepstore/NAME` (the package sets and helpers in exprs/), or an error naming what there is. */
function exprsModule(spec: string): { path: string } | { errors: Array<{ text: string }> } {
  const name = spec.slice('hepstore/'.length).replace(/\.ts$/, '');
  const file = path.join(EXPRS_DIR, `${name}.ts`);
  if (!name.split('/').includes('..') && fs.existsSync(file)) return { path: file };
  const dir = path.dirname(path.join(EXPRS_DIR, name));
  let there: string[] = [];
  try {
    there = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => `hepstore/${path.relative(EXPRS_DIR, path.join(dir, f)).replace(/\.ts$/, '')}`);
  } catch {
    there = ['hepstore/debian/python', 'hepstore/debian/sets/laptop', 'hepstore/cmssw/release', 'hepstore/source/zlib'];
  }
  return { errors: [{ text: `"${spec}" is not a module of hepstore (there are: ${there.slice(0, 12).join(', ')})` }] };
}
/** Changes whenever the way bundles are made changes. */
const BUNDLE_FORMAT = '5';

interface CacheIndex {
  inputs: Record<string, string>;
  bundle: string;
  dynamicImport: boolean;
}

export interface Bundle {
  /** The module to import. */
  url: string;
  /** Every file the bundle was built from, with the sha256 (hex) of the contents that went in. */
  inputs: Record<string, string>;
  /**
   * Whether the bundle still imports something at run time that is not named by a string
   * (`import(name)`): a file read then is outside `inputs`.
   */
  dynamicImport: boolean;
}

/** An `import(` left in the output: esbuild bundles every import whose path it can read. */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

const sha = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

function readIndex(file: string): CacheIndex | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as CacheIndex;
  } catch {
    return undefined;
  }
}

function upToDate(index: CacheIndex, dir: string): boolean {
  if (!fs.existsSync(path.join(dir, index.bundle))) return false;
  for (const [file, hash] of Object.entries(index.inputs)) {
    try {
      if (sha(fs.readFileSync(file)) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

type EsbuildMessage = { text: string; location?: { file: string; line: number; column: number; lineText: string } | null };

function buildError(errors: EsbuildMessage[], entry: string): StoreError {
  const first = errors[0];
  const loc = first?.location;
  const where = loc ? `${path.resolve('/', loc.file)}:${loc.line}:${loc.column + 1}` : entry;
  const snippet = loc ? codeFrame(loc.lineText, loc.column) : '';
  const more = errors.length > 1 ? `\n(and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
  return new StoreError('EVAL', `${where}: ${first?.text ?? 'cannot load the expression'}${snippet}${more}`, { hint: `fix ${loc ? path.resolve('/', loc.file) : entry} and run again` });
}

function esbuildVersionOf(): string {
  try {
    return (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version;
  } catch {
    return '?';
  }
}

/** Bundle `entry` (an absolute path): the URL of the module to import, and what it was made from. */
export async function bundleExpression(entry: string, cacheDir?: string): Promise<Bundle> {
  const dir = cacheDir ? path.join(cacheDir, 'eval') : undefined;
  const esbuildVersion = esbuildVersionOf();
  const indexFile = dir ? path.join(dir, `${sha(`${BUNDLE_FORMAT}\0${esbuildVersion}\0${API_URL}\0${entry}`).slice(0, 32)}.json`) : undefined;
  if (dir && indexFile) {
    const index = readIndex(indexFile);
    if (index && typeof index.dynamicImport === 'boolean' && upToDate(index, dir)) {
      return { url: pathToFileURL(path.join(dir, index.bundle)).href, inputs: index.inputs, dynamicImport: index.dynamicImport };
    }
  }
  const esbuild = await import('esbuild');
  const inputs: Record<string, string> = {};
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: '/',
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      // Stack traces need only the mappings; the sources are on disk. (The map is parsed
      // each time the bundle is loaded.)
      sourcesContent: false,
      sourceRoot: 'file:///',
      // No tsconfig.json on disk changes how an expression is compiled (it is no input of the
      // evaluation cache): the editor settings `store init` writes are for types only.
      tsconfigRaw: {},
      write: false,
      logLevel: 'silent',
      plugins: [
        {
          name: 'hepstore',
          setup(b) {
            b.onResolve({ filter: /^hepstore$/ }, () => ({ path: API_URL, external: true }));
            b.onResolve({ filter: /^hepstore\// }, (args) => exprsModule(args.path));
            // Every file read is recorded with its hash for the cache key (JSON and text
            // files too, with esbuild's loader for them), and each source keeps its own
            // import.meta.url (the bundle lives elsewhere).
            b.onLoad({ filter: /.*/, namespace: 'file' }, (args) => {
              const source = fs.readFileSync(args.path);
              inputs[args.path] = sha(source);
              if (!/\.(m|c)?[jt]sx?$/.test(args.path)) return { contents: source, loader: 'default' };
              let text = source.toString('utf8');
              if (text.includes('import.meta')) {
                const url = pathToFileURL(args.path).href;
                text = text
                  .replaceAll('import.meta.url', JSON.stringify(url))
                  .replaceAll('import.meta.filename', JSON.stringify(args.path))
                  .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)));
              }
              const ext = path.extname(args.path);
              const loader = ext.includes('ts') ? (ext.endsWith('x') ? 'tsx' : 'ts') : ext.endsWith('x') ? 'jsx' : 'js';
              return { contents: text, loader };
            });
          },
        },
      ],
    });
  } catch (e) {
    const errors = (e as { errors?: EsbuildMessage[] }).errors;
    if (errors?.length) throw buildError(errors, entry);
    throw new StoreError('EVAL', `cannot load ${entry}: ${(e as Error).message}`, { cause: e });
  }
  const code = result.outputFiles[0].contents;
  const dynamicImport = DYNAMIC_IMPORT.test(result.outputFiles[0].text);
  if (dir && indexFile) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      const bundle = `${sha(code).slice(0, 32)}.mjs`;
      if (!fs.existsSync(path.join(dir, bundle))) writeAtomic(path.join(dir, bundle), code);
      writeAtomic(indexFile, JSON.stringify({ inputs, bundle, dynamicImport } satisfies CacheIndex));
      return { url: pathToFileURL(path.join(dir, bundle)).href, inputs, dynamicImport };
    } catch {
      // A cache that cannot be written (a store this user may only read): as without one.
    }
  }
  // No cache: a private temporary file, removed at exit.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hepstore-eval-'));
  const file = path.join(tmp, 'expression.mjs');
  fs.writeFileSync(file, code);
  process.once('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  return { url: pathToFileURL(file).href, inputs, dynamicImport };
}
