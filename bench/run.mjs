#!/usr/bin/env node
// Runs benchmarks: `node bench/run.mjs [NAME...] [--flags passed to each]`.
// NAME is dist/bench/NAME.js (compiled from bench/NAME.ts) or bench/NAME.mjs; no NAME runs them all.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const compiled = path.join(root, 'dist', 'bench');
const plain = path.join(root, 'bench');

function scriptFor(name) {
  for (const f of [path.join(compiled, `${name}.js`), path.join(plain, `${name}.mjs`)]) if (fs.existsSync(f)) return f;
  return undefined;
}

function allNames() {
  const names = new Set();
  if (fs.existsSync(compiled)) for (const f of fs.readdirSync(compiled)) if (f.endsWith('.js')) names.add(f.slice(0, -3));
  for (const f of fs.readdirSync(plain)) if (f.endsWith('.mjs') && f !== 'run.mjs') names.add(f.slice(0, -4));
  return [...names].sort();
}

const argv = process.argv.slice(2);
const firstFlag = argv.findIndex((a) => a.startsWith('-'));
const names = firstFlag === -1 ? argv : argv.slice(0, firstFlag);
const flags = firstFlag === -1 ? [] : argv.slice(firstFlag);

let failed = 0;
for (const name of names.length ? names : allNames()) {
  const script = scriptFor(name);
  if (!script) {
    process.stderr.write(`bench: no benchmark '${name}' (looked for dist/bench/${name}.js and bench/${name}.mjs; run 'npm run build' first)\n`);
    failed++;
    continue;
  }
  if (names.length !== 1) process.stderr.write(`\n== ${name} ==\n`);
  const r = spawnSync(process.execPath, [script, ...flags], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
