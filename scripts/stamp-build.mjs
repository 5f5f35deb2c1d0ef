#!/usr/bin/env node
// Writes dist/build-id after `tsc`: a hash of the compiled code, the package's version and the
// versions of its dependencies as installed. The evaluation cache keeps results only for the
// build that made them (src/eval/eval-cache.ts); without this file it keeps none.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const h = createHash('sha256');
h.update(`hepstore ${pkg.version}\0`);
const require = createRequire(path.join(root, 'package.json'));
for (const dep of Object.keys(pkg.dependencies ?? {}).sort()) {
  let version = '?';
  try {
    version = require(`${dep}/package.json`).version;
  } catch {
    /* a package without an exported package.json: its name alone */
  }
  h.update(`${dep}@${version}\0`);
}
const files = fs
  .readdirSync(path.join(dist, 'src'), { recursive: true })
  .map(String)
  .filter((f) => fs.statSync(path.join(dist, 'src', f)).isFile())
  .sort();
for (const f of files) h.update(`${f}\0`).update(fs.readFileSync(path.join(dist, 'src', f))).update('\0');
const tmp = path.join(dist, `build-id.${process.pid}.tmp`);
fs.writeFileSync(tmp, h.digest('hex') + '\n');
fs.renameSync(tmp, path.join(dist, 'build-id'));
