import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCliAsync, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';

// Each build gets a marker of its own, to find any process left behind.
const marker = () => `${Date.now() % 100000}.${Math.floor(Math.random() * 1000)}`;

function expr(sleepFor: string) {
  return `import { derivation, host } from 'hepstore';
const sleep = host.tool('sleep');
// Runs far longer than any limit given below.
export const sleeper = derivation({ name: 'sleeper', builder: '/bin/sh', args: ['-c', \`echo started; \${sleep} ${sleepFor}; echo done > $out\`] });
// Talks every 0.2 s for 2 s, then falls silent for long.
export const chatty = derivation({ name: 'chatty', builder: '/bin/sh', args: ['-c', \`i=0; while [ $i -lt 10 ]; do echo tick-$i; \${sleep} 0.2; i=$((i+1)); done; \${sleep} ${sleepFor}; echo > $out\`] });
// Talks every 0.2 s for 2 s, then finishes.
export const talker = derivation({ name: 'talker', builder: '/bin/sh', args: ['-c', \`i=0; while [ $i -lt 10 ]; do echo tick-$i; \${sleep} 0.2; i=$((i+1)); done; echo ok > $out\`] });
`;
}

function setup(sleepFor: string) {
  const dir = writeTree(tmpDir('timeout'), { 'env.ts': expr(sleepFor) });
  return { dir, root: path.join(tmpDir('timeout-store'), 'root') };
}

/** Processes whose command line has `sleep MARKER`, from /proc. */
function running(m: string): string {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (cmd.includes(`sleep ${m}`)) found.push(`${pid}: ${cmd}`);
  }
  return found.join('\n');
}

function validCount(root: string): number {
  const s = new LocalStore(root);
  try {
    return s.allValidPaths().filter((p) => !p.endsWith('.drv')).length;
  } finally {
    s.close();
  }
}

test('realize --timeout stops a build that runs too long: exit 101, the log tail, no process left, no output', async () => {
  const m = marker();
  const e = setup(m);
  const t0 = Date.now();
  const r = await runCliAsync(['realize', 'env.ts', '-A', 'sleeper', '--no-out-link', '--timeout', '1'], { storeRoot: e.root, cwd: e.dir });
  const took = Date.now() - t0;
  assert.ok(took >= 1000, `took ${took} ms`);
  assert.is(r.status, 101, r.stderr);
  assert.match(r.stderr, /error: builder for '.*-sleeper\.drv' \(defined at .*env\.ts:\d+\) timed out after 1 second\n/);
  assert.match(r.stderr, '  > started');
  assert.match(r.stderr, 'hint: give it longer with --timeout SECONDS');
  assert.ok(took < 15000, `took ${took} ms`);
  assert.is(running(m), '', 'the builder was stopped');
  assert.is(validCount(e.root), 0);
});

test('realize --max-silent-time stops a build that prints nothing for that long, and not one that keeps talking', async () => {
  const m = marker();
  const e = setup(m);
  const quiet = await runCliAsync(['realize', 'env.ts', '-A', 'chatty', '--no-out-link', '--max-silent-time', '1'], { storeRoot: e.root, cwd: e.dir });
  assert.is(quiet.status, 101, quiet.stderr);
  assert.match(quiet.stderr, /timed out after 1 second of silence\n/);
  // It talked for 2 s, longer than the limit: only the silence stopped it.
  assert.match(quiet.stderr, '  > tick-9');
  assert.is(running(m), '');
  const talks = await runCliAsync(['realize', 'env.ts', '-A', 'talker', '--no-out-link', '--max-silent-time', '1', '--timeout', '60'], { storeRoot: e.root, cwd: e.dir });
  assert.is(talks.status, 0, talks.stderr);
  assert.is(fs.readFileSync(talks.stdout.trim(), 'utf8'), 'ok\n');
});

test('--timeout and --max-silent-time take seconds, else buildTimeout and maxSilentTime of etc/hepstore.json; 0 is no limit', async () => {
  const e = setup('3');
  const bad = await runCliAsync(['realize', 'env.ts', '-A', 'sleeper', '--timeout', '1m'], { storeRoot: e.root, cwd: e.dir });
  assert.is(bad.status, 1);
  assert.is(bad.stderr, "error: --timeout takes a number of seconds (got '1m')\n");
  fs.mkdirSync(path.join(e.root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(e.root, 'etc', 'hepstore.json'), JSON.stringify({ buildTimeout: 1, maxSilentTime: 'soon' }));
  const badConfig = await runCliAsync(['realize', 'env.ts', '-A', 'sleeper'], { storeRoot: e.root, cwd: e.dir });
  assert.is(badConfig.status, 1);
  assert.match(badConfig.stderr, /^error: "maxSilentTime" in .*hepstore\.json takes a number of seconds \(got 'soon'\)\n$/);
  fs.writeFileSync(path.join(e.root, 'etc', 'hepstore.json'), JSON.stringify({ buildTimeout: 1 }));
  const configured = await runCliAsync(['realize', 'env.ts', '-A', 'sleeper', '--no-out-link'], { storeRoot: e.root, cwd: e.dir });
  assert.is(configured.status, 101, configured.stderr);
  assert.match(configured.stderr, 'timed out after 1 second\n');
  const none = await runCliAsync(['realize', 'env.ts', '-A', 'sleeper', '--no-out-link', '--timeout', '0', '--max-silent-time', '0'], { storeRoot: e.root, cwd: e.dir });
  assert.is(none.status, 0, none.stderr);
  assert.is(fs.readFileSync(none.stdout.trim(), 'utf8'), 'done\n');
});

test.run();
