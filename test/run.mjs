#!/usr/bin/env node
// Runs the uvu suites compiled to dist/test and ends with one plain summary line.
// Usage: node test/run.mjs [PATTERN]   (PATTERN filters test files, e.g. "archive")
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ensureMirror } from './debian-mirror.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const filter = process.argv[2] ? `${process.argv[2]}.*\\.test\\.js$` : '\\.test\\.js$';
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
// Builds in tests take the bootstrap's Debian packages from a local mirror, with apt off: no test
// reaches the network (test/e2e/laptop.test.ts turns apt back on for the laptop set's packages).
const env = { ...process.env };
const mirror = ensureMirror();
if (mirror) Object.assign(env, { HEPSTORE_TEST_DEBIAN_MIRROR: mirror, HEPSTORE_MIRROR_DEBIAN: mirror, HEPSTORE_APT_GET: '' });
else process.stderr.write('test mirror: unavailable; tests that build the stdenv fetch with apt or are skipped\n');
const child = spawn(process.execPath, [uvu, 'dist/test', filter, '-i', 'fixtures'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
});
child.on('close', (code) => {
  const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(code === 0 && total > 0 ? 0 : 1);
});
