/**
 * bench/share: moving a closure of about 1 GiB (several `store add`ed trees of pseudo-random
 * files) between stores: `store export` to a bundle, `store import` into a fresh store at the
 * same directory, `store push` to a file:// cache and substitution from it (gzip and none).
 * Where nix-store is installed, `nix-store --export` / `--import` of the same trees in a
 * private Nix store, and the import ratio. Each run does hepstore's and Nix's operations
 * back to back (alternating which goes first), so that background load hits both alike.
 *
 *   node bench/run.mjs share [--mib 1024] [--paths 8] [--runs 3] [--no-nix] [--no-gzip] [--only export,import,push]
 *
 * --only export,import skips push and substitution (`push` covers both).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { LocalStore } from '../src/store/local-store.js';
import { substitutePaths } from '../src/cache/binary/substitute.js';
import { CLI, REPO, has, median, nixEnv, rm } from './lib.js';


interface Options {
  mib: number;
  paths: number;
  runs: number;
  nix: boolean;
  gzip: boolean;
  push: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { mib: 1024, paths: 8, runs: 3, nix: true, gzip: true, push: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i] ?? '';
    if (a === '--mib') o.mib = Number(val());
    else if (a === '--paths') o.paths = Number(val());
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--no-nix') o.nix = false;
    else if (a === '--no-gzip') o.gzip = false;
    else if (a === '--only') {
      const ops = val().split(',');
      const unknown = ops.filter((x) => !['export', 'import', 'push'].includes(x));
      if (unknown.length) {
        process.stderr.write(`bench share: --only takes export, import and push, not ${unknown.join(', ')}\n`);
        process.exit(2);
      }
      // Export and import go together (one makes the other's bundle).
      o.push = ops.includes('push');
    }
    else {
      process.stderr.write(`bench share: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  return o;
}

/** Trees of pseudo-random files: per tree a few large files and a hundred small ones. */
function makeTrees(dir: string, o: Options): string[] {
  const per = Math.floor((o.mib << 20) / o.paths);
  const trees: string[] = [];
  for (let t = 0; t < o.paths; t++) {
    const root = path.join(dir, `pkg-${t}`);
    fs.mkdirSync(path.join(root, 'lib'), { recursive: true });
    fs.mkdirSync(path.join(root, 'share', 'doc'), { recursive: true });
    const key = createHash('sha256').update(`tree-${t}`).digest();
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    const small = 100;
    const smallSize = 4096;
    let left = per - small * smallSize;
    for (let i = 0; i < small; i++) fs.writeFileSync(path.join(root, 'share', 'doc', `f${i}.txt`), cipher.update(Buffer.alloc(smallSize)));
    for (let i = 0; left > 0; i++) {
      const n = Math.min(left, 32 << 20);
      fs.writeFileSync(path.join(root, 'lib', `lib${i}.so`), cipher.update(Buffer.alloc(n)), { mode: i % 2 ? 0o755 : 0o644 });
      left -= n;
    }
    trees.push(root);
  }
  return trees;
}

/**
 * Run and time a command. The file system's dirty pages are written out first (`sync`,
 * untimed), so that one operation's writes do not land on the next one's time.
 */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { input?: string; output?: string } = {}): number {
  spawnSync('sync');
  const t0 = process.hrtime.bigint();
  const stdin = opts.input ? fs.openSync(opts.input, 'r') : 'ignore';
  const stdout = opts.output ? fs.openSync(opts.output, 'w') : 'ignore';
  const r = spawnSync(cmd, args, { env, stdio: [stdin, stdout, 'pipe'], encoding: 'utf8' });
  if (typeof stdin === 'number') fs.closeSync(stdin);
  if (typeof stdout === 'number') fs.closeSync(stdout);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return s;
}





async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(s);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-share-'));
  const rows = new Map<string, number[]>();
  const add = (k: string, s: number) => (rows.get(k) ?? rows.set(k, []).get(k)!).push(s);
  let bytes = 0;
  try {
    log(`generating ${o.mib} MiB in ${o.paths} trees…\n`);
    const trees = makeTrees(path.join(work, 'src'), o);
    const root = path.join(work, 'root');
    const env = { ...process.env, STORE_ROOT: root };
    const seed = () => {
      const s = new LocalStore(root);
      const out: string[] = [];
      return (async () => {
        for (const t of trees) out.push(await s.addToStore(t));
        bytes = out.reduce((n, p) => n + s.pathInfo(p).narSize, 0);
        s.close();
        return out;
      })();
    };
    const nix = o.nix && has('nix-store');
    if (o.nix && !nix) log('nix-store not found: Nix rows skipped (Debian package nix-bin)\n');
    const ours = async () => {
      rm(root);
      const paths = await seed();
      const bundle = path.join(work, 'env.bundle');
      add('hepstore export', timed(process.execPath, [CLI, 'export', ...paths, '-o', bundle], env));
      rm(root);
      add('hepstore import', timed(process.execPath, [CLI, 'import', bundle], env));
      fs.rmSync(bundle);
      if (!o.push) return;
      for (const c of o.gzip ? ['none', 'gzip'] : ['none']) {
        const cache = path.join(work, `cache-${c}`);
        rm(cache);
        add(`hepstore push (${c})`, timed(process.execPath, [CLI, 'push', '--to', pathToFileURL(cache).href, '--compression', c, ...paths], env));
        rm(root);
        const s = new LocalStore(root);
        const t0 = process.hrtime.bigint();
        const res = await substitutePaths(s, paths, { substituters: [pathToFileURL(cache).href], trusted: new Map() });
        add(`hepstore substitute (${c})`, Number(process.hrtime.bigint() - t0) / 1e9);
        s.close();
        if (res.substituted.length !== paths.length) throw new Error(`substituted ${res.substituted.length} of ${paths.length}: ${[...res.failed.values()][0]}`);
        rm(cache);
      }
    };
    const theirs = () => {
      // Two stores at one directory in turn, as for hepstore: store paths depend on it.
      const a = path.join(work, 'nix');
      const file = path.join(work, 'nix.export');
      const envA = nixEnv(a, 'require-sigs = false\n');
      const added = spawnSync('nix-store', ['--add-fixed', '--recursive', 'sha256', ...trees], { env: envA, encoding: 'utf8' });
      if (added.status !== 0) throw new Error(`nix-store --add-fixed failed: ${added.stderr}`);
      const nixPaths = added.stdout.trim().split('\n');
      add('nix-store --export', timed('nix-store', ['--export', ...nixPaths], envA, { output: file }));
      rm(a);
      add('nix-store --import', timed('nix-store', ['--import'], nixEnv(a, 'require-sigs = false\n'), { input: file }));
      fs.rmSync(file);
      rm(a);
    };
    for (let r = 0; r < o.runs; r++) {
      if (nix && r % 2 === 1) theirs();
      await ours();
      if (nix && r % 2 === 0) theirs();
      rm(root);
      log(`run ${r + 1}/${o.runs}: ${[...rows].map(([k, v]) => `${k} ${v.at(-1)!.toFixed(2)}s`).join(', ')}\n`);
    }
  } finally {
    rm(work);
  }
  const mb = bytes / 1e6;
  const out = [`share: ${o.paths} paths, ${(bytes / 1048576).toFixed(0)} MiB of archives; medians of ${o.runs} runs`, `${'operation'.padEnd(28)} ${'seconds'.padStart(8)} ${'MB/s'.padStart(8)}`];
  for (const [k, v] of rows) out.push(`${k.padEnd(28)} ${median(v).toFixed(2).padStart(8)} ${(mb / median(v)).toFixed(0).padStart(8)}`);
  for (const op of ['export', 'import']) {
    const ours = rows.get(`hepstore ${op}`);
    const nix = rows.get(`nix-store --${op}`);
    if (!ours || !nix) continue;
    // Also the median of each round's ratio: the two ran back to back, under the same load.
    const perRound = ours.map((t, i) => nix[i] / t);
    out.push(`${op}: hepstore is ${(median(nix) / median(ours)).toFixed(2)}x the speed of nix-store --${op} (median of the rounds' ratios ${median(perRound).toFixed(2)}x)`);
  }
  out.push(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
