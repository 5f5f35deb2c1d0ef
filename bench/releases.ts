/**
 * bench/releases: the four CMSSW release cycles (exprs/cmssw/release.ts: real cmsdist graphs,
 * synthetic payloads of sizes typical of each package's kind) added one after another, cold,
 * to a fresh store with `store release add … -j N`. Prints the time per release (later ones
 * build only what earlier ones do not already have), the store size, and the bytes shared
 * between releases; then collects what the build left (build-only packages, .drv files),
 * retires the two oldest (deprecate, rm), collects again and prints the bytes freed, checked
 * against what the closures predict.
 *
 * Where nix-build is installed, the same derivations (read back from the .drv files, so the
 * same builders, scripts and payloads) are built by Nix in a private store, release by
 * release, and collected the same way, with the ratios.
 *
 *   node bench/run.mjs releases [--scale 0.02] [--runs 3] [--nix-runs 1] [-j 2] [--sandbox] [--no-nix] [--json]
 *
 * --scale is the expression's argument scale (--arg scale): 0.02 makes the four releases about 2 GiB in all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LocalStore } from '../src/store/local-store.js';
import { parseDerivation } from '../src/derivation/derivation.js';
import { releaseReport } from '../src/gc/release-report.js';
import { formatBytes } from '../src/gc/format.js';
import { CLI, REPO, has, median, nixEnv, rm, timed } from './lib.js';

const CYCLES = ['13_0', '14_0', '14_1', '14_2'];
const RETIRED = ['13_0', '14_0'];
const EXPR = path.join(REPO, 'exprs', 'cmssw', 'release.ts');
const release = (c: string) => `CMSSW_${c}_X`;
/** Packages in a cycle's graph file (every one is built for its release). */
const graphPackages = (c: string) => Object.keys(JSON.parse(fs.readFileSync(path.join(REPO, 'exprs', 'cmssw', 'graphs', `graph-IB_CMSSW_${c}_X_master.json`), 'utf8'))).length;

interface Options {
  scale: number;
  runs: number;
  nixRuns: number;
  jobs: number;
  sandbox: boolean;
  nix: boolean;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { scale: 0.02, runs: 3, nixRuns: 1, jobs: 2, sandbox: false, nix: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => Number(argv[++i]);
    if (a === '--scale') o.scale = val();
    else if (a === '--runs') o.runs = val();
    else if (a === '--nix-runs') o.nixRuns = val();
    else if (a === '-j' || a === '--jobs') o.jobs = val();
    else if (a === '--sandbox') o.sandbox = true;
    else if (a === '--no-nix') o.nix = false;
    else if (a === '--json') o.json = true;
    else {
      process.stderr.write(`bench releases: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  if (!(o.scale >= 0) || !(o.runs >= 1) || !(o.jobs >= 1)) {
    process.stderr.write('bench releases: --scale must be >= 0, --runs and -j at least 1\n');
    process.exit(2);
  }
  return o;
}

/** What one run measured. */
interface Run {
  /** Seconds to add each release, in CYCLES order. */
  add: number[];
  /** Outputs built by each add (new valid paths that are not .drv files). */
  built: number[];
  /** First collection (what the builds left), then the one after retiring. */
  gcLeft: { s: number; paths: number; bytes: number };
  gcRetired: { s: number; paths: number; bytes: number };
}

interface Sizes {
  /** narSize of every valid path after the four adds (outputs, build-only ones included, and .drv files). */
  storePaths: number;
  storeBytes: number;
  /** Disk usage of the store directory (du, in 1 KiB blocks × 1024). */
  diskBytes: number;
  releases: Array<{ name: string; paths: number; bytes: number; sharedPaths: number; sharedBytes: number }>;
  /** The union of the release closures, and their sum. */
  unionPaths: number;
  unionBytes: number;
  sumPaths: number;
  sumBytes: number;
  /** What retiring the two oldest should free: their closures minus the others'. */
  retiredPaths: number;
  retiredBytes: number;
}

const log = (s: string) => process.stderr.write(s);

function du(dir: string): number {
  const r = timed('du', ['-sk', dir]);
  return Number(r.stdout.split(/\s/)[0]) * 1024;
}

function outputsCount(root: string): number {
  const s = new LocalStore(root);
  try {
    return s.allValidPaths().filter((p) => !p.endsWith('.drv')).length;
  } finally {
    s.close();
  }
}

function measureSizes(root: string): Sizes {
  const s = new LocalStore(root);
  try {
    const all = s.allValidPaths();
    const size = (ps: Iterable<string>) => [...ps].reduce((n, p) => n + s.pathInfo(p).narSize, 0);
    const rep = releaseReport(s);
    const closure = new Map(rep.releases.map((r) => [r.name, new Set(s.queryClosure(r.outputs.map((o) => o.path)))]));
    const keep = new Set(CYCLES.filter((c) => !RETIRED.includes(c)).flatMap((c) => [...closure.get(release(c))!]));
    const retired = new Set(RETIRED.flatMap((c) => [...closure.get(release(c))!]).filter((p) => !keep.has(p)));
    return {
      storePaths: all.length,
      storeBytes: size(all),
      diskBytes: du(s.storeDir),
      releases: CYCLES.map((c) => {
        const r = rep.releases.find((x) => x.name === release(c))!;
        return { name: r.name, paths: r.closurePaths, bytes: r.closureBytes, sharedPaths: r.sharedPaths, sharedBytes: r.sharedBytes };
      }),
      unionPaths: rep.paths,
      unionBytes: rep.bytes,
      sumPaths: rep.closurePaths,
      sumBytes: rep.closureBytes,
      retiredPaths: retired.size,
      retiredBytes: size(retired),
    };
  } finally {
    s.close();
  }
}

/** Nix's `derivation { … }` for every .drv of the releases, as one file with an attribute per release. */
function writeNixExpression(root: string, file: string): void {
  const s = new LocalStore(root);
  try {
    const rep = releaseReport(s);
    const drvs = s.topoSortClosure(rep.releases.flatMap((r) => r.outputs.map((o) => o.drvPath!))).filter((p) => p.endsWith('.drv'));
    const parsed = new Map(drvs.map((p) => [p, parseDerivation(fs.readFileSync(p, 'utf8'), path.basename(p).slice(33))]));
    // topoSortClosure lists referrers first: define references first.
    const order = [...drvs].reverse();
    const varOf = new Map<string, string>();
    order.forEach((p, i) => varOf.set(parsed.get(p)!.outputs.out.path, `d${i}`));
    const storeRe = new RegExp(`${s.storeDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[0-9a-z]{32}-[A-Za-z0-9+._?=-]+`, 'g');
    const nixString = (v: string) =>
      '"' +
      v.replace(/[\\"]|\$\{|\n|\r|\t/g, (c) => ({ '\\': '\\\\', '"': '\\"', '${': '\\${', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!).replace(storeRe, (p) => {
        const v = varOf.get(p);
        if (!v) throw new Error(`bench releases: ${p} is not an output of the releases' derivations`);
        return `\${${v}}`;
      }) +
      '"';
    const lines = ['let'];
    for (const p of order) {
      const d = parsed.get(p)!;
      const env = Object.entries(d.env).filter(([k]) => !['out', 'name', 'system', 'builder'].includes(k));
      lines.push(
        `  ${varOf.get(d.outputs.out.path)} = derivation { name = ${nixString(d.name)}; system = builtins.currentSystem; builder = ${nixString(d.builder)}; args = [ ${d.args.map(nixString).join(' ')} ]; ${env.map(([k, v]) => `${JSON.stringify(k)} = ${nixString(v)};`).join(' ')} };`,
      );
    }
    lines.push('in {');
    for (const r of rep.releases) lines.push(`  ${r.name} = [ ${r.outputs.map((o) => varOf.get(o.path)).join(' ')} ];`);
    lines.push('}');
    fs.writeFileSync(file, lines.join('\n') + '\n');
  } finally {
    s.close();
  }
}

function hepstoreRun(work: string, o: Options, r: number, nixFile: string | undefined): { run: Run; sizes: Sizes } {
  const root = path.join(work, `store-${r}`);
  const env = { ...process.env, STORE_ROOT: root };
  const cli = (args: string[]) => timed(process.execPath, [CLI, ...args], { env, cwd: work });
  try {
    const run: Run = { add: [], built: [], gcLeft: { s: 0, paths: 0, bytes: 0 }, gcRetired: { s: 0, paths: 0, bytes: 0 } };
    let outputs = 0;
    for (const c of CYCLES) {
      run.add.push(cli(['release', 'add', release(c), EXPR, '-A', release(c), '--arg', 'scale', String(o.scale), '-j', String(o.jobs), ...(o.sandbox ? [] : ['--no-sandbox'])]).s);
      const now = outputsCount(root);
      run.built.push(now - outputs);
      outputs = now;
      log(`hepstore run ${r + 1}/${o.runs}: ${release(c)} ${run.add.at(-1)!.toFixed(2)} s, ${run.built.at(-1)} built\n`);
    }
    const sizes = measureSizes(root);
    if (nixFile) writeNixExpression(root, nixFile);
    const gc = () => {
      const t = cli(['gc', '--json']);
      const j = JSON.parse(t.stdout) as { paths: number; bytesFreed: number };
      return { s: t.s, paths: j.paths, bytes: j.bytesFreed };
    };
    run.gcLeft = gc();
    for (const c of RETIRED) {
      cli(['release', 'deprecate', release(c)]);
      cli(['release', 'rm', release(c)]);
    }
    run.gcRetired = gc();
    if (run.gcRetired.paths !== sizes.retiredPaths || run.gcRetired.bytes !== sizes.retiredBytes) {
      throw new Error(`bench releases: gc freed ${run.gcRetired.paths} paths, ${run.gcRetired.bytes} bytes; the closures predicted ${sizes.retiredPaths}, ${sizes.retiredBytes}`);
    }
    log(`hepstore run ${r + 1}/${o.runs}: gc ${run.gcLeft.s.toFixed(2)} s, retire + gc ${run.gcRetired.s.toFixed(2)} s\n`);
    return { run, sizes };
  } finally {
    rm(root);
  }
}

interface NixRun {
  add: number[];
  gcLeft: { s: number; paths: number; bytes: number };
  gcRetired: { s: number; paths: number; bytes: number };
  diskBytes: number;
}

/** "N store paths deleted, X MiB freed" from nix-store --gc. */
function nixFreed(out: string): { paths: number; bytes: number } {
  const m = /(\d+) store paths deleted, ([\d.]+) MiB freed/.exec(out);
  if (!m) throw new Error(`bench releases: cannot read nix-store --gc's summary:\n${out.slice(-500)}`);
  return { paths: Number(m[1]), bytes: Math.round(Number(m[2]) * 1048576) };
}

function nixRun(work: string, o: Options, r: number, nixFile: string): NixRun {
  const dir = path.join(work, `nix-${r}`);
  const env = nixEnv(dir, 'keep-derivations = false\nkeep-outputs = false\n');
  const links = path.join(dir, 'links');
  fs.mkdirSync(links, { recursive: true });
  try {
    const run: NixRun = { add: [], gcLeft: { s: 0, paths: 0, bytes: 0 }, gcRetired: { s: 0, paths: 0, bytes: 0 }, diskBytes: 0 };
    for (const c of CYCLES) {
      run.add.push(timed('nix-build', [nixFile, '-A', release(c), '-o', path.join(links, release(c)), '-j', String(o.jobs), '--quiet'], { env, cwd: work }).s);
      log(`nix-build run ${r + 1}/${o.nixRuns}: ${release(c)} ${run.add.at(-1)!.toFixed(2)} s\n`);
    }
    run.diskBytes = du(path.join(dir, 'nix', 'store'));
    const gc = () => {
      const t = timed('nix-store', ['--gc'], { env, cwd: work });
      return { s: t.s, ...nixFreed(`${t.stdout}\n${t.stderr}`) };
    };
    run.gcLeft = gc();
    for (const c of RETIRED) for (const l of fs.readdirSync(links)) if (l.startsWith(release(c))) fs.rmSync(path.join(links, l));
    run.gcRetired = gc();
    log(`nix-store --gc run ${r + 1}/${o.nixRuns}: ${run.gcLeft.s.toFixed(2)} s, after retiring ${run.gcRetired.s.toFixed(2)} s\n`);
    return run;
  } finally {
    rm(dir);
  }
}

function main(): void {
  const o = parse(process.argv.slice(2));
  const nix = o.nix && o.nixRuns > 0 && has('nix-build');
  if (o.nix && !has('nix-build')) log('nix-build not found: Nix columns skipped (Debian package nix-bin)\n');
  const load0 = os.loadavg()[0];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-releases-'));
  const nixFile = nix ? path.join(work, 'releases.nix') : undefined;
  const runs: Run[] = [];
  const nixRuns: NixRun[] = [];
  let sizes: Sizes | undefined;
  try {
    for (let r = 0; r < o.runs; r++) {
      const m = hepstoreRun(work, o, r, r === 0 ? nixFile : undefined);
      runs.push(m.run);
      if (sizes && JSON.stringify({ ...sizes, diskBytes: 0 }) !== JSON.stringify({ ...m.sizes, diskBytes: 0 })) throw new Error('bench releases: two runs gave different stores');
      sizes = m.sizes;
    }
    if (nixFile) for (let r = 0; r < o.nixRuns; r++) nixRuns.push(nixRun(work, o, r, nixFile));
  } finally {
    rm(work);
  }
  const s = sizes!;
  const load1 = os.loadavg()[0];
  const med = (f: (r: Run) => number) => median(runs.map(f));
  const range = (xs: number[]) => (xs.length > 1 ? ` (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})` : '');
  const nmed = (f: (r: NixRun) => number) => (nixRuns.length ? median(nixRuns.map(f)) : undefined);
  const sec = (x: number | undefined) => (x === undefined ? '' : x.toFixed(2));
  const ratio = (ours: number, theirs: number | undefined) => (theirs === undefined ? '' : `${(theirs / ours).toFixed(2)}x`);
  const out: string[] = [];
  out.push(`releases: the four CMSSW release cycles, synthetic payloads at scale ${o.scale}, added cold one after another at -j ${o.jobs}${o.sandbox ? ' (sandbox)' : ''}`);
  out.push(`${os.cpus().length} CPUs, load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after; medians of ${runs.length} hepstore run${runs.length > 1 ? 's' : ''} (min-max)${nixRuns.length ? `, ${nixRuns.length} nix-build run${nixRuns.length > 1 ? 's' : ''}` : ''}, seconds`);
  out.push('');
  out.push(`${'release'.padEnd(14)}${'graph'.padStart(6)}${'paths'.padStart(7)}${'built'.padStart(7)}${'closure'.padStart(11)}${'shared'.padStart(11)}   ${'hepstore'.padEnd(20)}${nix ? `${'nix-build'.padStart(10)}${'nix/ours'.padStart(10)}` : ''}`);
  CYCLES.forEach((c, i) => {
    const rel = s.releases[i];
    const ours = med((r) => r.add[i]);
    const theirs = nmed((r) => r.add[i]);
    out.push(
      `${release(c).padEnd(14)}${String(graphPackages(c)).padStart(6)}${String(rel.paths).padStart(7)}${String(med((r) => r.built[i])).padStart(7)}${formatBytes(rel.bytes).padStart(11)}${formatBytes(rel.sharedBytes).padStart(11)}   ${(ours.toFixed(2) + range(runs.map((r) => r.add[i]))).padEnd(20)}${nix ? `${sec(theirs).padStart(10)}${ratio(ours, theirs).padStart(10)}` : ''}`,
    );
  });
  const total = (r: { add: number[] }) => r.add.reduce((a, b) => a + b, 0);
  out.push(`${'all four'.padEnd(55)}   ${(med(total).toFixed(2) + range(runs.map(total))).padEnd(20)}${nix ? `${sec(nmed(total)).padStart(10)}${ratio(med(total), nmed(total)).padStart(10)}` : ''}`);
  out.push('(graph: packages in its graph file; paths: in the release, the runtime closure of its roots; built: outputs its add built,');
  out.push(' build-only ones included; closure: narSize of the release; shared: of it, what other releases hold too)');
  out.push('');
  out.push(`store after the four adds: ${s.storePaths} paths, ${formatBytes(s.storeBytes)} (narSize; ${formatBytes(s.diskBytes)} on disk)${nixRuns.length ? `; Nix's store ${formatBytes(median(nixRuns.map((r) => r.diskBytes)))} on disk` : ''}`);
  out.push(`releases: closures add up to ${s.sumPaths} paths, ${formatBytes(s.sumBytes)}; stored once: ${s.unionPaths} paths, ${formatBytes(s.unionBytes)}; shared between releases: ${s.sumPaths - s.unionPaths} paths, ${formatBytes(s.sumBytes - s.unionBytes)}`);
  const g = runs[0];
  if (nixRuns.length) out.push('(nix-store --gc reports the bytes of the files it deleted, hepstore narSize)');
  out.push(`store gc after the adds (build-only packages, .drv files): ${g.gcLeft.paths} paths, ${formatBytes(g.gcLeft.bytes)} freed in ${med((r) => r.gcLeft.s).toFixed(2)} s${nixRuns.length ? `; nix-store --gc: ${nixRuns[0].gcLeft.paths} paths, ${formatBytes(nixRuns[0].gcLeft.bytes)} in ${sec(nmed((r) => r.gcLeft.s))} s` : ''}`);
  out.push(`retire ${RETIRED.map(release).join(' and ')} (deprecate, rm), store gc: ${g.gcRetired.paths} paths, ${formatBytes(g.gcRetired.bytes)} freed in ${med((r) => r.gcRetired.s).toFixed(2)} s (as the closures predict)${nixRuns.length ? `; nix-store --gc: ${nixRuns[0].gcRetired.paths} paths, ${formatBytes(nixRuns[0].gcRetired.bytes)} in ${sec(nmed((r) => r.gcRetired.s))} s` : ''}`);
  process.stdout.write(out.join('\n') + '\n');
  if (o.json) {
    process.stdout.write(
      JSON.stringify({
        bench: 'releases',
        scale: o.scale,
        jobs: o.jobs,
        runs: runs.length,
        load: [load0, load1],
        sizes: s,
        hepstore: { add: CYCLES.map((_, i) => med((r) => r.add[i])), total: med(total), built: runs[0].built, gcLeft: { ...g.gcLeft, s: med((r) => r.gcLeft.s) }, gcRetired: { ...g.gcRetired, s: med((r) => r.gcRetired.s) } },
        ...(nixRuns.length ? { nix: { runs: nixRuns.length, add: CYCLES.map((_, i) => nmed((r) => r.add[i])), total: nmed(total), diskBytes: nixRuns[0].diskBytes, gcLeft: nixRuns[0].gcLeft, gcRetired: nixRuns[0].gcRetired } } : {}),
      }) + '\n',
    );
  }
}

main();
