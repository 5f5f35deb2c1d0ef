/**
 * bench/externals: every CMSSW external that exprs/cmssw/externals.ts builds from source, from a
 * cold store — the stdenv, the toolchain and the build tools first, then each package (its own
 * test suite runs in its build) — timed package by package, then `realize --check` of the whole
 * set, which rebuilds every package and compares it bit for bit. This is the long run that the
 * test suite leaves out (test/e2e/externals.test.ts builds a slice: zlib, FastJet, HepMC3).
 *
 * Sources come from the tests' local mirror (made once with the host's apt), so the figures do
 * not include the network.
 *
 *   node bench/run.mjs externals [-j 2] [--only NAME,NAME] [--no-check] [--keep] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, REPO, rm } from './lib.js';
// @ts-expect-error a plain ES module without types
import { ensureMirror } from '../../test/debian-mirror.mjs';

interface Options {
  jobs: number;
  only?: string[];
  check: boolean;
  keep: boolean;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { jobs: 2, check: true, keep: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-j' || a === '--jobs') o.jobs = Number(argv[++i]);
    else if (a === '--only') o.only = argv[++i].split(',').filter(Boolean);
    else if (a === '--no-check') o.check = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '--json') o.json = true;
    else throw new Error(`bench/externals: unknown option ${a}`);
  }
  if (!(o.jobs >= 1)) throw new Error('-j needs a number >= 1');
  return o;
}

const EXPR = path.join(REPO, 'exprs', 'cmssw', 'externals.ts');

function main(): void {
  const o = parse(process.argv.slice(2));
  // The tests' mirror holds the bootstrap's, toolchain's and build tools' sets; the Python
  // and Tcl build sets are added for this run.
  const sets = ['set.ts', 'toolchain.ts', 'build-tools.ts'].map((f) => path.join(REPO, 'src', 'expr', 'bootstrap', f)).concat(['python-build.ts', 'tcl-build.ts'].map((f) => path.join(REPO, 'exprs', 'cmssw', 'sets', f)));
  const mirror = ensureMirror(undefined, sets) as string | undefined;
  if (!mirror) throw new Error('bench/externals: could not make the local mirror of Debian files with apt-get');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hepstore-bench-externals-'));
  const env = { ...process.env, HEPSTORE_APT_GET: '', HEPSTORE_MIRROR_DEBIAN: mirror, STORE_ROOT: path.join(dir, 'root') };
  /** Run the CLI and time it; a failure is a result here, not an exception (the next package goes on). */
  const cli = (args: string[]) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
    return { s: Number(process.hrtime.bigint() - t0) / 1e9, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  try {
    const listed = cli(['eval', '--json', EXPR]);
    if (listed.status !== 0) throw new Error(`bench/externals: cannot evaluate ${EXPR}:\n${listed.stderr}`);
    const names = (JSON.parse(listed.stdout) as Array<{ attr: string }>).map((x) => x.attr);
    const wanted = o.only ?? names;
    for (const n of wanted) if (!names.includes(n)) throw new Error(`bench/externals: externals.ts has no '${n}' (it has ${names.join(', ')})`);
    // The tools every package needs, first, so that each package's figure is its own.
    const tools = cli(['realize', `-j${o.jobs}`, '--no-out-link', '--quiet', path.join(REPO, 'exprs', 'source', 'tinyxml2.ts')]);
    const rows: Array<{ name: string; s: number; ok: boolean }> = [{ name: '(stdenv, toolchain, CMake, TinyXML-2)', s: tools.s, ok: tools.status === 0 }];
    for (const n of wanted) {
      const r = cli(['realize', `-j${o.jobs}`, '--no-out-link', '--quiet', EXPR, '-A', n]);
      rows.push({ name: n, s: r.s, ok: r.status === 0 });
      if (!o.json) process.stdout.write(`${n.padEnd(40)} ${r.s.toFixed(1).padStart(7)} s ${r.status === 0 ? '' : `FAILED\n${r.stderr.trim().split('\n').slice(-15).join('\n')}`}\n`);
    }
    let check: { s: number; ok: boolean; summary: string } | undefined;
    if (o.check) {
      const args = ['realize', `-j${o.jobs}`, '--check', '--no-out-link', '--quiet', EXPR, ...wanted.flatMap((n) => ['-A', n])];
      const r = cli(args);
      const summary = /checked \d+ derivations?[^\n]*/.exec(r.stderr)?.[0] ?? r.stderr.trim().split('\n').slice(-5).join('\n');
      check = { s: r.s, ok: /every rebuilt output is bit for bit the same/.test(r.stderr), summary };
    }
    const failed = rows.filter((r) => !r.ok).map((r) => r.name);
    if (o.json) process.stdout.write(JSON.stringify({ rows, check, failed }, null, 2) + '\n');
    else {
      process.stdout.write(`\ncold: ${rows.reduce((s, r) => s + r.s, 0).toFixed(0)} s for ${wanted.length} packages (-j${o.jobs}); failed: ${failed.length ? failed.join(', ') : 'none'}\n`);
      if (check) process.stdout.write(`--check: ${check.s.toFixed(0)} s; ${check.summary}\n`);
    }
    if (failed.length || (check && !check.ok)) process.exitCode = 1;
  } finally {
    if (o.keep) process.stderr.write(`store kept at ${env.STORE_ROOT}\n`);
    else rm(dir);
  }
}

main();
