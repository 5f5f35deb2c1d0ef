/**
 * Evaluations that would never end: an export that never settles is an error at once (naming
 * the file and the attribute), and one that runs past the time limit is an error naming the
 * file — whether it waits or loops. Every command here is killed if it runs past SAFETY_MS.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, tmpDir, writeTree } from '../helpers.js';

const SAFETY_MS = 30_000;

const FILES = {
  'never.ts': 'export default new Promise(() => {});\n',
  'beside.ts': `import { derivation } from 'hepstore';
export const good = derivation({ name: 'good', builder: '/bin/sh', args: ['-c', 'echo good > $out'] });
export const stuck = new Promise(() => {});
export default { good, stuck };
`,
  'tla.ts': "await new Promise(() => {});\nexport default 'unreached';\n",
  'waits.ts': `import { derivation } from 'hepstore';
export default new Promise((resolve) => setTimeout(() => resolve(derivation({ name: 'late', builder: '/bin/sh', args: ['-c', 'echo > $out'] })), 600_000));
`,
  'loops.ts': 'let i = 0;\nwhile (i >= 0) i = (i + 1) % 1000;\nexport default i;\n',
};

function setup(): { dir: string; root: string } {
  const dir = tmpDir('eval-limits');
  writeTree(dir, FILES);
  return { dir, root: path.join(tmpDir('eval-limits-store'), 'root') };
}

function run(env: { dir: string; root: string }, args: string[]) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: env.dir, env: { ...process.env, STORE_ROOT: env.root }, encoding: 'utf8', timeout: SAFETY_MS, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

function fails(r: ReturnType<typeof run>, pattern: RegExp): void {
  assert.is(r.status, 1, `exit status (stderr: ${r.stderr})`);
  assert.is(r.stdout, '');
  assert.match(r.stderr, pattern, r.stderr);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
}

test('a default export that never settles: eval and realize exit 1 naming the file and attribute', () => {
  const env = setup();
  const file = path.join(env.dir, 'never.ts');
  fails(run(env, ['eval', 'never.ts']), new RegExp(`^error: ${file}: attribute 'default' never settles`));
  fails(run(env, ['realize', 'never.ts']), new RegExp(`^error: ${file}: attribute 'default' never settles`));
});

test('beside a normal derivation: the attribute that never settles is named; the other still evaluates alone', () => {
  const env = setup();
  const file = path.join(env.dir, 'beside.ts');
  fails(run(env, ['realize', 'beside.ts', '--no-out-link']), new RegExp(`^error: ${file}: attribute 'default.stuck' never settles`));
  fails(run(env, ['eval', 'beside.ts', '--attr', 'stuck']), new RegExp(`^error: ${file}: attribute 'stuck' never settles`));
  const good = run(env, ['eval', 'beside.ts', '--attr', 'good']);
  assert.is(good.status, 0, good.stderr);
  assert.match(good.stdout, /-good\.drv\t/);
  assert.not.ok(fs.existsSync(path.join(env.dir, 'result')));
});

test('a top-level await that never settles names the file', () => {
  const env = setup();
  fails(run(env, ['eval', 'tla.ts']), new RegExp(`^error: ${path.join(env.dir, 'tla.ts')}: the module never finishes loading: a top-level await`));
});

test('an evaluation that waits past --eval-timeout is an error naming the file', () => {
  const env = setup();
  const r = run(env, ['realize', 'waits.ts', '--eval-timeout', '1']);
  fails(r, new RegExp(`^error: ${path.join(env.dir, 'waits.ts')}: evaluation took longer than 1 s`));
  assert.match(r.stderr, /\nhint: .*evalTimeout/);
  assert.ok(r.ms < 60_000, `${r.ms} ms (stopped by the 1 s limit, not the default 300 s one)`);
});

test('an evaluation stuck in a loop is stopped at evalTimeout of the configuration', () => {
  const env = setup();
  fs.mkdirSync(path.join(env.root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(env.root, 'etc', 'hepstore.json'), JSON.stringify({ evalTimeout: 1 }));
  for (const cmd of ['eval', 'realize']) {
    const r = run(env, [cmd, 'loops.ts']);
    fails(r, new RegExp(`^error: ${path.join(env.dir, 'loops.ts')}: evaluation took longer than 1 s`));
    assert.ok(r.ms < 60_000, `${r.ms} ms (stopped by the 1 s limit, not the default 300 s one)`);
  }
});

test('a malformed limit is a usage error', () => {
  const env = setup();
  fails(run(env, ['eval', 'beside.ts', '--attr', 'good', '--eval-timeout', 'soon']), /--eval-timeout must be a positive number of seconds/);
});

test.run();
