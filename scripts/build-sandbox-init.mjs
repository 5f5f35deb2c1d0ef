#!/usr/bin/env node
// Compiles src/realize/sandbox-init.c into dist/src/realize/hepstore-sandbox-init, a static binary
// (see the comment at the top of the C file). Without a C compiler and a static C library the
// sandbox still works, binding each input through bwrap (slower for large input closures).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, 'src', 'realize', 'sandbox-init.c');
const out = path.join(root, 'dist', 'src', 'realize', 'hepstore-sandbox-init');
if (process.platform !== 'linux') process.exit(0);
if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs) process.exit(0);
fs.mkdirSync(path.dirname(out), { recursive: true });
const cc = process.env.CC || 'cc';
const tmp = `${out}.tmp-${process.pid}`;
const r = spawnSync(cc, ['-static', '-O2', '-Wall', '-o', tmp, src], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  fs.rmSync(tmp, { force: true });
  fs.rmSync(out, { force: true });
  process.stderr.write(`note: could not compile ${path.relative(root, src)} with '${cc} -static' (${r.error?.message ?? `exit ${r.status}`}); sandboxed builds will bind each input through bwrap, which is slow for large input closures (install a C compiler and the static C library, e.g. gcc and libc6-dev)\n`);
  process.exit(0);
}
fs.renameSync(tmp, out);
