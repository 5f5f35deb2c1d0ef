/**
 * The layering of src/: the SQLite database is private to src/store/ (everything above it
 * goes through the Store interface, src/store/store.ts), and a lower layer never imports a
 * higher one. Reads the source tree; no build needed beyond this file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers.js';

/**
 * The layers, lowest first. A folder of src/ (or a file directly in src/) may import its own
 * folder and the layers below its own, nothing else: not a higher layer, and not another
 * folder of its own layer.
 */
const LAYERS: string[][] = [
  ['errors.ts', 'code-frame.ts', 'graph.ts', 'limit.ts', 'version.ts'],
  ['hash', 'net', 'host'],
  ['archive'],
  ['store'],
  ['derivation'],
  ['expr'],
  ['eval', 'cache', 'gc'],
  ['realize', 'inspect'],
  ['profile'],
  ['cli', 'debian'],
];

/** Modules of src/store/ that hold or take the database handle: nothing outside src/store/ imports them. */
const STORE_PRIVATE = ['db', 'locks', 'gc-snapshot', 'gc-rows', 'releases-db'];

/** Database calls that only src/store/ makes. */
const DB_CALLS: Array<[RegExp, string]> = [
  [/\.prepare\s*[<(]/, 'a prepared SQL statement (.prepare)'],
  [/\.pragma\s*\(/, 'a database pragma (.pragma)'],
  [/\.transaction\s*\(/, 'a database transaction (.transaction)'],
  [/[\w)\]]\.db\b/, 'the database handle (.db)'],
];

const SRC = path.join(REPO, 'src');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path.relative(SRC, p));
  }
  return out;
}

/** The unit of a file (relative to src/): its top folder, or the file itself when directly in src/. */
function unitOf(rel: string): string {
  return rel.split(/[\\/]/)[0];
}

/** Module specifiers of static imports, re-exports, dynamic imports and require calls. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"]+)\1/g)) out.push(m[2]);
  return out;
}

/** Comments are left out of the checks for database calls (they may well name them). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export interface Violation {
  file: string;
  what: string;
}

/** Every violation in `files` (path relative to src/ → text). */
export function checkLayering(files: Map<string, string>): Violation[] {
  const rank = new Map<string, number>();
  LAYERS.forEach((units, r) => units.forEach((u) => rank.set(u, r)));
  const out: Violation[] = [];
  for (const [rel, text] of files) {
    const unit = unitOf(rel);
    const from = rank.get(unit);
    if (from === undefined) {
      out.push({ file: rel, what: `'${unit}' is in no layer: add it to LAYERS in test/store/layering.test.ts (and to DESIGN's layout)` });
      continue;
    }
    const inStore = unit === 'store';
    for (const spec of specifiers(text)) {
      if (!inStore && (spec === 'better-sqlite3' || spec.startsWith('better-sqlite3/'))) out.push({ file: rel, what: `imports ${spec}: the database is private to src/store/` });
      if (!spec.startsWith('.')) continue;
      const target = path.relative(SRC, path.resolve(SRC, path.dirname(rel), spec));
      if (target.startsWith('..')) continue; // outside src/ (the schema, package.json)
      const to = unitOf(target);
      if (!inStore && to === 'store' && STORE_PRIVATE.includes(path.basename(target).replace(/\.(js|ts|mjs)$/, ''))) {
        out.push({ file: rel, what: `imports ${spec}, which holds the database: use the Store interface (src/store/store.ts)` });
      }
      if (to === unit) continue;
      const toRank = rank.get(to);
      if (toRank === undefined) continue; // reported for its own files
      if (toRank > from) out.push({ file: rel, what: `imports ${spec}: '${unit}' (layer ${from}) may not import the higher layer '${to}' (layer ${toRank})` });
      else if (toRank === from) out.push({ file: rel, what: `imports ${spec}: '${unit}' and '${to}' are in the same layer (${from}) and may not import each other` });
    }
    if (!inStore) {
      const code = withoutComments(text);
      for (const [re, what] of DB_CALLS) if (re.test(code)) out.push({ file: rel, what: `uses ${what}: SQL belongs in src/store/, behind the Store interface` });
    }
  }
  return out;
}

function readTree(): Map<string, string> {
  return new Map(sourceFiles(SRC).map((rel) => [rel, fs.readFileSync(path.join(SRC, rel), 'utf8')]));
}

test('the source tree keeps its layers, and the database stays in src/store/', () => {
  const files = readTree();
  assert.ok(files.size > 100, `read ${files.size} files of ${SRC}`);
  const found = checkLayering(files);
  assert.equal(found.map((v) => `${v.file}: ${v.what}`), []);
});

test('every folder of src/ is in a layer', () => {
  const units = new Set(LAYERS.flat());
  for (const e of fs.readdirSync(SRC, { withFileTypes: true })) {
    if (e.isDirectory() || /\.(ts|mjs|js)$/.test(e.name)) assert.ok(units.has(e.name), `src/${e.name} is in no layer`);
  }
});

test('the check finds what it is meant to find', () => {
  const files = new Map<string, string>([
    ['gc/bad-sql.ts', "import type { Store } from '../store/store.js';\nexport const f = (s: any) => s.db.prepare('SELECT 1').get();\n"],
    ['cli/bad-import.ts', "import Database from 'better-sqlite3';\nimport { writeTx } from '../store/db.js';\n"],
    ['store/up.ts', "export async function f() { return import('../gc/collect.js'); }\n"],
    ['cache/sibling.ts', "export { x } from '../gc/graph.js';\n"],
    ['cache/spread.ts', "export const f = (db: { inputSrcs: string[] }) => [...db.inputSrcs];\n"],
    ['hash/ok.ts', "// a comment about .prepare( is fine\nimport { StoreError } from '../errors.js';\n"],
    ['store/own.ts', "import { writeTx } from './db.js';\nexport const g = (db: any) => db.prepare('SELECT 1');\n"],
    ['newfolder/x.ts', ''],
  ]);
  const found = checkLayering(files).map((v) => `${v.file}: ${v.what}`);
  const has = (file: string, re: RegExp) => assert.ok(found.some((f) => f.startsWith(file + ':') && re.test(f)), `${file} ${re}\n${found.join('\n')}`);
  has('gc/bad-sql.ts', /\.prepare/);
  has('gc/bad-sql.ts', /\.db/);
  has('cli/bad-import.ts', /better-sqlite3/);
  has('cli/bad-import.ts', /store\/db\.js/);
  has('store/up.ts', /higher layer 'gc'/);
  has('cache/sibling.ts', /same layer/);
  has('newfolder/x.ts', /in no layer/);
  assert.not.ok(found.some((f) => f.startsWith('hash/ok.ts') || f.startsWith('cache/spread.ts') || f.startsWith('store/own.ts')), found.join('\n'));
});

test.run();
