/**
 * bench/gc: collect D dead paths out of N valid ones, and compute `store roots` on the full
 * store; where nix-store is installed, `nix-store --gc` on a private Nix store holding the
 * same reference graph (registered with `nix-store --register-validity`, the way Nix's own
 * tests build large stores) and the same roots.
 *
 * The graph: groups of 1,000 paths; in a group each path refers to the one before it and to
 * up to two random earlier paths (any group). (N-D)/1000 live groups each have an out-link
 * root on their last path (an indirect root, as `./result`); D/1000 dead groups have none
 * (their paths may refer to live ones). Every path is a small regular file. Only the
 * collection (and the roots report) is timed, each as a whole command, start-up included;
 * between runs the dead groups are put back.
 *
 *   node bench/run.mjs gc [--paths 100000] [--dead 10000] [--runs 3] [--no-nix] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';

import { LocalStore, type NewPathInfo } from '../src/store/local-store.js';
import { makeStorePath } from '../src/store/path.js';
import { hashPathSync } from '../src/archive/hash-sync.js';
import { CLI, REPO, has, median, nixEnv, prng, rm } from './lib.js';

const GROUP = 1000;

interface Options {
  paths: number;
  dead: number;
  runs: number;
  nix: boolean;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { paths: 100000, dead: 10000, runs: 3, nix: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => Number(argv[++i]);
    if (a === '--paths') o.paths = val();
    else if (a === '--dead') o.dead = val();
    else if (a === '--runs') o.runs = val();
    else if (a === '--no-nix') o.nix = false;
    else if (a === '--json') o.json = true;
    else {
      process.stderr.write(`bench gc: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  if (o.paths % GROUP || o.dead % GROUP || o.dead >= o.paths) {
    process.stderr.write(`bench gc: --paths and --dead must be multiples of ${GROUP}, dead < paths\n`);
    process.exit(2);
  }
  return o;
}


/** refs[i]: indices that path i refers to. Paths [0, live) are live, [live, n) dead. */
function graph(n: number, dead: number): { refs: number[][]; live: number; roots: number[] } {
  const rand = prng(7);
  const live = n - dead;
  const refs: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r = new Set<number>();
    const start = i - (i % GROUP);
    if (i > start) r.add(i - 1);
    // Earlier paths only: live ones thus refer only to live ones; dead ones may refer to either.
    for (let k = 0; k < 2 && i > 0; k++) if (rand() < 0.6) r.add(Math.floor(rand() * i));
    refs.push([...r].sort((a, b) => a - b));
  }
  const roots: number[] = [];
  for (let g = GROUP - 1; g < live; g += GROUP) roots.push(g);
  return { refs, live, roots };
}

function nameOf(i: number): string {
  return `pkg-${i}`;
}

function writeFile(p: string, i: number): void {
  fs.writeFileSync(p, `payload of ${nameOf(i)}\n`, { mode: 0o444 });
}


function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): { s: number; out: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${(r.stderr ?? '').slice(-2000)}`);
  return { s, out: `${r.stdout}\n${r.stderr}` };
}



/** An out-link `links/result-i` → target, registered as `gcroots/auto/<hash>` → the link. */
function indirectRoot(gcroots: string, linksDir: string, i: number, target: string): void {
  const link = path.join(linksDir, `result-${i}`);
  fs.symlinkSync(target, link);
  fs.mkdirSync(path.join(gcroots, 'auto'), { recursive: true });
  fs.symlinkSync(link, path.join(gcroots, 'auto', createHash('sha256').update(link).digest('hex').slice(0, 32)));
}

// ---- hepstore -----------------------------------------------------------------------------

function ourPaths(storeDir: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(makeStorePath('output:out', createHash('sha256').update(`bench-gc-${i}`).digest('hex'), storeDir, nameOf(i)));
  return out;
}

function populateOurs(root: string, g: ReturnType<typeof graph>, from: number, to: number, paths?: string[]): string[] {
  const store = new LocalStore(root);
  try {
    paths ??= ourPaths(store.storeDir, g.refs.length);
    for (let lo = from; lo < to; lo += 10000) {
      const infos: NewPathInfo[] = [];
      for (let i = lo; i < Math.min(to, lo + 10000); i++) {
        writeFile(paths[i], i);
        const nar = hashPathSync(paths[i]);
        infos.push({ path: paths[i], narHash: nar.narHash, narSize: nar.narSize, references: g.refs[i].map((j) => paths![j]) });
      }
      store.registerValidPaths(infos);
    }
    return paths;
  } finally {
    store.close();
  }
}

function countValid(root: string): number {
  const store = new LocalStore(root);
  try {
    return store.allValidPaths().length;
  } finally {
    store.close();
  }
}

// ---- Nix ------------------------------------------------------------------------------------


function populateNix(env: NodeJS.ProcessEnv, paths: string[], g: ReturnType<typeof graph>, from: number, to: number): void {
  fs.mkdirSync(env.NIX_STORE_DIR!, { recursive: true });
  for (let lo = from; lo < to; lo += 20000) {
    const lines: string[] = [];
    for (let i = lo; i < Math.min(to, lo + 20000); i++) {
      writeFile(paths[i], i);
      lines.push(paths[i], '', String(g.refs[i].length), ...g.refs[i].map((j) => paths[j]));
    }
    const r = spawnSync('nix-store', ['--register-validity'], { env, input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`nix-store --register-validity failed: ${r.stderr.slice(-2000)}`);
  }
}

// ---- main -----------------------------------------------------------------------------------

function main(): void {
  const o = parse(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(s);
  const nix = o.nix && has('nix-store');
  if (o.nix && !nix) log('nix-store not found: Nix column skipped (Debian package nix-bin)\n');
  const g = graph(o.paths, o.dead);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gc-'));
  const results: { ours: number[]; roots: number[]; nix: number[] } = { ours: [], roots: [], nix: [] };
  try {
    // hepstore
    const root = path.join(work, 'store');
    const env = { ...process.env, STORE_ROOT: root };
    let t0 = Date.now();
    const paths = populateOurs(root, g, 0, o.paths);
    const links = path.join(work, 'links');
    fs.mkdirSync(links);
    for (const r of g.roots) indirectRoot(path.join(root, 'var', 'gcroots'), links, r, paths[r]);
    log(`hepstore: ${o.paths} paths, ${g.roots.length} roots registered in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    for (let run = 0; run < o.runs; run++) {
      if (run > 0) populateOurs(root, g, g.live, o.paths, paths);
      const r = timed(process.execPath, [CLI, 'roots', '--json'], env);
      results.roots.push(r.s);
      const rep = JSON.parse(r.out) as { valid: number; alive: number };
      if (rep.valid !== o.paths || rep.alive !== g.live) throw new Error(`store roots: ${rep.valid} valid, ${rep.alive} alive; expected ${o.paths}, ${g.live}`);
      const c = timed(process.execPath, [CLI, 'gc'], env);
      results.ours.push(c.s);
      if (!c.out.includes(`deleted ${o.dead} paths`) || countValid(root) !== g.live) throw new Error(`store gc did not delete exactly ${o.dead} paths:\n${c.out}`);
      log(`hepstore run ${run + 1}/${o.runs}: roots ${r.s.toFixed(3)} s, gc ${c.s.toFixed(3)} s\n`);
    }
    rm(root);
    // Nix
    if (nix) {
      const dir = path.join(work, 'nix-home');
      const nenv = nixEnv(dir);
      const npaths = ourPaths(nenv.NIX_STORE_DIR!, o.paths);
      t0 = Date.now();
      populateNix(nenv, npaths, g, 0, o.paths);
      const nlinks = path.join(work, 'nix-links');
      fs.mkdirSync(nlinks);
      for (const r of g.roots) indirectRoot(path.join(nenv.NIX_STATE_DIR!, 'gcroots'), nlinks, r, npaths[r]);
      log(`nix: ${o.paths} paths registered in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      for (let run = 0; run < o.runs; run++) {
        if (run > 0) populateNix(nenv, npaths, g, g.live, o.paths);
        const c = timed('nix-store', ['--gc'], nenv);
        results.nix.push(c.s);
        if (!c.out.includes(`${o.dead} store paths deleted`)) throw new Error(`nix-store --gc did not delete ${o.dead} paths:\n${c.out}`);
        log(`nix-store --gc run ${run + 1}/${o.runs}: ${c.s.toFixed(3)} s\n`);
      }
    }
  } finally {
    rm(work);
  }
  const out = [
    `gc: collect ${o.dead} dead paths out of ${o.paths} valid (${g.roots.length} out-link roots); medians of ${o.runs} runs, whole commands`,
    `  store gc           ${median(results.ours).toFixed(3)} s   (${results.ours.map((x) => x.toFixed(2)).join(', ')})`,
    `  store roots        ${median(results.roots).toFixed(3)} s   (${results.roots.map((x) => x.toFixed(2)).join(', ')})   on ${o.paths} paths`,
  ];
  if (results.nix.length) {
    out.push(`  nix-store --gc     ${median(results.nix).toFixed(3)} s   (${results.nix.map((x) => x.toFixed(2)).join(', ')})`);
    out.push(`  nix / hepstore: ${(median(results.nix) / median(results.ours)).toFixed(1)}x`);
  }
  process.stdout.write(out.join('\n') + '\n');
  if (o.json) {
    process.stdout.write(
      JSON.stringify({ paths: o.paths, dead: o.dead, runs: o.runs, gc: median(results.ours), roots: median(results.roots), nixGc: results.nix.length ? median(results.nix) : null }) + '\n',
    );
  }
}

main();
