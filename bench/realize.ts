/**
 * bench/realize: DAGs of trivial derivations (each depends on up to 3 earlier ones and writes
 * a small file). Times a cold realize at -j N and a no-op realize — with the evaluation cache
 * and without it (--no-eval-cache) — and, where nix-build is installed, the same graph through
 * Nix (no substituters), each with its sandbox on and off (Nix's with `sandbox-paths` holding
 * /bin/sh and its libraries, as hepstore's default), all four interleaved round by round;
 * prints the medians and Nix's time over hepstore's for each.
 *
 *   node bench/run.mjs realize [--nodes 1000,10000] [--runs 3] [--nix-runs N] [-j 2] [--sandbox on|off|both] [--no-nix] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { CLI, has, launcherEnv, median, nixEnv, prng, rm } from './lib.js';


interface Options {
  nodes: number[];
  runs: number;
  nixRuns?: number;
  jobs: number;
  sandbox: boolean[];
  nix: boolean;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { nodes: [1000, 10000], runs: 3, jobs: 2, sandbox: [true, false], nix: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i] ?? '';
    if (a === '--nodes') o.nodes = val().split(',').map(Number);
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--nix-runs') o.nixRuns = Number(val());
    else if (a === '-j' || a === '--jobs') o.jobs = Number(val());
    else if (a === '--sandbox') {
      const v = argv[i + 1] === 'on' || argv[i + 1] === 'off' || argv[i + 1] === 'both' ? val() : 'on';
      o.sandbox = v === 'both' ? [true, false] : [v === 'on'];
    }
    else if (a === '--no-nix') o.nix = false;
    else if (a === '--json') o.json = true;
    else {
      process.stderr.write(`bench realize: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  return o;
}

/** A small deterministic PRNG (mulberry32), so every run builds the same graph. */

function graph(n: number, seed = 42): number[][] {
  const rand = prng(seed);
  const deps: number[][] = [];
  for (let i = 0; i < n; i++) {
    const k = i === 0 ? 0 : Math.floor(rand() * 4);
    const d = new Set<number>();
    for (let j = 0; j < k; j++) d.add(Math.floor(rand() * i));
    deps.push([...d].sort((x, y) => x - y));
  }
  return deps;
}

function writeExpression(dir: string, deps: number[][]): string {
  const file = path.join(dir, 'dag.ts');
  fs.writeFileSync(
    file,
    `import { derivation, type Drv } from 'hepstore';
const deps: number[][] = ${JSON.stringify(deps)};
const nodes: Drv[] = [];
for (let i = 0; i < deps.length; i++) {
  const inputs = deps[i].map((d) => \`\${nodes[d]}\`).join(' ');
  nodes.push(derivation({ name: \`node-\${i}\`, builder: '/bin/sh', args: ['-c', \`echo \${i} \${inputs} > $out\`] }));
}
export default nodes;
`,
  );
  return file;
}

function writeNixExpression(dir: string, deps: number[][]): string {
  const file = path.join(dir, 'dag.nix');
  const lines = ['let'];
  deps.forEach((d, i) => {
    const inputs = d.map((x) => `\${n${x}}`).join(' ');
    lines.push(`  n${i} = derivation { name = "node-${i}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo ${i} ${inputs} > $out" ]; };`);
  });
  lines.push(`in [ ${deps.map((_, i) => `n${i}`).join(' ')} ]`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}


function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 256 << 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return s;
}




interface Row {
  nodes: number;
  tool: 'hepstore' | 'nix-build';
  sandbox: boolean;
  cold: number[];
  noop: number[];
  /** hepstore's no-op with --no-eval-cache (evaluating the file). */
  noopEval?: number[];
}

function main(): void {
  const o = parse(process.argv.slice(2));
  const nix = o.nix && has('nix-build');
  const rows: Row[] = [];
  const log = (s: string) => process.stderr.write(s);
  if (o.nix && !nix) log('nix-build not found: Nix columns skipped (Debian package nix-bin)\n');
  const label = (r: { tool: string; sandbox: boolean }) => `${r.tool} (sandbox ${r.sandbox ? 'on' : 'off'})`;
  for (const n of o.nodes) {
    const deps = graph(n);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `bench-realize-${n}-`));
    try {
      const expr = writeExpression(work, deps);
      const nixExpr = writeNixExpression(work, deps);
      const mine: Row[] = [];
      for (const sandbox of o.sandbox) {
        mine.push({ nodes: n, tool: 'hepstore', sandbox, cold: [], noop: [], noopEval: [] });
        if (nix) mine.push({ nodes: n, tool: 'nix-build', sandbox, cold: [], noop: [] });
      }
      const nixRuns = o.nixRuns ?? (n >= 10000 ? 1 : o.runs);
      // Round by round, every configuration once, so that the machine's load falls on all alike.
      for (let r = 0; r < o.runs; r++) {
        for (const row of mine) {
          if (row.tool === 'hepstore') {
            const root = path.join(work, `store-${r}`);
            // The CLI as an installed `store` runs, through its #! line.
            const env = launcherEnv({ ...process.env, STORE_ROOT: root });
            const args = ['realize', expr, '--no-out-link', '-j', String(o.jobs), ...(row.sandbox ? [] : ['--no-sandbox'])];
            row.cold.push(timed(CLI, args, env, work));
            for (let k = 0; k < 3; k++) {
              row.noop.push(timed(CLI, args, env, work));
              row.noopEval!.push(timed(CLI, [...args, '--no-eval-cache'], env, work));
            }
            rm(root);
          } else {
            if (r >= nixRuns) continue;
            const dir = path.join(work, `nix-${r}`);
            const env = nixEnv(dir, '', row.sandbox);
            const args = [nixExpr, '--no-out-link', '-j', String(o.jobs), '--quiet'];
            row.cold.push(timed('nix-build', args, env, work));
            for (let k = 0; k < 3; k++) row.noop.push(timed('nix-build', args, env, work));
            rm(dir);
          }
          log(`${n} nodes, round ${r + 1}/${o.runs}: ${label(row)} cold ${row.cold.at(-1)!.toFixed(2)} s\n`);
        }
      }
      rows.push(...mine);
    } finally {
      rm(work);
    }
  }
  const fmt = (x: number) => x.toFixed(3).padStart(9);
  const out = [
    `realize: DAG of trivial derivations, -j ${o.jobs}; medians (min-max) in seconds; no-op: with the evaluation cache, and evaluating (--no-eval-cache)`,
    `${'nodes'.padStart(6)}  ${'tool'.padEnd(26)} ${'cold'.padStart(9)} ${'no-op'.padStart(9)} ${'no-op eval'.padStart(10)}   runs`,
  ];
  for (const r of rows) {
    const noopEval = r.noopEval?.length ? fmt(median(r.noopEval)).padStart(10) : '-'.padStart(10);
    out.push(`${String(r.nodes).padStart(6)}  ${label(r).padEnd(26)} ${fmt(median(r.cold))} ${fmt(median(r.noop))} ${noopEval}   ${r.cold.length} cold, ${r.noop.length} no-op  (cold ${Math.min(...r.cold).toFixed(2)}-${Math.max(...r.cold).toFixed(2)})`);
  }
  for (const n of o.nodes) {
    for (const sandbox of o.sandbox) {
      const a = rows.find((r) => r.nodes === n && r.tool === 'hepstore' && r.sandbox === sandbox);
      const b = rows.find((r) => r.nodes === n && r.tool === 'nix-build' && r.sandbox === sandbox);
      if (a && b) out.push(`${String(n).padStart(6)}  sandbox ${sandbox ? 'on ' : 'off'}: hepstore/nix time ${(median(a.cold) / median(b.cold)).toFixed(2)} cold (nix ${(median(b.cold) / median(a.cold)).toFixed(2)}x slower), no-op ${(median(a.noop) / median(b.noop)).toFixed(2)} (nix ${(median(b.noop) / median(a.noop)).toFixed(2)}x slower)`);
    }
  }
  for (const sandbox of o.sandbox) {
    const ours = rows.filter((r) => r.tool === 'hepstore' && r.sandbox === sandbox);
    if (ours.length >= 2) {
      const [s, l] = [ours[0], ours[ours.length - 1]];
      out.push(`scaling (sandbox ${sandbox ? 'on' : 'off'}): ${l.nodes / s.nodes}x the nodes took ${(median(l.cold) / median(s.cold)).toFixed(2)}x the cold time`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
  if (o.json) process.stdout.write(JSON.stringify(rows.map((r) => ({ nodes: r.nodes, tool: r.tool, sandbox: r.sandbox, cold: median(r.cold), noop: median(r.noop), ...(r.noopEval?.length ? { noopEval: median(r.noopEval) } : {}), runs: r.cold.length }))) + '\n');
}

main();
