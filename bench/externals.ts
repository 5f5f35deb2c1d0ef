/**
 * bench/externals: every CMSSW external that exprs/cmssw/externals.ts builds, in two fresh stores
 * at the same store directory, one after the other (the first deleted before the second is
 * made). In each: the stdenv, its toolchain and the build tools (CMake, pkg-config) first, then
 * the sources, then each package (its own test suite runs in its build), timed package by
 * package; the output of each realize's builders tells the phases apart. Per package it prints the
 * build time in each store and whether the two agree: the output path, its narHash and those of
 * its whole closure. Then each package built by hand outside the store by
 * bench/externals-by-hand.sh — the same source tarball, flags, phase code, test suite and number
 * of cores, with the host's compiler, make and CMake — and the store's total against the by-hand
 * total over the packages that have both (the store's overhead; the target is 10% at most).
 * Packages that cannot be built that simply (Debian's binary packages relocated into the store,
 * tools that the host lacks) have no by-hand figure. Then the time of each phase (unpack,
 * configure, build, check, install) in each store and by hand.
 *
 * With --keep, the second store and the logs of the builds by hand are kept (to look at).
 *
 * With --check, `realize --check` of the packages in the first store as well: it rebuilds them
 * (with their inputs as they are) and compares them bit for bit. Exit 1 if a build fails, the two
 * stores disagree or --check finds a difference.
 *
 * Sources come from the tests' local mirror (made once with the host's apt), so the figures do
 * not include the network. This is the long run that the test suite leaves out
 * (test/e2e/externals.test.ts builds a slice: zlib, FastJet, HepMC3).
 *
 *   node bench/run.mjs externals [-j 2] [--only NAME,NAME] [--no-host] [--check] [--keep] [--json]
 *
 * Progress (each package as it is built, in each store and by hand) goes to stderr, with --json
 * as well; the table, or with --json the result, to stdout at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { LocalStore } from '../src/store/local-store.js';
import { parseDerivation, type Derivation } from '../src/derivation/derivation.js';
import { CLI, REPO, has, rm } from './lib.js';
// @ts-expect-error a plain ES module without types
import { ensureMirror } from '../../test/debian-mirror.mjs';

interface Options {
  jobs: number;
  only?: string[];
  host: boolean;
  check: boolean;
  keep: boolean;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { jobs: 2, host: true, check: false, keep: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-j' || a === '--jobs') o.jobs = Number(argv[++i]);
    else if (/^-j\d+$/.test(a)) o.jobs = Number(a.slice(2));
    else if (a === '--only') o.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--no-host') o.host = false;
    else if (a === '--check') o.check = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--json') o.json = true;
    else throw new Error(`bench/externals: unknown option ${a}`);
  }
  if (!(o.jobs >= 1)) throw new Error('-j needs a number >= 1');
  return o;
}

const EXPR = path.join(REPO, 'exprs', 'cmssw', 'externals.ts');
const BY_HAND = path.join(REPO, 'bench', 'externals-by-hand.sh');
/** The phases of the store's builder, in order (src/expr/setup.sh). */
const PHASES = ['unpack', 'patch', 'configure', 'build', 'check', 'install', 'fixup'] as const;
/** What the tables show: unpack and patch together; the store's fixup with its registration. */
const COLUMNS = ['before', 'unpack', 'configure', 'build', 'check', 'install', 'after'] as const;
type Phases = Partial<Record<(typeof COLUMNS)[number], number>>;

interface Run {
  s: number;
  status: number | null;
  stdout: string;
  /** The last lines of stderr. */
  tail: string[];
  /** Derivation name → its builder's phase markers (`name> hepstore: running X phase`), seconds from the start. */
  marks: Map<string, Array<[string, number]>>;
  /** The derivations whose builders wrote output (`name> line` with -L). */
  logged: Set<string>;
}

/** Run the CLI and time it; stderr is read line by line as it comes, so that phase markers are timed. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let partial = '';
    const tail: string[] = [];
    const marks = new Map<string, Array<[string, number]>>();
    const logged = new Set<string>();
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const l = /^(\S+)> /.exec(line);
        if (l) logged.add(l[1]);
        const m = /^(\S+)> hepstore: running (\w+) phase$/.exec(line);
        if (m) {
          if (!marks.has(m[1])) marks.set(m[1], []);
          marks.get(m[1])!.push([m[2], since()]);
        }
        tail.push(line);
        if (tail.length > 40) tail.shift();
      }
    });
    child.on('error', reject);
    child.on('close', (status) => {
      if (partial) tail.push(partial);
      resolve({ s: since(), status, stdout, tail, marks, logged });
    });
  });
}

/** The store's phases of one build from its markers; what comes after the last is the fixup, registration and the CLI's exit. */
function storePhases(marks: Array<[string, number]> | undefined, end: number): Phases | undefined {
  if (!marks?.length) return undefined;
  const p: Phases = { before: marks[0][1] };
  marks.forEach(([name, t], i) => {
    const until = i + 1 < marks.length ? marks[i + 1][1] : end;
    const col = name === 'patch' ? 'unpack' : name === 'fixup' ? 'after' : (name as keyof Phases);
    if ((COLUMNS as readonly string[]).includes(col)) p[col] = (p[col] ?? 0) + (until - t);
  });
  return p;
}

interface Built {
  s: number;
  ok: boolean;
  error?: string;
  /** Other derivations whose builders ran (and wrote output) in this package's realize: inputs not built before it. */
  alsoBuilt: string[];
  phases?: Phases;
  /** The output paths that realize printed. */
  outputs: string[];
  /** narHash of every path in the closure of the outputs. */
  closure: Record<string, string>;
  deriver?: string;
}

interface Round {
  tools: { s: number; ok: boolean };
  sources: { s: number; ok: boolean };
  packages: Record<string, Built>;
  check?: { s: number; ok: boolean; summary: string };
}

interface Package {
  attr: string;
  name: string;
}

/** A line of progress, on stderr: with --json too, where stdout has only the result (a whole run takes hours). */
const say = (line: string) => {
  process.stderr.write(line + '\n');
};
const tailOf = (r: Run) => r.tail.slice(-15).join('\n');

/** One cold store at `root`: tools, sources, each package in turn; then what it holds of them. */
async function round(label: string, o: Options, env: NodeJS.ProcessEnv, extra: string, wanted: Package[], check: boolean): Promise<Round> {
  const j = `-j${o.jobs}`;
  // The tools every package needs, first, so that each package's figure is its own; then the
  // sources (fixed-output, from the mirror).
  const tools = await cli(['realize', j, '--no-out-link', '--quiet', extra, '-A', 'tools'], env);
  say(`${label}: stdenv, toolchain, build tools  ${tools.s.toFixed(1)} s${tools.status === 0 ? '' : ` FAILED\n${tailOf(tools)}`}`);
  const sources = await cli(['realize', j, '--no-out-link', '--quiet', extra, '-A', 'sources'], env);
  say(`${label}: sources                        ${sources.s.toFixed(1)} s${sources.status === 0 ? '' : ` FAILED\n${tailOf(sources)}`}`);
  const packages: Record<string, Built> = {};
  for (const p of wanted) {
    const r = await cli(['realize', j, '--no-out-link', '--quiet', '-L', EXPR, '-A', p.attr], env);
    const ok = r.status === 0;
    packages[p.attr] = {
      s: r.s,
      ok,
      ...(ok ? {} : { error: tailOf(r) }),
      alsoBuilt: [...r.logged].filter((n) => n !== p.name).sort(),
      phases: storePhases(r.marks.get(p.name), r.s),
      outputs: ok ? r.stdout.trim().split('\n').filter(Boolean) : [],
      closure: {},
    };
    say(`${label}: ${p.attr.padEnd(30)} ${r.s.toFixed(1).padStart(7)} s${ok ? '' : ` FAILED\n${tailOf(r)}`}`);
  }
  // What the store holds of the outputs that realize printed: the narHashes of their closures.
  const store = new LocalStore(env.STORE_ROOT!);
  try {
    for (const p of wanted) {
      const b = packages[p.attr];
      if (!b.ok) continue;
      for (const q of store.queryClosure(b.outputs)) b.closure[q] = store.pathInfo(q).narHash;
      b.deriver = b.outputs.length ? store.queryPathInfo(b.outputs[0])?.deriver : undefined;
    }
  } finally {
    store.close();
  }
  let checked: Round['check'];
  if (check) {
    const r = await cli(['realize', j, '--check', '--no-out-link', '--quiet', extra, '-A', 'wanted'], env);
    const summary = r.tail.filter((l) => /checked \d+ derivations?/.test(l)).pop() ?? tailOf(r);
    checked = { s: r.s, ok: r.status === 0, summary };
    say(`${label}: --check                        ${r.s.toFixed(1)} s ${summary}`);
  }
  return { tools: { s: tools.s, ok: tools.status === 0 }, sources: { s: sources.s, ok: sources.status === 0 }, packages, ...(checked ? { check: checked } : {}) };
}

/** How the two stores differ on a package; empty if they agree. */
function disagreement(a: Built, b: Built): string[] {
  const d: string[] = [];
  if (JSON.stringify(a.outputs) !== JSON.stringify(b.outputs)) d.push('output paths');
  for (const p of a.outputs) if (a.closure[p] !== b.closure[p]) d.push(`narHash of ${path.basename(p)}`);
  const ka = Object.keys(a.closure).sort();
  const kb = Object.keys(b.closure).sort();
  if (ka.join('\n') !== kb.join('\n')) d.push('closure paths');
  else {
    const outs = new Set(a.outputs);
    const other = ka.filter((p) => !outs.has(p) && a.closure[p] !== b.closure[p]);
    if (other.length) d.push(`narHash of ${other.length} path(s) in the closure (${other.map((p) => path.basename(p)).slice(0, 3).join(', ')})`);
  }
  return d;
}

/** Host tools that stand for build inputs of the store's, by the input's name (Debian's packages in the store). */
const HOST_TOOLS: Array<[RegExp, string]> = [
  [/^cmake[+-]/, 'cmake'],
  [/^pkgconf[+-]/, 'pkg-config'],
  [/^tcl8\.6-/, 'tclsh'],
];
/** Variables of the store's builder that a build by hand does not take from the derivation. */
const NOT_BY_HAND = new Set(['PATH', 'stdenvPath', 'hostToolPaths', 'out', 'hepstoreOutputs', 'builder', 'system', 'TMPDIR', 'HOME', 'SHELL', 'CONFIG_SHELL', 'MAKEFLAGS']);

/** Why the derivation cannot be built simply by hand, or undefined. */
function whyNotByHand(drv: Derivation): string | undefined {
  const env = drv.env;
  if (!env.src || !/\.tar(\.(gz|xz|bz2))?$|\.tgz$/.test(env.src)) return "no source tarball (Debian's binary package relocated into the store)";
  if (!env.stdenvPath) return "not built by the stdenv's builder";
  if (env.phases) return 'phases of its own';
  if (env.unpackPhase || env.fixupPhase || env.postFixup) return 'an unpack or fixup of its own';
  if (Object.keys(drv.outputs).length > 1) return 'more than one output';
  for (const p of (env.nativeBuildInputs ?? '').split(/\s+/).filter(Boolean)) {
    const name = path.basename(p).slice(33);
    const tool = HOST_TOOLS.find(([re]) => re.test(name));
    if (!tool) return `needs ${name}, which a build by hand would not have`;
    if (!has(tool[1])) return `needs ${tool[1]}, which the host lacks`;
  }
  return undefined;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface ByHand {
  s?: number;
  phases?: Phases;
  /** Why there is no by-hand figure. */
  none?: string;
}

function byHand(drvPath: string, dir: string, cores: number, keepLog: boolean): ByHand {
  const drv = parseDerivation(fs.readFileSync(drvPath, 'utf8'), path.basename(drvPath).slice(33));
  const why = whyNotByHand(drv);
  if (why) return { none: why };
  const work = fs.mkdtempSync(path.join(dir, `${drv.name}-`));
  const envFile = path.join(work, 'env.sh');
  const lines = Object.entries(drv.env)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !NOT_BY_HAND.has(k))
    .map(([k, v]) => `export ${k}=${shq(v)}\n`);
  fs.writeFileSync(envFile, lines.join(''));
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', [BY_HAND, envFile, path.join(work, 'build'), String(cores)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const log = path.join(work, 'build', 'log');
  try {
    if (r.status !== 0) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').slice(-15).join('\n') : (r.stderr ?? '');
      return { none: `the build by hand failed (${r.status}):\n${tail}` };
    }
    const phases: Phases = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^by-hand (\w+) ([\d.]+) ([\d.]+)$/.exec(line);
      if (!m) continue;
      const col = m[1] === 'patch' ? 'unpack' : (m[1] as keyof Phases);
      phases[col] = (phases[col] ?? 0) + Number(m[3]) - Number(m[2]);
    }
    return { s, phases };
  } finally {
    if (keepLog && fs.existsSync(log)) fs.renameSync(log, path.join(dir, `${drv.name}.log`));
    rm(work);
  }
}

const secs = (s: number | undefined, w = 8) => (s === undefined ? '—' : s.toFixed(1)).padStart(w);

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  // The tests' mirror holds the bootstrap's, toolchain's and build tools' sets; the Python
  // and Tcl build sets are added for this run.
  const sets = ['set.ts', 'toolchain.ts', 'build-tools.ts'].map((f) => path.join(REPO, 'src', 'expr', 'bootstrap', f)).concat(['python-build.ts', 'tcl-build.ts'].map((f) => path.join(REPO, 'exprs', 'cmssw', 'sets', f)));
  const mirror = ensureMirror(undefined, sets) as string | undefined;
  if (!mirror) throw new Error('bench/externals: could not make the local mirror of Debian files with apt-get');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hepstore-bench-externals-'));
  // Both stores live at this root, one after the other: the same store directory, so the same paths.
  const root = path.join(dir, 'root');
  const env = { ...process.env, HEPSTORE_APT_GET: '', HEPSTORE_MIRROR_DEBIAN: mirror, STORE_ROOT: root };
  const cores = Math.max(1, Math.floor(os.availableParallelism() / o.jobs));
  try {
    const listed = await cli(['eval', '--json', EXPR], env);
    if (listed.status !== 0) throw new Error(`bench/externals: cannot evaluate ${EXPR}:\n${tailOf(listed)}`);
    const all = (JSON.parse(listed.stdout) as Array<{ attr: string; name: string }>).map((x) => ({ attr: x.attr, name: x.name }));
    const names = all.map((p) => p.attr);
    for (const n of o.only ?? []) if (!names.includes(n)) throw new Error(`bench/externals: externals.ts has no '${n}' (it has ${names.join(', ')})`);
    const wanted = o.only ? all.filter((p) => o.only!.includes(p.attr)) : all;
    // The stdenv, its toolchain and the build tools; the packages' sources (their fixed-output
    // inputs); and the packages as one attribute for --check.
    const extra = path.join(dir, 'set.ts');
    fs.writeFileSync(
      extra,
      [
        `import { stdenv, buildTools } from 'hepstore';`,
        `import externals from ${JSON.stringify(EXPR)};`,
        `const names = ${JSON.stringify(wanted.map((p) => p.attr))};`,
        `const fixed = (d) => Object.values(d.drv.outputs).some((x) => x.hash);`,
        `export const tools = () => [...Object.values(stdenv.packages), stdenv.cc, buildTools.cmake, buildTools.pkgconf];`,
        `export const sources = () => names.flatMap((n) => [...externals[n].inputs.values()].filter(fixed));`,
        `export const wanted = () => names.map((n) => externals[n]);`,
        '',
      ].join('\n'),
    );
    say(`${wanted.length} packages, -j${o.jobs} (${cores} core${cores > 1 ? 's' : ''} per build), store root ${root}`);
    const first = await round('store 1', o, env, extra, wanted, o.check);
    rm(root);
    const second = await round('store 2', o, env, extra, wanted, false);
    const hand: Record<string, ByHand> = {};
    if (o.host) {
      const work = path.join(dir, 'by-hand');
      fs.mkdirSync(work);
      for (const p of wanted) {
        const d = second.packages[p.attr].deriver;
        hand[p.attr] = d ? byHand(d, work, cores, o.keep) : { none: 'not built in the store' };
        const h = hand[p.attr];
        say(`by hand: ${p.attr.padEnd(32)} ${h.s !== undefined ? `${h.s.toFixed(1).padStart(7)} s` : `no figure: ${h.none}`}`);
      }
    }

    const rows = wanted.map((p) => {
      const a = first.packages[p.attr];
      const b = second.packages[p.attr];
      const differ = a.ok && b.ok ? disagreement(a, b) : undefined;
      const h = hand[p.attr];
      // Compared with the build by hand only when the realize built the package alone, in both stores.
      const alone = !a.alsoBuilt.length && !b.alsoBuilt.length;
      const store = (a.s + b.s) / 2;
      const compared = a.ok && b.ok && alone && h?.s !== undefined;
      return { name: p.attr, a, b, differ, agree: differ !== undefined && differ.length === 0, byHand: h, store, compared };
    });
    const failed = rows.filter((r) => !r.a.ok || !r.b.ok).map((r) => r.name);
    const disagree = rows.filter((r) => r.differ?.length).map((r) => r.name);
    const both = rows.filter((r) => r.compared);
    const storeTotal = both.reduce((s, r) => s + r.store, 0);
    const handTotal = both.reduce((s, r) => s + r.byHand!.s!, 0);
    const overhead = both.length ? (storeTotal / handTotal - 1) * 100 : undefined;
    const check = first.check;

    if (o.json) {
      process.stdout.write(
        JSON.stringify(
          {
            jobs: o.jobs,
            coresPerBuild: cores,
            stores: [first, second].map((r) => ({ tools: r.tools, sources: r.sources, check: r.check })),
            packages: rows.map((r) => ({
              name: r.name,
              store1: { s: r.a.s, ok: r.a.ok, phases: r.a.phases, alsoBuilt: r.a.alsoBuilt, outputs: r.a.outputs, ...(r.a.error ? { error: r.a.error } : {}) },
              store2: { s: r.b.s, ok: r.b.ok, phases: r.b.phases, alsoBuilt: r.b.alsoBuilt, ...(r.b.error ? { error: r.b.error } : {}) },
              agree: r.agree,
              ...(r.differ?.length ? { differ: r.differ } : {}),
              ...(r.byHand ? { byHand: r.byHand } : {}),
            })),
            totals: { packages: both.map((r) => r.name), store: storeTotal, byHand: handTotal, overheadPercent: overhead, targetPercent: 10 },
            failed,
            disagree,
          },
          null,
          2,
        ) + '\n',
      );
    } else {
      const out: string[] = [''];
      const w = Math.max(8, ...rows.map((r) => r.name.length));
      out.push(`${'package'.padEnd(w)}  store 1  store 2  agree   by hand  store/hand`);
      for (const r of rows) {
        const agree = !r.a.ok || !r.b.ok ? 'FAILED' : r.agree ? 'yes' : 'NO';
        const h = r.byHand;
        const ratio = r.compared ? `${((r.store / h!.s! - 1) * 100).toFixed(0).padStart(6)}%` : '';
        let note = '';
        if (h?.none) note = `  no by-hand figure: ${h.none.split('\n')[0]}`;
        else if (h?.s !== undefined && !r.compared) note = '  (not compared: its realize built other packages too)';
        const also = [...new Set([...r.a.alsoBuilt, ...r.b.alsoBuilt])];
        if (also.length) note += `  (also built: ${also.join(', ')})`;
        out.push(`${r.name.padEnd(w)} ${secs(r.a.s)} ${secs(r.b.s)}  ${agree.padEnd(6)} ${secs(h?.s, 8)}  ${ratio.padStart(10)}${note}`);
        if (r.differ?.length) out.push(`${''.padEnd(w)}   differ: ${r.differ.join('; ')}`);
      }
      out.push('');
      // Phases, where the build log had them.
      const phased = rows.filter((r) => r.a.phases || r.b.phases || r.byHand?.phases);
      if (phased.length) {
        out.push(`phases (s)${''.padEnd(Math.max(0, w - 10))}          ${COLUMNS.map((c) => c.padStart(10)).join('')}`);
        for (const r of phased) {
          const line = (label: string, p: Phases | undefined) => (p ? `${''.padEnd(w)}  ${label.padEnd(8)}${COLUMNS.map((c) => secs(p[c], 10)).join('')}` : undefined);
          out.push(r.name);
          for (const l of [line('store 1', r.a.phases), line('store 2', r.b.phases), line('by hand', r.byHand?.phases)]) if (l) out.push(l);
        }
        out.push(`(before: evaluation, planning and the sandbox until the builder's first phase; after: the fixup, the output's registration and the exit)`);
        out.push('');
      }
      out.push(`stdenv, toolchain, build tools: store 1 ${first.tools.s.toFixed(1)} s, store 2 ${second.tools.s.toFixed(1)} s; sources: ${first.sources.s.toFixed(1)} s, ${second.sources.s.toFixed(1)} s`);
      const sum = (r: Round) => Object.values(r.packages).reduce((s, b) => s + b.s, 0);
      out.push(`packages: store 1 ${sum(first).toFixed(1)} s, store 2 ${sum(second).toFixed(1)} s for ${rows.length} (-j${o.jobs}, ${cores} core${cores > 1 ? 's' : ''} per build); failed: ${failed.length ? failed.join(', ') : 'none'}`);
      out.push(`agreement (output paths, narHashes, closures): ${disagree.length ? `DIFFER: ${disagree.join(', ')}` : failed.length ? `the ${rows.length - failed.length} built in both agree` : `all ${rows.length} agree`}`);
      if (!o.host) out.push('by hand: not run (--no-host)');
      else if (!both.length) out.push('by hand: no package has both figures');
      else {
        out.push(
          `store vs by hand over the ${both.length} package(s) with both: store ${storeTotal.toFixed(1)} s (mean of the two stores), by hand ${handTotal.toFixed(1)} s: overhead ${overhead! >= 0 ? '+' : ''}${overhead!.toFixed(1)}% (target: at most 10%${overhead! <= 10 ? ', met' : ', NOT met'})`,
        );
        out.push(`  by hand: the host's ${hostVersion('gcc')}, ${hostVersion('cmake')}; the store's builds use its own toolchain`);
      }
      if (check) out.push(`--check (store 1): ${check.s.toFixed(1)} s; ${check.ok ? check.summary : `FAILED\n${check.summary}`}`);
      process.stdout.write(out.join('\n') + '\n');
    }
    if (failed.length || disagree.length || (check && !check.ok)) process.exitCode = 1;
  } finally {
    if (o.keep && fs.existsSync(root)) {
      for (const f of fs.readdirSync(dir)) if (f !== 'root' && f !== 'by-hand') rm(path.join(dir, f));
      process.stderr.write(`the second store is kept at ${root}${o.host ? `, the logs of the builds by hand in ${path.join(dir, 'by-hand')}` : ''}\n`);
    } else rm(dir);
  }
}

function hostVersion(cmd: string): string {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : `${cmd} (unknown version)`;
}

await main();
