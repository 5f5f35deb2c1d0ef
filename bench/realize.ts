/**
 * bench/realize: DAGs of trivial derivations (each depends on up to 3 earlier ones and writes
 * a small file). Times a cold realize at -j N and a no-op realize — with the evaluation cache
 * and without it (--no-eval-cache), interleaved — and, where nix-build is installed, the same
 * graph through Nix (sandbox off, no substituters) with the ratio.
 *
 *   node bench/run.mjs realize [--nodes 1000,10000] [--runs 3] [--nix-runs N] [-j 2] [--sandbox] [--no-nix] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { CLI, REPO, has, median, nixEnv, prng, rm } from './lib.js';


interface Options {
  nodes: number[];
  runs: number;
  nixRuns?: number;
  jobs: number;
  sandbox: boolean;
  nix: boolean;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { nodes: [1000, 10000], runs: 3, jobs: 2, sandbox: false, nix: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i] ?? '';
    if (a === '--nodes') o.nodes = val().split(',').map(Number);
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--nix-runs') o.nixRuns = Number(val());
    else if (a === '-j' || a === '--jobs') o.jobs = Number(val());
    else if (a === '--sandbox') o.sandbox = true;
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
  tool: string;
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
  for (const n of o.nodes) {
    const deps = graph(n);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `bench-realize-${n}-`));
    try {
      const expr = writeExpression(work, deps);
      const ours: Row = { nodes: n, tool: `hepstore${o.sandbox ? ' (sandbox)' : ''}`, cold: [], noop: [], noopEval: [] };
      for (let r = 0; r < o.runs; r++) {
        const root = path.join(work, `store-${r}`);
        const env = { ...process.env, STORE_ROOT: root };
        const args = [CLI, 'realize', expr, '--no-out-link', '-j', String(o.jobs), ...(o.sandbox ? [] : ['--no-sandbox'])];
        ours.cold.push(timed(process.execPath, args, env, work));
        for (let k = 0; k < 3; k++) {
          ours.noop.push(timed(process.execPath, args, env, work));
          ours.noopEval!.push(timed(process.execPath, [...args, '--no-eval-cache'], env, work));
        }
        log(`hepstore ${n}: run ${r + 1}/${o.runs} cold ${ours.cold.at(-1)!.toFixed(2)} s\n`);
        rm(root);
      }
      rows.push(ours);
      if (nix) {
        const nixExpr = writeNixExpression(work, deps);
        const row: Row = { nodes: n, tool: 'nix-build', cold: [], noop: [] };
        const runs = o.nixRuns ?? (n >= 10000 ? 1 : o.runs);
        for (let r = 0; r < runs; r++) {
          const dir = path.join(work, `nix-${r}`);
          const env = nixEnv(dir);
          const args = [nixExpr, '--no-out-link', '-j', String(o.jobs), '--quiet'];
          row.cold.push(timed('nix-build', args, env, work));
          for (let k = 0; k < 3; k++) row.noop.push(timed('nix-build', args, env, work));
          log(`nix-build ${n}: run ${r + 1}/${runs} cold ${row.cold.at(-1)!.toFixed(2)} s\n`);
          rm(dir);
        }
        rows.push(row);
      }
    } finally {
      rm(work);
    }
  }
  const fmt = (x: number) => x.toFixed(3).padStart(9);
  const out = [
    `realize: DAG of trivial derivations, -j ${o.jobs}; medians (min-max) in seconds; no-op: with the evaluation cache, and evaluating (--no-eval-cache)`,
    `${'nodes'.padStart(6)}  ${'tool'.padEnd(20)} ${'cold'.padStart(9)} ${'no-op'.padStart(9)} ${'no-op eval'.padStart(10)}   runs`,
  ];
  for (const r of rows) {
    const noopEval = r.noopEval?.length ? fmt(median(r.noopEval)).padStart(10) : '-'.padStart(10);
    out.push(`${String(r.nodes).padStart(6)}  ${r.tool.padEnd(20)} ${fmt(median(r.cold))} ${fmt(median(r.noop))} ${noopEval}   ${r.cold.length} cold, ${r.noop.length} no-op  (cold ${Math.min(...r.cold).toFixed(2)}-${Math.max(...r.cold).toFixed(2)})`);
  }
  for (const n of o.nodes) {
    const a = rows.find((r) => r.nodes === n && r.tool.startsWith('hepstore'));
    const b = rows.find((r) => r.nodes === n && r.tool === 'nix-build');
    if (a && b) out.push(`${String(n).padStart(6)}  nix/hepstore ratio: cold ${(median(b.cold) / median(a.cold)).toFixed(2)}x, no-op ${(median(b.noop) / median(a.noop)).toFixed(2)}x`);
  }
  const ours = rows.filter((r) => r.tool.startsWith('hepstore'));
  if (ours.length >= 2) {
    const [s, l] = [ours[0], ours[ours.length - 1]];
    out.push(`scaling: ${l.nodes / s.nodes}x the nodes took ${(median(l.cold) / median(s.cold)).toFixed(2)}x the cold time`);
  }
  process.stdout.write(out.join('\n') + '\n');
  if (o.json) process.stdout.write(JSON.stringify(rows.map((r) => ({ nodes: r.nodes, tool: r.tool, cold: median(r.cold), noop: median(r.noop), ...(r.noopEval?.length ? { noopEval: median(r.noopEval) } : {}), runs: r.cold.length }))) + '\n');
}

main();
