/**
 * bench/sandbox: what a sandboxed build costs, and whether that grows with its input closure.
 * Realizes batches of trivial derivations (`echo i > $out`) at -j1, each batch with inputs of a
 * given closure size (directories, with a few files and symlinks among them), with and without
 * the sandbox, batches interleaved; prints the median time per build for each size, the part
 * the sandbox adds (the difference), and bwrap's own cost (`bwrap … /bin/true` with nothing
 * bound) for comparison. HEPSTORE_SANDBOX_INIT=0 measures the sandbox that binds each input
 * through bwrap. Where nix-build is installed, the same batches through Nix with its sandbox
 * (`sandbox-paths` holding /bin/sh and its libraries): the inputs are built once, each batch's
 * .drv files are written by nix-instantiate untimed, and `nix-store --realise -j1` is timed.
 *
 *   node bench/run.mjs sandbox [--closures 5,2000] [--builds 20] [--runs 5] [--no-nix] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { has, median, nixEnv, rm } from './lib.js';
import { LocalStore } from '../src/store/local-store.js';
import { realize } from '../src/realize/realize.js';
import { findBwrap } from '../src/realize/sandbox.js';
import { assignOutputPaths, derivationPath } from '../src/derivation/paths.js';
import type { Derivation } from '../src/derivation/derivation.js';
import type { BuildGraph } from '../src/derivation/graph.js';

interface Options {
  closures: number[];
  builds: number;
  runs: number;
  nix: boolean;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { closures: [5, 2000], builds: 20, runs: 5, nix: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i] ?? '';
    if (a === '--closures') o.closures = val().split(',').map(Number);
    else if (a === '--builds') o.builds = Number(val());
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--no-nix') o.nix = false;
    else if (a === '--json') o.json = true;
    else {
      process.stderr.write(`bench sandbox: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  return o;
}

/** `n` valid store paths: mostly directories, every 50th a file, every 100th a symlink to a file. */
async function makeInputs(store: LocalStore, work: string, n: number): Promise<string[]> {
  const src = path.join(work, 'src');
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = path.join(src, `input-${i}`);
    fs.rmSync(p, { recursive: true, force: true });
    fs.mkdirSync(src, { recursive: true });
    if (i % 100 === 99) fs.symlinkSync(`${out[0]}/data`, p);
    else if (i % 50 === 49) fs.writeFileSync(p, `input ${i}\n`);
    else {
      fs.mkdirSync(p);
      fs.writeFileSync(path.join(p, 'data'), `input ${i}\n`);
    }
    out.push(await store.addToStore(p, `input-${i}`));
  }
  return out;
}

function graphOf(store: LocalStore, inputs: readonly string[], builds: number, salt: string): BuildGraph {
  const graph: BuildGraph = { nodes: new Map(), sources: new Map(), roots: [] };
  for (let i = 0; i < builds; i++) {
    const drv: Derivation = {
      name: `trivial-${i}`,
      outputs: { out: { path: '', hashAlgo: '', hash: '' } },
      inputDrvs: {},
      inputSrcs: [...inputs].sort(),
      system: `${os.arch()}-linux`,
      builder: '/bin/sh',
      args: ['-c', `echo ${i} > $out`],
      env: { salt },
    };
    assignOutputPaths(drv, store.storeDir, () => '');
    const drvPath = derivationPath(drv, store.storeDir);
    graph.nodes.set(drvPath, { drvPath, drv });
    graph.roots.push({ drvPath, outputs: ['out'], attr: `b${i}` });
  }
  return graph;
}

/** The Nix expression of a batch: `k` trivial builds, each with the first `n` of the inputs in its closure. */
const NIX_BATCH = `{ n, k, salt }:
let
  inputs = builtins.genList (i: derivation { name = "input-\${toString i}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo \${toString i} > $out" ]; }) n;
  # In a file, not the environment: 2,000 store paths are more than one variable may hold.
  deps = builtins.concatStringsSep " " (map toString inputs);
in {
  inherit inputs;
  batch = builtins.genList (j: derivation { name = "trivial-\${toString j}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo \${toString j} > $out" ]; inherit salt deps; passAsFile = [ "deps" ]; }) k;
}
`;

/** bwrap alone: new namespaces, /bin/sh's directories, nothing else, /bin/true. */
function bwrapAlone(bwrap: string): number {
  const args = ['--unshare-all', '--die-with-parent', '--proc', '/proc', '--dev', '/dev'];
  for (const d of ['/usr', '/bin', '/lib', '/lib64']) if (fs.existsSync(d)) args.push('--ro-bind', d, d);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bwrap, [...args, '/bin/true']);
  if (r.status !== 0) throw new Error(`bwrap failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const bwrap = findBwrap();
  if (!bwrap) {
    process.stdout.write('sandbox: bubblewrap (bwrap) is not installed; nothing to measure\n');
    return;
  }
  const log = (s: string) => process.stderr.write(s);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sandbox-'));
  const store = new LocalStore(path.join(work, 'root'));
  try {
    const all = await makeInputs(store, work, Math.max(...o.closures));
    const nix = o.nix && has('nix-build');
    if (o.nix && !nix) log('nix-build not found: Nix rows skipped (Debian package nix-bin)\n');
    const nixFile = path.join(work, 'batch.nix');
    const nixState = nixEnv(path.join(work, 'nix'), '', true);
    const nixArgs = (attr: string, n: number, salt: string) => [nixFile, '-A', attr, '--arg', 'n', String(n), '--arg', 'k', String(o.builds), '--argstr', 'salt', salt];
    if (nix) {
      fs.writeFileSync(nixFile, NIX_BATCH);
      // The inputs, built once (untimed).
      const warm = spawnSync('nix-build', [...nixArgs('inputs', Math.max(...o.closures), 'warm'), '-j', '2', '--no-out-link', '--quiet'], { env: nixState, encoding: 'utf8' });
      if (warm.status !== 0) throw new Error(`nix-build failed: ${warm.stderr.slice(-2000)}`);
    }
    const nixBatch = (n: number, salt: string): number => {
      const inst = spawnSync('nix-instantiate', nixArgs('batch', n, salt), { env: nixState, encoding: 'utf8' });
      if (inst.status !== 0) throw new Error(`nix-instantiate failed: ${inst.stderr.slice(-2000)}`);
      const drvs = inst.stdout.trim().split('\n');
      const t0 = process.hrtime.bigint();
      const r = spawnSync('nix-store', ['--realise', ...drvs, '-j', '1', '--quiet'], { env: nixState, encoding: 'utf8' });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`nix-store --realise failed: ${r.stderr.slice(-2000)}`);
      return s;
    };
    const nixPerBuild = new Map<number, number[]>();
    const key = (n: number, sandbox: boolean) => `${n}:${sandbox}`;
    const perBuild = new Map<string, number[]>();
    const alone: number[] = [];
    for (let r = 0; r < o.runs; r++) {
      for (const n of o.closures) {
        for (const sandbox of [true, false]) {
          const graph = graphOf(store, all.slice(0, n), o.builds, `run-${r}-${sandbox}`);
          const t0 = process.hrtime.bigint();
          const res = await realize(store, graph, { jobs: 1, sandbox });
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          if (res.built.length !== o.builds) throw new Error(`built ${res.built.length} of ${o.builds}`);
          perBuild.set(key(n, sandbox), [...(perBuild.get(key(n, sandbox)) ?? []), s / o.builds]);
          log(`run ${r + 1}/${o.runs}: closure ${n}${sandbox ? '' : ' (no sandbox)'}: ${((s / o.builds) * 1000).toFixed(1)} ms a build\n`);
        }
      }
      if (nix) {
        for (const n of o.closures) {
          const s = nixBatch(n, `run-${r}`);
          nixPerBuild.set(n, [...(nixPerBuild.get(n) ?? []), s / o.builds]);
          log(`run ${r + 1}/${o.runs}: closure ${n} through Nix's sandbox: ${((s / o.builds) * 1000).toFixed(1)} ms a build\n`);
        }
      }
      for (let k = 0; k < 5; k++) alone.push(bwrapAlone(bwrap));
    }
    const ms = (x: number) => (x * 1000).toFixed(1).padStart(9);
    const mode = process.env.HEPSTORE_SANDBOX_INIT === '0' ? 'inputs bound by bwrap' : 'inputs mounted by hepstore-sandbox-init';
    const out = [
      `sandbox (${mode}): ${o.builds} trivial builds (-j1) a batch; medians of ${o.runs} interleaved batches, ms per build`,
      `${'closure'.padStart(8)} ${'sandbox'.padStart(9)} ${'none'.padStart(9)} ${'overhead'.padStart(9)}   (sandbox min-max)`,
    ];
    const overhead = new Map<number, number>();
    for (const n of o.closures) {
      const xs = perBuild.get(key(n, true))!;
      const with_ = median(xs);
      const without = median(perBuild.get(key(n, false))!);
      overhead.set(n, with_ - without);
      out.push(`${String(n).padStart(8)} ${ms(with_)} ${ms(without)} ${ms(with_ - without)}   (${(Math.min(...xs) * 1000).toFixed(1)}-${(Math.max(...xs) * 1000).toFixed(1)})`);
    }
    const [small, large] = [Math.min(...o.closures), Math.max(...o.closures)];
    out.push(`closure ${large} / closure ${small}: ${(median(perBuild.get(key(large, true))!) / median(perBuild.get(key(small, true))!)).toFixed(2)}x the time per sandboxed build; sandbox overhead ${(overhead.get(large)! * 1000).toFixed(1)} vs ${(overhead.get(small)! * 1000).toFixed(1)} ms`);
    out.push(`bwrap alone (nothing bound but /usr, /bin, /lib): ${ms(median(alone)).trim()} ms`);
    if (nixPerBuild.size) {
      out.push(`Nix with its sandbox (nix-store --realise -j1 of the same batches), ms per build:`);
      for (const n of o.closures) {
        const xs = nixPerBuild.get(n)!;
        out.push(`${String(n).padStart(8)} ${ms(median(xs))}   (${(Math.min(...xs) * 1000).toFixed(1)}-${(Math.max(...xs) * 1000).toFixed(1)}); hepstore/Nix ${(median(perBuild.get(key(n, true))!) / median(xs)).toFixed(2)}`);
      }
      out.push(`Nix: closure ${large} / closure ${small}: ${(median(nixPerBuild.get(large)!) / median(nixPerBuild.get(small)!)).toFixed(2)}x the time per build`);
    }
    process.stdout.write(out.join('\n') + '\n');
    if (o.json) {
      const perBuildMs = Object.fromEntries([...perBuild].map(([k, xs]) => [k, median(xs) * 1000]));
      const nixMs = Object.fromEntries([...nixPerBuild].map(([n, xs]) => [n, median(xs) * 1000]));
      process.stdout.write(JSON.stringify({ mode, builds: o.builds, perBuildMs, bwrapAloneMs: median(alone) * 1000, ...(nixPerBuild.size ? { nixPerBuildMs: nixMs } : {}) }) + '\n');
    }
  } finally {
    store.close();
    rm(work);
  }
}

await main();
