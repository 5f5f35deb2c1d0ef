/**
 * Dump+hash and `store add` of a tree shaped like installed HEP software, side by side with
 * the raw sha256 speed of the same bytes and, where installed, nix-hash and nix-store --add.
 *
 *   node bench/run.mjs hash [--size MiB] [--runs N] [--seed N] [--dir DIR] [--tree DIR]
 *                          [--remove-between] [--no-nix] [--json]
 *
 * Throughput is always content bytes of the tree / wall time (MB = 10^6 bytes), so every
 * ratio is a ratio of times. Medians of --runs rounds; the tools alternate within a round.
 * --tree DIR generates the tree there (or reuses it, if it already exists) and keeps it.
 * The stores made by the adds are kept until the end if the disk has room (--remove-between
 * removes each one after its round instead).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCipheriv, createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { hashPath } from '../src/archive/dump.js';
import { CLI as storeCli, has, median, nixEnv, prng, rm as removeTree } from './lib.js';

// ---- options -------------------------------------------------------------------------------

interface Options {
  sizeMiB: number;
  runs: number;
  seed: number;
  dir: string;
  nix: boolean;
  json: boolean;
  /** Generate the tree here (or reuse it if it exists) and keep it. */
  tree?: string;
  /** Remove each store right after its add, even if the disk has room to keep them all. */
  removeBetween: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { sizeMiB: 1024, runs: 5, seed: 1, dir: os.tmpdir(), nix: true, json: false, removeBetween: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) usage(`${a} needs a positive number`);
      return v;
    };
    if (a === '--size') o.sizeMiB = num();
    else if (a === '--runs') o.runs = Math.round(num());
    else if (a === '--seed') o.seed = Math.round(num());
    else if (a === '--dir') o.dir = argv[++i] ?? usage('--dir needs a directory');
    else if (a === '--tree') o.tree = path.resolve(argv[++i] ?? usage('--tree needs a directory'));
    else if (a === '--no-nix') o.nix = false;
    else if (a === '--remove-between') o.removeBetween = true;
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option '${a}'`);
  }
  return o;
}

function usage(problem?: string): never {
  const text = 'usage: node bench/run.mjs hash [--size MiB (1024)] [--runs N (5)] [--seed N (1)] [--dir DIR (tmpdir)] [--tree DIR (kept)] [--remove-between] [--no-nix] [--json]';
  if (problem) {
    process.stderr.write(`bench hash: ${problem}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(text + '\n');
  process.exit(0);
}

// ---- deterministic tree --------------------------------------------------------------------

interface TreeStats {
  files: number;
  bytes: number;
  dirs: number;
  symlinks: number;
  executables: number;
  small: number;
  medium: number;
  large: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Write a tree of about `total` bytes: ~15% of the bytes in many small files (100 B–16 KiB,
 * log-uniform: Python sources, headers), ~35% in medium ones (64 KiB–1 MiB: shared libraries),
 * ~50% in a few large ones (16–128 MiB: data and ROOT files); nested package directories,
 * executables in bin/, versioned-library symlinks and an empty directory. Contents are an
 * AES-CTR keystream, so the same seed gives the same bytes.
 */
function generateTree(root: string, total: number, seed: number): void {
  const rnd = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const logUniform = (lo: number, hi: number) => Math.round(Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo))));
  const key = createHash('sha256').update(`hepstore-bench-${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(4 * MiB);
  const stats: TreeStats = { files: 0, bytes: 0, dirs: 0, symlinks: 0, executables: 0, small: 0, medium: 0, large: 0 };

  const mkdir = (rel: string) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) {
      fs.mkdirSync(abs, { recursive: true });
      stats.dirs++;
    }
    return rel;
  };
  const writeFile = (rel: string, size: number, executable = false) => {
    const fd = fs.openSync(path.join(root, rel), 'wx', executable ? 0o755 : 0o644);
    try {
      for (let left = size; left > 0; ) {
        const n = Math.min(left, zeros.length);
        fs.writeSync(fd, cipher.update(zeros.subarray(0, n)));
        left -= n;
      }
    } finally {
      fs.closeSync(fd);
    }
    stats.files++;
    stats.bytes += size;
    if (executable) stats.executables++;
  };

  fs.mkdirSync(root);
  stats.dirs++;
  mkdir('bin');
  mkdir('lib');
  mkdir('include');
  mkdir('share/data');
  mkdir('share/empty');

  const nPkgs = Math.max(3, Math.round(total / (16 * MiB)));
  const pkgDirs: string[][] = [];
  for (let p = 0; p < nPkgs; p++) {
    const pkg = `pkg${String(p).padStart(3, '0')}`;
    const dirs = [mkdir(`lib/python3.11/site-packages/${pkg}`), mkdir(`include/${pkg}`)];
    // Nested sub-packages, 1–4 levels below the package.
    for (let s = int(2, 8); s > 0; s--) {
      const parent = dirs[int(0, dirs.length - 1)];
      if (parent.split('/').length < 8) dirs.push(mkdir(`${parent}/sub${dirs.length}`));
    }
    pkgDirs.push(dirs);
  }

  // Large files first, so that a small --size still gets at least one.
  let budget = Math.round(total * 0.5);
  for (let i = 0; budget > 0; i++) {
    const size = Math.min(budget, int(16 * MiB, 128 * MiB));
    writeFile(`share/data/run${String(i).padStart(4, '0')}.root`, size);
    stats.large++;
    budget -= size;
  }

  budget = Math.round(total * 0.35);
  for (let i = 0; budget > 0; i++) {
    const size = Math.min(budget, logUniform(64 * KiB, 1 * MiB));
    const p = int(0, nPkgs - 1);
    const exec = rnd() < 0.05;
    if (exec) {
      writeFile(`bin/tool${i}`, size, true);
    } else {
      const so = `libpkg${p}_${i}.so`;
      writeFile(`lib/${so}.1.2.3`, size);
      if (rnd() < 0.5) {
        fs.symlinkSync(`${so}.1.2.3`, path.join(root, 'lib', `${so}.1`));
        fs.symlinkSync(`${so}.1`, path.join(root, 'lib', so));
        stats.symlinks += 2;
      }
    }
    stats.medium++;
    budget -= size;
  }

  budget = total - stats.bytes;
  for (let i = 0; budget > 0; i++) {
    const size = Math.min(budget, logUniform(100, 16 * KiB));
    const dirs = pkgDirs[int(0, nPkgs - 1)];
    const dir = dirs[int(0, dirs.length - 1)];
    const exec = rnd() < 0.01;
    if (exec) writeFile(`bin/script${i}.py`, size, true);
    else writeFile(`${dir}/${dir.startsWith('include/') ? `h${i}.h` : `m${i}.py`}`, size);
    stats.small++;
    budget -= size;
  }
}

/** Counts of what is in the tree; files are classed by size as generateTree makes them. */
function describeTree(root: string): TreeStats {
  const stats: TreeStats = { files: 0, bytes: 0, dirs: 1, symlinks: 0, executables: 0, small: 0, medium: 0, large: 0 };
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name);
      if (d.isDirectory()) {
        stats.dirs++;
        stack.push(abs);
      } else if (d.isSymbolicLink()) {
        stats.symlinks++;
      } else if (d.isFile()) {
        const st = fs.statSync(abs);
        stats.files++;
        stats.bytes += st.size;
        if (st.mode & 0o111) stats.executables++;
        if (st.size < 64 * KiB) stats.small++;
        else if (st.size < 16 * MiB) stats.medium++;
        else stats.large++;
      }
    }
  }
  return stats;
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name);
      if (d.isDirectory()) stack.push(abs);
      else if (d.isFile()) out.push(abs);
    }
  }
  return out.sort();
}

// ---- the measurements ----------------------------------------------------------------------

/** The physical limit: read every file into one reused buffer and feed one sha256, one core. */
function rawSha256(files: readonly string[]): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(MiB);
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    try {
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return hash.digest('hex');
}

/** sha256 of bytes already in memory: the ceiling for any hashing of this tree. */
function memorySha256Seconds(bytes: number): number {
  const buf = Buffer.alloc(16 * MiB, 0x5a);
  const hash = createHash('sha256');
  const t0 = process.hrtime.bigint();
  for (let left = bytes; left > 0; left -= buf.length) hash.update(left >= buf.length ? buf : buf.subarray(0, left));
  hash.digest();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { env: env ?? process.env, encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}:\n${r.stderr}`);
  return r.stdout.trim();
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 100;
})();

/** CPU seconds (user + system) of this process, all its threads, and its reaped children. */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / CLK_TCK; // cutime, cstime
  } catch {
    /* not Linux: children are not counted */
  }
  return (own.user + own.system) / 1e6 + children;
}

/** Busy and total CPU seconds of the whole machine, from /proc/stat (undefined elsewhere). */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = v[3] + v[4];
    return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
  } catch {
    return undefined;
  }
}

interface Timing<T> {
  seconds: number;
  cpu: number;
  value: T;
}

async function timed<T>(f: () => T | Promise<T>): Promise<Timing<T>> {
  const c0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  const value = await f();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, cpu: cpuSeconds() - c0, value };
}

function fitsOnDisk(dir: string, bytes: number): boolean {
  try {
    const st = fs.statfsSync(dir);
    return st.bavail * st.bsize > 2 * bytes;
  } catch {
    return false;
  }
}

function sync(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

interface Row {
  key: string;
  label: string;
  times: number[];
  cpu: number[];
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(opts.dir, 'hepstore-bench-'));
  const cleanup = () => removeTree(work);
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const tree = opts.tree ?? path.join(work, 'tree');
    const log = (s: string) => process.stderr.write(s);
    if (fs.existsSync(tree)) {
      log(`using the existing tree ${tree}\n`);
    } else {
      log(`generating ${opts.sizeMiB} MiB tree (seed ${opts.seed}) in ${tree} ... `);
      const gen = await timed(() => generateTree(tree, Math.round(opts.sizeMiB * MiB), opts.seed));
      sync();
      log(`${gen.seconds.toFixed(1)} s\n`);
    }
    const stats = describeTree(tree);
    const files = listFiles(tree);
    // Warm the page cache, and the JIT for the in-process runs (the CLI runs start cold).
    rawSha256(files);
    await hashPath(tree);

    const nix = opts.nix && has('nix-store') && has('nix-hash');
    if (opts.nix && !nix) log('nix-store / nix-hash not found: Nix columns skipped\n');

    const rows: Row[] = [
      { key: 'sha256Raw', label: 'sha256, read + hash (raw)', times: [], cpu: [] },
      { key: 'hashPath', label: 'hashPath (in process)', times: [], cpu: [] },
      { key: 'storeHashPath', label: 'store hash-path (CLI)', times: [], cpu: [] },
      ...(nix ? [{ key: 'nixHash', label: 'nix-hash --type sha256', times: [], cpu: [] }] : []),
      { key: 'storeAdd', label: 'store add (CLI)', times: [], cpu: [] },
      ...(nix ? [{ key: 'nixStoreAdd', label: 'nix-store --add', times: [], cpu: [] }] : []),
    ];
    const row = (k: string) => rows.find((r) => r.key === k)!;
    let narHash: string | undefined;
    let narSize = 0;

    // Freeing a gigabyte of page cache can make the next gigabyte of writes several times
    // slower (on VMs that hand freed memory back to the host), so the stores are kept until
    // the end when the disk has room for them all.
    const keepStores = !opts.removeBetween && fitsOnDisk(work, 2 * opts.runs * stats.bytes * 1.2);
    if (!keepStores) log('removing each store after its round\n');
    const settle = (dir: string) => {
      if (!keepStores) removeTree(dir);
      sync();
    };

    const machine0 = machineCpu();
    const own0 = cpuSeconds();
    const wall0 = process.hrtime.bigint();
    for (let round = 1; round <= opts.runs; round++) {
      log(`round ${round}/${opts.runs}:`);
      const note = (r: Row, t: Timing<unknown>) => {
        r.times.push(t.seconds);
        r.cpu.push(t.cpu);
        log(` ${r.key} ${(stats.bytes / t.seconds / 1e6).toFixed(0)}`);
      };

      note(row('sha256Raw'), await timed(() => rawSha256(files)));

      const hp = await timed(() => hashPath(tree));
      if (narHash !== undefined && hp.value.narHash !== narHash) throw new Error(`hashPath is not stable: ${narHash} then ${hp.value.narHash}`);
      narHash = hp.value.narHash;
      narSize = hp.value.narSize;
      note(row('hashPath'), hp);

      const cli = await timed(() => run(process.execPath, [storeCli, 'hash-path', tree]));
      if (cli.value !== narHash) throw new Error(`store hash-path printed ${cli.value}, hashPath gave ${narHash}`);
      note(row('storeHashPath'), cli);

      if (nix) note(row('nixHash'), await timed(() => run('nix-hash', ['--type', 'sha256', tree])));

      // The two adds take turns going first; each gets a fresh store.
      const adds = [
        async () => {
          const storeRoot = path.join(work, `store-${round}`);
          const add = await timed(() => run(process.execPath, [storeCli, '--store', storeRoot, 'add', tree]));
          if (!add.value.endsWith(`-${path.basename(tree)}`)) throw new Error(`store add printed '${add.value}'`);
          note(row('storeAdd'), add);
          settle(storeRoot);
        },
        ...(nix
          ? [
              async () => {
                const nixRoot = path.join(work, `nix-${round}`);
                const env = nixEnv(nixRoot);
                note(row('nixStoreAdd'), await timed(() => run('nix-store', ['--add', tree], env)));
                settle(nixRoot);
              },
            ]
          : []),
      ];
      if (round % 2 === 0) adds.reverse();
      for (const add of adds) await add();
      log('\n');
    }

    const machine1 = machineCpu();
    const ownCpu = cpuSeconds() - own0;
    const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
    // CPUs kept busy by other processes while the rounds ran: the measurements' noise floor.
    const background = machine0 && machine1 ? Math.max(0, machine1.busy - machine0.busy - ownCpu) / wall : undefined;

    const memSeconds = memorySha256Seconds(stats.bytes);
    const mbps = (s: number) => stats.bytes / s / 1e6;
    const med = Object.fromEntries(rows.map((r) => [r.key, median(r.times)]));
    const medCpu = Object.fromEntries(rows.map((r) => [r.key, median(r.cpu)]));
    const ratio = (a: string, b: string) => (med[a] !== undefined && med[b] !== undefined ? med[b] / med[a] : undefined);
    const ratios: Record<string, number | undefined> = {
      hashPathVsRaw: ratio('hashPath', 'sha256Raw'),
      storeHashPathVsRaw: ratio('storeHashPath', 'sha256Raw'),
      storeHashPathVsNixHash: ratio('storeHashPath', 'nixHash'),
      nixHashVsRaw: ratio('nixHash', 'sha256Raw'),
      storeAddVsNixStoreAdd: ratio('storeAdd', 'nixStoreAdd'),
    };
    const relative: Record<string, [number | undefined, string]> = {
      hashPath: [ratios.hashPathVsRaw, 'of raw'],
      storeHashPath: [ratios.storeHashPathVsRaw, 'of raw'],
      nixHash: [ratios.nixHashVsRaw, 'of raw'],
      storeAdd: [ratios.storeAddVsNixStoreAdd, 'of nix-store --add'],
    };

    const cpus = os.cpus();
    const out: string[] = [];
    out.push(
      `tree: ${stats.files} files (${stats.small} small, ${stats.medium} medium, ${stats.large} large; ${stats.executables} executable), ` +
        `${stats.dirs} directories, ${stats.symlinks} symlinks`,
    );
    out.push(`      ${stats.bytes} bytes of content (${(stats.bytes / MiB).toFixed(0)} MiB); archive ${narSize} bytes, ${narHash}`);
    out.push(`node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model ?? '?'}); ${opts.runs} runs; MB/s = content bytes / wall time`);
    out.push(`sha256 of as many bytes already in memory: ${mbps(memSeconds).toFixed(0)} MB/s`);
    if (background !== undefined) out.push(`other processes kept ${background.toFixed(2)} of ${cpus.length} CPUs busy during the runs`);
    out.push('');
    out.push(`${''.padEnd(28)}${'MB/s: median'.padStart(13)}${'min'.padStart(7)}${'max'.padStart(7)}${'seconds'.padStart(9)}${'cpu s'.padStart(7)}`);
    for (const r of rows) {
      const [rel, what] = relative[r.key] ?? [undefined, ''];
      out.push(
        r.label.padEnd(28) +
          mbps(med[r.key]).toFixed(0).padStart(13) +
          mbps(Math.max(...r.times)).toFixed(0).padStart(7) +
          mbps(Math.min(...r.times)).toFixed(0).padStart(7) +
          med[r.key].toFixed(3).padStart(9) +
          medCpu[r.key].toFixed(2).padStart(7) +
          (rel !== undefined ? `   ${(rel * 100).toFixed(0).padStart(3)}% ${what}` : ''),
      );
    }
    if (ratios.storeHashPathVsNixHash !== undefined) out.push(`\nstore hash-path runs at ${(ratios.storeHashPathVsNixHash * 100).toFixed(0)}% of nix-hash's speed`);
    process.stdout.write(out.join('\n') + '\n');

    if (opts.json) {
      const json = {
        bench: 'hash',
        node: process.version,
        cpus: cpus.length,
        runs: opts.runs,
        seed: opts.seed,
        tree: { ...stats, narSize, narHash },
        sha256MemoryMBps: mbps(memSeconds),
        backgroundCpus: background,
        median: Object.fromEntries(rows.map((r) => [r.key, { seconds: med[r.key], MBps: mbps(med[r.key]), cpuSeconds: medCpu[r.key] }])),
        min: Object.fromEntries(rows.map((r) => [r.key, { MBps: mbps(Math.max(...r.times)) }])),
        max: Object.fromEntries(rows.map((r) => [r.key, { MBps: mbps(Math.min(...r.times)) }])),
        ratios,
      };
      process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    }
  } finally {
    cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`bench hash: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
