/**
 * bench/startup: what a command costs when it has almost nothing to do — Node.js alone,
 * `store --version`, `store path-info PATH`, `store eval` of a one-derivation file (with the
 * evaluation cache and without it), and no-op realizes: the same small file, and
 * exprs/examples/laptop-analysis.ts with the evaluation cache and without it (--no-eval-cache). The laptop environment's outputs are not built:
 * stand-ins are registered at its output paths in a scratch store, which is all a no-op
 * realize looks at. The commands are run as an installed `store` runs, through bin/store.js's
 * `#!` line (which starts Node.js without NODE_EXTRA_CA_CERTS); where the environment sets
 * that variable, Node.js alone is timed with it too. Runs are interleaved; medians (and
 * minima) of wall time.
 *
 *   node bench/run.mjs startup [--runs 11] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, REPO, launcherEnv, median, rm } from './lib.js';
import { LocalStore } from '../src/store/local-store.js';
import { hashPath } from '../src/archive/dump.js';

interface Options {
  runs: number;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { runs: 11, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--json') o.json = true;
    else {
      process.stderr.write(`bench startup: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  return o;
}

/** Node.js with `args`; a command line starting with the CLI runs the CLI itself, through its `#!` line. */
function run(args: string[], env: NodeJS.ProcessEnv, cwd: string): { s: number; stdout: string } {
  const [cmd, argv] = args[0] === CLI ? [CLI, args.slice(1)] : [process.execPath, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env, cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}):\n${(r.stderr ?? '').slice(-2000)}`);
  return { s, stdout: r.stdout };
}

/**
 * Register a stand-in file at each output of `roots`, made by the root's .drv (as a build
 * registers it), so that a realize that asks for them has nothing to do.
 */
async function standIns(root: string, roots: Array<{ drvPath: string; outputs: Record<string, string> }>): Promise<void> {
  const store = new LocalStore(root);
  try {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-startup-'));
    const file = path.join(tmp, 'stand-in');
    fs.writeFileSync(file, 'a stand-in for a no-op realize\n');
    const nar = await hashPath(file);
    rm(tmp);
    for (const r of roots) {
      for (const p of Object.values(r.outputs)) {
        if (store.isValid(p)) continue;
        fs.writeFileSync(p, 'a stand-in for a no-op realize\n', { mode: 0o444 });
        store.registerValidPaths([{ path: p, narHash: nar.narHash, narSize: nar.narSize, references: [], deriver: r.drvPath }]);
      }
    }
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-startup-'));
  const log = (s: string) => process.stderr.write(s);
  try {
    const root = path.join(work, 'store');
    const env = launcherEnv({ ...process.env, STORE_ROOT: root });
    const withoutCa = { ...env };
    delete withoutCa.NODE_EXTRA_CA_CERTS;
    fs.writeFileSync(
      path.join(work, 'small.ts'),
      `import { derivation } from 'hepstore';\nexport default derivation({ name: 'small', builder: '/bin/sh', args: ['-c', 'echo small > $out'] });\n`,
    );
    const small = run([CLI, 'realize', 'small.ts', '--no-out-link', '--no-sandbox'], env, work).stdout.trim();
    const laptop = path.join(REPO, 'exprs', 'examples', 'laptop-analysis.ts');
    const roots = JSON.parse(run([CLI, 'eval', laptop, '--json'], env, work).stdout) as Array<{ drvPath: string; outputs: Record<string, string> }>;
    await standIns(root, roots);
    // The first realizes evaluate and keep their evaluations.
    run([CLI, 'realize', 'small.ts', '--no-out-link'], env, work);
    run([CLI, 'realize', laptop, '--no-out-link'], env, work);
    const cases: Array<[string, string[], NodeJS.ProcessEnv?]> = [
      ...(env.NODE_EXTRA_CA_CERTS ? [['node -e 0 (NODE_EXTRA_CA_CERTS)', ['-e', '0']] as [string, string[]]] : []),
      ['node -e 0', ['-e', '0'], withoutCa],
      ['store --version', [CLI, '--version']],
      ['store path-info', [CLI, 'path-info', small]],
      ['store eval (1 drv)', [CLI, 'eval', 'small.ts']],
      ['store eval (1 drv) --no-eval-cache', [CLI, 'eval', 'small.ts', '--no-eval-cache']],
      ['no-op realize (1 drv)', [CLI, 'realize', 'small.ts', '--no-out-link']],
      ['no-op realize laptop', [CLI, 'realize', laptop, '--no-out-link']],
      ['no-op realize laptop --no-eval-cache', [CLI, 'realize', laptop, '--no-out-link', '--no-eval-cache']],
    ];
    const times = new Map<string, number[]>(cases.map(([n]) => [n, []]));
    for (let r = 0; r < o.runs; r++) {
      for (const [name, args, e] of cases) times.get(name)!.push(run(args, e ?? env, work).s);
      log(`run ${r + 1}/${o.runs}\n`);
    }
    const ms = (x: number) => (x * 1000).toFixed(1).padStart(8);
    const out = [`startup: medians (min) of ${o.runs} interleaved runs, wall ms`];
    for (const [name] of cases) {
      const t = times.get(name)!;
      out.push(`${name.padEnd(38)} ${ms(median(t))}  (${ms(Math.min(...t)).trim()})`);
    }
    process.stdout.write(out.join('\n') + '\n');
    if (o.json) process.stdout.write(JSON.stringify(Object.fromEntries([...times].map(([k, v]) => [k.trim(), median(v)]))) + '\n');
  } finally {
    rm(work);
  }
}

await main();
