/**
 * Module hooks for evaluating expression files (they run on Node's loader thread):
 * `import … from "hepstore"` resolves to the API of this installation, wherever the file is;
 * TypeScript is transformed with esbuild, cached by content, with inline source maps so that
 * errors name the original file and line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

interface Data {
  apiUrl: string;
  cacheDir?: string;
}

let data: Data;

export async function initialize(d: Data): Promise<void> {
  data = d;
}

type Next<T> = (specifier: string, context?: unknown) => Promise<T>;
interface ResolveResult {
  url: string;
  format?: string;
  shortCircuit?: boolean;
}
interface LoadResult {
  format: string;
  source?: string | Buffer;
  shortCircuit?: boolean;
}

const TS_EXT = /\.(m|c)?tsx?$/;

export async function resolve(specifier: string, context: { parentURL?: string }, next: Next<ResolveResult>): Promise<ResolveResult> {
  if (specifier === 'hepstore') return { url: data.apiUrl, shortCircuit: true, format: 'module' };
  try {
    return await next(specifier, context);
  } catch (err) {
    // TypeScript style: './lib.js' naming './lib.ts', or an extensionless './lib'.
    const parent = context.parentURL;
    if (parent && (specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/'))) {
      const base = specifier.replace(/\.(m|c)?js$/, '');
      for (const cand of [`${base}.ts`, `${base}.mts`, `${base}/index.ts`]) {
        const url = new URL(cand, parent);
        if (fs.existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
      }
    }
    throw err;
  }
}

function cachePath(key: string): string | undefined {
  return data.cacheDir ? path.join(data.cacheDir, `${key}.mjs`) : undefined;
}

export async function load(url: string, context: { format?: string }, next: Next<LoadResult>): Promise<LoadResult> {
  if (!url.startsWith('file:') || !TS_EXT.test(url)) return next(url, context);
  const file = fileURLToPath(url);
  const source = fs.readFileSync(file, 'utf8');
  const { version, transform } = await import('esbuild');
  const key = createHash('sha256').update(`${version}\0${file}\0${source}`).digest('hex').slice(0, 40);
  const cached = cachePath(key);
  if (cached) {
    try {
      return { format: 'module', source: fs.readFileSync(cached, 'utf8'), shortCircuit: true };
    } catch {
      /* not cached yet */
    }
  }
  let code: string;
  try {
    const out = await transform(source, { loader: url.endsWith('x') ? 'tsx' : 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', sourcefile: file });
    code = out.code;
  } catch (err) {
    const e = err as { errors?: Array<{ text: string; location?: { line: number; column: number; lineText: string } }> };
    const first = e.errors?.[0];
    if (first) {
      const loc = first.location;
      const where = loc ? `${file}:${loc.line}:${loc.column + 1}` : file;
      const snippet = loc ? `\n    ${loc.lineText}\n    ${' '.repeat(loc.column)}^` : '';
      throw new SyntaxError(`${where}: ${first.text}${snippet}`);
    }
    throw err;
  }
  if (cached) {
    try {
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, code);
      fs.renameSync(tmp, cached);
    } catch {
      /* a cache that cannot be written only costs time */
    }
  }
  return { format: 'module', source: code, shortCircuit: true };
}
