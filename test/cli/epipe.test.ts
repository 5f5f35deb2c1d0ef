import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, runCli, tmpDir, writeTree } from '../helpers.js';

// Enough output to fill a pipe (64 KiB) many times over, so that the reader is gone long
// before the command is done writing.
const MANY = `import { derivation } from 'hepstore';
export default Array.from({ length: 3000 }, (_, i) => derivation({ name: \`node-\${i}\`, builder: '/bin/sh', args: ['-c', \`echo \${i} > $out\`] }));
`;

// One output that refers to 600 store files: its closure is long.
const WIDE = `import { derivation, writeText } from 'hepstore';
const texts = Array.from({ length: 600 }, (_, i) => writeText(\`part-\${i}.txt\`, \`part \${i}\\n\`));
export default derivation({ name: 'wide', builder: '/bin/sh', args: ['-c', 'echo "$parts" > $out'], env: { parts: texts } });
`;

/** Run `store ARGS | head -1` in a shell; the store's own exit status comes back on stderr. */
function intoHead(args: string[], root: string, cwd: string): { first: string; stderr: string; status: number | undefined } {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('sh', ['-c', `(${quoted}; echo "store-exit=$?" >&2) | head -1`], { cwd, env: { ...process.env, STORE_ROOT: root }, encoding: 'utf8' });
  const m = /store-exit=(\d+)/.exec(r.stderr);
  return { first: r.stdout, stderr: r.stderr.replace(/store-exit=\d+\n?/, ''), status: m ? Number(m[1]) : undefined };
}

function quiet(stderr: string): void {
  assert.not.match(stderr, /EPIPE/, stderr);
  assert.not.match(stderr, /\n\s+at /, 'no stack trace');
  assert.not.match(stderr, /error/i, stderr);
}

test('store eval | head -1: one line, then the command ends quietly (the status of a broken pipe)', () => {
  const dir = writeTree(tmpDir('epipe'), { 'many.ts': MANY });
  const root = path.join(tmpDir('epipe-store'), 'root');
  const r = intoHead(['eval', 'many.ts'], root, dir);
  assert.match(r.first, /^0\t\S+-node-0\.drv\t\S+-node-0\n$/);
  quiet(r.stderr);
  assert.is(r.status, 141);
  // --json too, and the whole output is there when nothing cuts it short.
  const j = intoHead(['eval', 'many.ts', '--json'], root, dir);
  quiet(j.stderr);
  assert.is(j.status, 141);
  const all = runCli(['eval', 'many.ts'], { storeRoot: root, cwd: dir });
  assert.is(all.status, 0, all.stderr);
  assert.is(all.stdout.split('\n').filter(Boolean).length, 3000);
});

test('store path-info -r | head -1 on a long closure ends quietly', () => {
  const dir = writeTree(tmpDir('epipe-pi'), { 'wide.ts': WIDE });
  const root = path.join(tmpDir('epipe-pi-store'), 'root');
  const built = runCli(['realize', 'wide.ts'], { storeRoot: root, cwd: dir });
  assert.is(built.status, 0, built.stderr);
  const full = runCli(['path-info', '-r', 'result'], { storeRoot: root, cwd: dir });
  assert.is(full.status, 0, full.stderr);
  assert.ok(full.stdout.length > 4 * 65536, `the output (${full.stdout.length} bytes) is longer than a pipe holds`);
  for (const args of [['path-info', '-r', 'result'], ['path-info', '-r', 'result', '--json']]) {
    const r = intoHead(args, root, dir);
    assert.is(r.first.split('\n').length, 2, r.first);
    quiet(r.stderr);
    assert.is(r.status, 141, args.join(' '));
  }
});

test.run();
