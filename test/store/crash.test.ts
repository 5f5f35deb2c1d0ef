import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { FIXTURES, runCli, tmpDir } from '../helpers.js';
import { hashPath } from '../../src/archive/dump.js';
import { makeStorePath, parseStorePath } from '../../src/store/path.js';
import { LocalStore } from '../../src/store/local-store.js';

const KILLS = 15;
const ADDER = path.join(FIXTURES, 'crash-adder.mjs');

/** A small seeded generator, so a failing run can be repeated with CRASH_SEED. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Start the adder, wait until it has opened the store, let it work for `ms`, then SIGKILL it. */
function runAndKill(root: string, srcDir: string, prefix: string, ms: number): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ADDER, root, srcDir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (timer === undefined && d.includes('ready')) timer = setTimeout(() => child.kill('SIGKILL'), ms);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

test(`a store survives ${KILLS} SIGKILLs of a process adding trees: valid paths are complete and correct`, async () => {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
  const random = rng(seed);
  const ctx = `(CRASH_SEED=${seed})`;
  const root = path.join(tmpDir('crash'), 'root');
  const srcDir = tmpDir('crash-src');
  for (let round = 0; round < KILLS; round++) {
    // Mostly early kills (5-150 ms); every third one later (0.15-1.5 s), so that adds are
    // committed, and interrupted mid-commit, however slow the machine is.
    const ms = round % 3 === 2 ? 150 + Math.floor(random() * 1350) : 5 + Math.floor(random() * 146);
    const res = await runAndKill(root, srcDir, `r${round}`, ms);
    assert.is(res.signal, 'SIGKILL', `round ${round} ${ctx}: the adder ended by itself (code ${res.code}): ${res.stderr}`);
    assert.is(res.stderr, '', `round ${round} ${ctx}`);
  }

  const storeDir = path.join(root, 'store');
  const store = new LocalStore(root);
  let valid: string[];
  try {
    valid = store.allValidPaths();
    assert.ok(valid.length > 0, `the adder registered nothing in ${KILLS} rounds ${ctx}`);
    // Every registered path is complete: its recorded hash is that of its (complete) source.
    for (const p of valid) {
      const { name } = parseStorePath(p, storeDir);
      const src = path.join(srcDir, name);
      assert.ok(fs.existsSync(src), `${p} has no complete source ${ctx}`);
      const nar = await hashPath(src);
      assert.is(p, makeStorePath('source', nar.digest.toString('hex'), storeDir, name), ctx);
      const info = store.pathInfo(p);
      assert.is(info.narHash, nar.narHash, `${p} ${ctx}`);
      assert.is(info.narSize, nar.narSize, `${p} ${ctx}`);
    }
  } finally {
    store.close();
  }
  const verify = runCli(['verify', '--check-contents', '--json'], { storeRoot: root });
  assert.is(verify.status, 0, `${verify.stdout}${verify.stderr} ${ctx}`);
  assert.equal(JSON.parse(verify.stdout), { ok: true, checked: valid.length, missing: [], modified: [] }, ctx);

  // Recovery: adding every complete source again succeeds, whatever the kills left behind
  // (temporaries, or unregistered objects at final names), and the store is still clean.
  const complete = fs.readdirSync(srcDir).filter((f) => !f.startsWith('.')).map((f) => path.join(srcDir, f));
  const again = runCli(['add', ...complete], { storeRoot: root });
  assert.is(again.status, 0, `${again.stderr} ${ctx}`);
  const after = runCli(['verify', '--check-contents', '--json'], { storeRoot: root });
  assert.is(after.status, 0, `${after.stdout}${after.stderr} ${ctx}`);
  assert.is(JSON.parse(after.stdout).checked, complete.length, ctx);
  for (const p of valid) assert.ok(again.stdout.includes(p), `${p} is still what its source adds to ${ctx}`);
});

test.run();
