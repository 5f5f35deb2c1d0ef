/**
 * bench/bootstrap: what the store's own tools cost on a cold store — the bootstrap (seed
 * unpacked by builtin:unpack-deb, bootstrap tools made by busybox) and the stdenv relocated by
 * them — in time and bytes; and, with --laptop, the laptop environment's cold realize split
 * into download, building (unpack, relocation, bytecode) and the rest. With --before REV, the
 * laptop environment's cold realize is also timed as hepstore at git revision REV builds it (its
 * own code and pinned set; e.g. the last revision before the bootstrap, which unpacked with the
 * host's node, tar and xz), interleaved with this one's, alternating which goes first.
 *
 * The .deb files come from a local mirror made once with the host's apt (as the tests do), so
 * that the build figures do not include the network; the download is timed on its own.
 *
 *   node bench/run.mjs bootstrap [--runs 3] [--laptop [--before REV]] [-j 2] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LocalStore } from '../src/store/local-store.js';
import { CLI, REPO, median, rm, timed } from './lib.js';
// @ts-expect-error a plain ES module without types
import { ensureMirror, pins } from '../../test/debian-mirror.mjs';

interface Options {
  runs: number;
  laptop: boolean;
  before?: string;
  jobs: number;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { runs: 3, laptop: false, jobs: 2, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--laptop') o.laptop = true;
    else if (a === '--before') o.before = argv[++i];
    else if (a === '-j' || a === '--jobs') o.jobs = Number(argv[++i]);
    else if (a === '--json') o.json = true;
    else throw new Error(`bench/bootstrap: unknown option ${a}`);
  }
  if (!(o.runs >= 1)) throw new Error('--runs needs a number >= 1');
  if (o.before !== undefined && !o.laptop) throw new Error('--before compares the laptop environment: add --laptop');
  return o;
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** narSize of the closure of `paths`, and the number of paths. */
function closureBytes(root: string, paths: string[]): { paths: number; bytes: number } {
  const store = new LocalStore(root);
  try {
    const closure = store.queryClosure(paths);
    return { paths: closure.length, bytes: closure.reduce((s, p) => s + store.pathInfo(p).narSize, 0) };
  } finally {
    store.close();
  }
}

function main(): void {
  const o = parse(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hepstore-bench-bootstrap-'));
  const expr = path.join(dir, 'tools.ts');
  fs.writeFileSync(expr, `import { bootstrapTools, stdenv } from 'hepstore';\nexport const tools = bootstrapTools();\nexport const std = Object.values(stdenv.packages);\n`);
  const mirrorDir = path.join(dir, 'mirror');
  const t0 = process.hrtime.bigint();
  // The bootstrap's own set (the test mirror's default adds the toolchain's).
  const bootstrapSet = [path.join(REPO, 'src', 'expr', 'bootstrap', 'set.ts')];
  const mirror = ensureMirror(mirrorDir, bootstrapSet) as string | undefined;
  const download = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!mirror) throw new Error('bench/bootstrap: could not make a mirror of the bootstrap packages with apt-get');
  const debBytes = (pins(bootstrapSet) as Array<{ filename: string }>).reduce((s, p) => s + fs.statSync(path.join(mirrorDir, p.filename)).size, 0);
  const env = { ...process.env, HEPSTORE_APT_GET: '', HEPSTORE_MIRROR_DEBIAN: mirror };
  const toolsRuns: number[] = [];
  const stdRuns: number[] = [];
  let sizes: { tools: { paths: number; bytes: number }; stdenv: { paths: number; bytes: number } } | undefined;
  try {
    for (let i = 0; i < o.runs; i++) {
      const root = path.join(dir, `root-${i}`);
      const a = timed(process.execPath, [CLI, 'realize', '-j', String(o.jobs), '--no-out-link', '-A', 'tools', expr], { env: { ...env, STORE_ROOT: root } });
      const b = timed(process.execPath, [CLI, 'realize', '-j', String(o.jobs), '--no-out-link', '-A', 'std', expr], { env: { ...env, STORE_ROOT: root } });
      toolsRuns.push(a.s);
      stdRuns.push(b.s);
      sizes ??= { tools: closureBytes(root, a.stdout.trim().split('\n')), stdenv: closureBytes(root, b.stdout.trim().split('\n')) };
      rm(root);
    }
    const result: Record<string, unknown> = {
      debs: { count: pins(bootstrapSet).length, bytes: debBytes, downloadSeconds: download },
      bootstrapTools: { medianSeconds: median(toolsRuns), runs: toolsRuns, ...sizes!.tools },
      stdenv: { medianSeconds: median(stdRuns), runs: stdRuns, ...sizes!.stdenv },
    };
    if (o.laptop) result.laptop = laptop(dir, o, env);
    if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      const d = result.debs as { count: number; bytes: number; downloadSeconds: number };
      console.log(`bootstrap set: ${d.count} .deb files, ${mib(d.bytes)} (${d.downloadSeconds.toFixed(1)} s to fetch what the mirror lacked)`);
      console.log(`bootstrap tools, cold: ${median(toolsRuns).toFixed(1)} s median of ${o.runs} (${toolsRuns.map((s) => s.toFixed(1)).join(', ')}); closure ${sizes!.tools.paths} paths, ${mib(sizes!.tools.bytes)}`);
      console.log(`stdenv after them:     ${median(stdRuns).toFixed(1)} s median of ${o.runs} (${stdRuns.map((s) => s.toFixed(1)).join(', ')}); closure ${sizes!.stdenv.paths} paths, ${mib(sizes!.stdenv.bytes)}`);
      if (result.laptop) {
        const l = result.laptop as LaptopResult;
        console.log(
          `laptop environment, cold (-j ${o.jobs}): download ${l.downloadSeconds.toFixed(1)} s, then realize ${l.medianSeconds.toFixed(1)} s median of ${l.runs.length} (${l.runs.map((s) => s.toFixed(1)).join(', ')}; the bootstrap tools and stdenv alone take ${(median(toolsRuns) + median(stdRuns)).toFixed(1)} s)`,
        );
        if (l.before) {
          const b = l.before;
          console.log(`  at ${b.rev}: ${b.medianSeconds.toFixed(1)} s median of ${b.runs.length} (${b.runs.map((s) => s.toFixed(1)).join(', ')}), interleaved`);
          console.log(`  this revision / ${b.rev}: ${(l.medianSeconds / b.medianSeconds).toFixed(2)} (median of the rounds' ratios ${b.ratio.toFixed(2)})`);
        }
        console.log(`  load average: ${l.load.map((x) => x.toFixed(1)).join(' → ')}`);
      }
    }
  } finally {
    rm(dir);
  }
}

interface LaptopResult {
  downloadSeconds: number;
  medianSeconds: number;
  runs: number[];
  load: number[];
  before?: { rev: string; medianSeconds: number; runs: number[]; ratio: number };
}

/** hepstore at git revision `rev`, unpacked under `dir` and compiled with this checkout's packages. */
function checkoutAt(rev: string, dir: string): string {
  const at = path.join(dir, `rev-${rev.replace(/[^A-Za-z0-9._-]/g, '_')}`);
  fs.mkdirSync(at, { recursive: true });
  const archive = spawnSync('git', ['-C', REPO, 'archive', '--format=tar', rev], { maxBuffer: 1 << 30 });
  if (archive.status !== 0) throw new Error(`bench/bootstrap: git archive ${rev} failed: ${archive.stderr.toString().trim()}`);
  const untar = spawnSync('tar', ['-x', '-C', at], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`bench/bootstrap: cannot unpack revision ${rev}: ${untar.stderr.toString().trim()}`);
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(at, 'node_modules'));
  timed(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', at]);
  return at;
}

/**
 * The laptop environment cold: its .deb files fetched first (timed), then the realize from a
 * mirror, `runs` times in fresh stores; with `before`, interleaved with hepstore at that revision.
 */
function laptop(dir: string, o: Options, env: NodeJS.ProcessEnv): LaptopResult {
  const file = path.join(REPO, 'exprs', 'examples', 'laptop-analysis.ts');
  const setFiles = [path.join(REPO, 'exprs', 'debian', 'sets', 'laptop.ts')];
  const old = o.before === undefined ? undefined : checkoutAt(o.before, dir);
  if (old) setFiles.push(path.join(old, 'exprs', 'debian', 'sets', 'laptop.ts'));
  // Download: every pinned .deb, with apt, into a mirror the realizes read.
  const t0 = process.hrtime.bigint();
  const laptopMirror = path.join(dir, 'laptop-mirror');
  const got = ensureMirror(laptopMirror, setFiles) as string | undefined;
  if (!got) throw new Error('bench/bootstrap: could not fetch the laptop set with apt-get');
  const downloadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const runEnv = { ...env, HEPSTORE_MIRROR_DEBIAN: `${env.HEPSTORE_MIRROR_DEBIAN} ${got}` };
  const load = [os.loadavg()[0]];
  const now: number[] = [];
  const then: number[] = [];
  const once = (cli: string, expr: string, i: number, tag: string) => {
    const root = path.join(dir, `laptop-${tag}-${i}`);
    try {
      return timed(process.execPath, [cli, 'realize', '-j', String(o.jobs), '--no-out-link', expr], { env: { ...runEnv, STORE_ROOT: root } }).s;
    } finally {
      rm(root);
    }
  };
  for (let i = 0; i < o.runs; i++) {
    const order = i % 2 === 0 ? ['now', 'then'] : ['then', 'now'];
    for (const which of order) {
      if (which === 'now') now.push(once(CLI, file, i, 'now'));
      else if (old) then.push(once(path.join(old, 'bin', 'store.js'), path.join(old, 'exprs', 'examples', 'laptop-analysis.ts'), i, 'then'));
    }
    load.push(os.loadavg()[0]);
  }
  const result: LaptopResult = { downloadSeconds, medianSeconds: median(now), runs: now, load };
  if (old) result.before = { rev: o.before!, medianSeconds: median(then), runs: then, ratio: median(now.map((s, i) => s / then[i])) };
  return result;
}

main();
