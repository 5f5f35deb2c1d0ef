import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCliAsync, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { findBwrap } from '../../src/realize/sandbox.js';
import { databaseOf } from '../../src/store/db.js';

/**
 * 20 derivations: s0…s9 shared by both attributes (s_i depends on s_(i-1)/2), a0…a4 only in
 * `a`, b0…b4 only in `b`. Every builder appends its name to a counter file outside the store
 * (possible only with --no-sandbox) and sleeps a little, so that two processes really overlap.
 */
const OVERLAP = (counter: string | undefined) => `import { derivation, host } from 'hepstore';
const sleep = host.tool('sleep');
const mk = (name: string, deps: unknown[]) => derivation({
  name,
  builder: '/bin/sh',
  args: ['-c', \`${counter ? `echo \${name} >> ${counter}; ` : ''}\${sleep} 0.1; echo "\${name} \${deps.join(' ')}" > $out\`],
});
const s: unknown[] = [];
for (let i = 0; i < 10; i++) s.push(mk(\`s\${i}\`, i === 0 ? [] : [s[(i - 1) >> 1]]));
const only = (p: string) => Array.from({ length: 5 }, (_, i) => mk(\`\${p}\${i}\`, [s[9 - i]]));
export const a = [...s, ...only('a')];
export const b = [...only('b'), ...[...s].reverse()];
`;

function validOutputs(root: string): string[] {
  const store = new LocalStore(root);
  try {
    return store.allValidPaths().filter((p) => !p.endsWith('.drv'));
  } finally {
    store.close();
  }
}

test('two realize processes on overlapping graphs: both succeed, each shared output is built once', async () => {
  const counter = path.join(tmpDir('conc-counter'), 'runs');
  const dir = writeTree(tmpDir('conc'), { 'default.ts': OVERLAP(counter) });
  const root = path.join(tmpDir('conc-store'), 'root');
  const opts = { storeRoot: root, cwd: dir };
  const [ra, rb] = await Promise.all([
    runCliAsync(['realize', 'default.ts', '-A', 'a', '--no-sandbox', '--no-out-link', '-j', '3'], opts),
    runCliAsync(['realize', 'default.ts', '-A', 'b', '--no-sandbox', '--no-out-link', '-j', '3'], opts),
  ]);
  assert.is(ra.status, 0, ra.stderr);
  assert.is(rb.status, 0, rb.stderr);
  const runs = fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).sort();
  const names = [...Array.from({ length: 10 }, (_, i) => `s${i}`), ...Array.from({ length: 5 }, (_, i) => `a${i}`), ...Array.from({ length: 5 }, (_, i) => `b${i}`)].sort();
  assert.equal(runs, names, 'every derivation was built exactly once');
  // Both printed the same paths for the shared derivations.
  const outA = ra.stdout.trim().split('\n');
  const outB = rb.stdout.trim().split('\n');
  assert.is(outA.length, 15);
  assert.is(outB.length, 15);
  const sharedA = outA.slice(0, 10);
  const sharedB = outB.slice(5).reverse();
  assert.equal(sharedA, sharedB);
  for (const [i, p] of sharedA.entries()) assert.match(p, new RegExp(`-s${i}$`));
  assert.equal(validOutputs(root).sort(), [...new Set([...outA, ...outB])].sort());
  for (const p of sharedA) assert.match(fs.readFileSync(p, 'utf8'), /^s\d/);
  // Nothing was left behind: no build directories, no locks.
  assert.equal(fs.readdirSync(path.join(root, 'var', 'builds')), []);
  const store = new LocalStore(root);
  try {
    assert.is((databaseOf(store).prepare('SELECT count(*) AS n FROM PathLocks').get() as { n: number }).n, 0);
  } finally {
    store.close();
  }
});

(findBwrap() ? test : test.skip)('the same in the sandbox: both succeed and agree', async () => {
  const dir = writeTree(tmpDir('conc-sb'), { 'default.ts': OVERLAP(undefined) });
  const root = path.join(tmpDir('conc-sb-store'), 'root');
  const opts = { storeRoot: root, cwd: dir };
  const [ra, rb] = await Promise.all([
    runCliAsync(['realize', 'default.ts', '-A', 'a', '--no-out-link', '-j', '3'], opts),
    runCliAsync(['realize', 'default.ts', '-A', 'b', '--no-out-link', '-j', '3'], opts),
  ]);
  assert.is(ra.status, 0, ra.stderr);
  assert.is(rb.status, 0, rb.stderr);
  assert.equal(ra.stdout.trim().split('\n').slice(0, 10), rb.stdout.trim().split('\n').slice(5).reverse());
  assert.is(validOutputs(root).length, 20);
  // 20 logs: one per derivation, whichever process built it.
  assert.is(fs.readdirSync(path.join(root, 'var', 'log')).length, 20);
});

/**
 * Six independent leaves and a top that uses them. Each leaf marks itself running, counts the
 * marks (how many builds are running at that moment), sleeps, and unmarks itself.
 */
const WIDE = (marks: string) => `import { derivation, host } from 'hepstore';
const sleep = host.tool('sleep');
const rm = host.tool('rm');
const leaf = (i: number) => derivation({
  name: \`leaf\${i}\`,
  builder: '/bin/sh',
  args: ['-c', \`: > ${marks}/run.\${i}; set -- ${marks}/run.*; echo $# >> ${marks}/seen; \${sleep} 0.3; \${rm} ${marks}/run.\${i}; echo \${i} > $out\`],
});
const leaves = Array.from({ length: 6 }, (_, i) => leaf(i));
export default derivation({ name: 'top', builder: '/bin/sh', args: ['-c', \`echo \${leaves.join(' ')} > $out\`] });
`;

async function maxConcurrency(jobs: number): Promise<{ max: number; seen: number[] }> {
  const marks = tmpDir('wide-marks');
  const dir = writeTree(tmpDir('wide'), { 'default.ts': WIDE(marks) });
  const root = path.join(tmpDir('wide-store'), 'root');
  const r = await runCliAsync(['realize', 'default.ts', '--no-sandbox', '--no-out-link', '-j', String(jobs)], { storeRoot: root, cwd: dir });
  assert.is(r.status, 0, r.stderr);
  const seen = fs.readFileSync(path.join(marks, 'seen'), 'utf8').split('\n').filter(Boolean).map(Number);
  assert.is(seen.length, 6, 'every leaf ran once');
  assert.equal(fs.readdirSync(marks).sort(), ['seen'], 'every leaf cleaned up its mark');
  return { max: Math.max(...seen), seen };
}

test('-j3 runs independent builds at the same time, never more than 3', async () => {
  const { max, seen } = await maxConcurrency(3);
  assert.ok(max >= 2, `builds overlapped (saw ${seen})`);
  assert.ok(max <= 3, `at most 3 at once (saw ${seen})`);
});

test('-j1 runs one build at a time', async () => {
  const { max, seen } = await maxConcurrency(1);
  assert.is(max, 1, `saw ${seen}`);
});

/**
 * Three independent slow builds. With -j1 a process takes the output locks of the build it runs
 * and of at most one that waits for its slot; the third stays unlocked, so a second process on
 * the same store builds it meanwhile instead of waiting for the first to get to it.
 */
const SLOW = (counter: string) => `import { derivation, host } from 'hepstore';
const sleep = host.tool('sleep');
export default Array.from({ length: 3 }, (_, i) => derivation({
  name: \`slow\${i}\`,
  builder: '/bin/sh',
  args: ['-c', \`echo slow\${i} >> ${counter}; \${sleep} 4; echo \${i} > $out\`],
}));
`;

test('a build waiting for a slot holds no lock: a second process builds it meanwhile', async () => {
  const counter = path.join(tmpDir('slot-counter'), 'runs');
  const dir = writeTree(tmpDir('slot'), { 'default.ts': SLOW(counter) });
  const root = path.join(tmpDir('slot-store'), 'root');
  const opts = { storeRoot: root, cwd: dir };
  const a = runCliAsync(['realize', 'default.ts', '--no-sandbox', '--no-out-link', '-j', '1', '--json'], opts);
  // B starts once A's first build runs.
  for (let i = 0; i < 600 && !fs.existsSync(counter); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(fs.existsSync(counter), 'the first process started a build');
  const rb = await runCliAsync(['realize', 'default.ts', '--no-sandbox', '--no-out-link', '-j', '1', '--json'], opts);
  const ra = await a;
  assert.is(ra.status, 0, ra.stderr);
  assert.is(rb.status, 0, rb.stderr);
  const runs = fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).sort();
  assert.equal(runs, ['slow0', 'slow1', 'slow2'], 'each was built once');
  const builtBy = (stderr: string) =>
    stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event?: string; type?: string; built?: boolean; name?: string }).filter((e) => (e.event ?? e.type) === 'build-done' && e.built).map((e) => e.name);
  assert.is(builtBy(rb.stderr).length, 1, `the second process built the build the first had not locked: ${rb.stderr}`);
  assert.is(builtBy(ra.stderr).length, 2, ra.stderr);
});


/**
 * Five independent leaves and a chain of four, the leaves first in the file. With -j1 the
 * chain's first build goes first (in the file's order it would be sixth): the longest chain is
 * started first, so the slots do not idle at the end behind it.
 */
const CHAIN_AND_LEAVES = (counter: string) => `import { derivation } from 'hepstore';
const mk = (name: string, deps: unknown[]) => derivation({
  name,
  builder: '/bin/sh',
  args: ['-c', \`echo \${name} >> ${counter}; echo "\${name} \${deps.join(' ')}" > $out\`],
});
const leaves = Array.from({ length: 5 }, (_, i) => mk(\`leaf\${i}\`, []));
let c: unknown = mk('chain0', []);
for (let i = 1; i < 4; i++) c = mk(\`chain\${i}\`, [c]);
export default [...leaves, c];
`;

test('the longest chain starts first: -j1 builds its first link before the leaves listed before it', async () => {
  const counter = path.join(tmpDir('chain-order'), 'order');
  const dir = writeTree(tmpDir('chain'), { 'default.ts': CHAIN_AND_LEAVES(counter) });
  const root = path.join(tmpDir('chain-store'), 'root');
  const r = await runCliAsync(['realize', 'default.ts', '--no-sandbox', '--no-out-link', '-j', '1'], { storeRoot: root, cwd: dir });
  assert.is(r.status, 0, r.stderr);
  const order = fs.readFileSync(counter, 'utf8').trim().split('\n');
  assert.is(order.length, 9, order.join(' '));
  assert.is(order[0], 'chain0', order.join(' '));
});


test('two derivations of one output in one realize: the second waits for the first without a message about another process', async () => {
  // Two fetches of one file, pinned by one hash, that differ only in their hint: two
  // derivations, one output path (as a .deb that two pinned sets name).
  const src = tmpDir('same-output-src');
  const file = path.join(src, 'data.bin');
  fs.writeFileSync(file, Buffer.alloc(1 << 20, 7));
  const { createHash } = await import('node:crypto');
  const integrity = `sha256-${createHash('sha256').update(fs.readFileSync(file)).digest('base64')}`;
  const dir = writeTree(tmpDir('same-output'), {
    'default.ts': `import { fetchurl } from 'hepstore';
export default [
  fetchurl({ name: 'data.bin', url: 'file://${file}', integrity: '${integrity}', hint: 'from the first set' }),
  fetchurl({ name: 'data.bin', url: 'file://${file}', integrity: '${integrity}', hint: 'from the second set' }),
];
`,
  });
  const root = path.join(tmpDir('same-output-store'), 'root');
  const r = await runCliAsync(['realize', 'default.ts', '--no-out-link', '-j2'], { storeRoot: root, cwd: dir });
  assert.is(r.status, 0, r.stderr);
  const outs = r.stdout.trim().split('\n');
  assert.is(outs.length, 2);
  assert.is(outs[0], outs[1]);
  assert.not.match(r.stderr, /another process/);
  const json = await runCliAsync(['realize', 'default.ts', '--no-out-link', '-j2', '--json'], { storeRoot: path.join(tmpDir('same-output-store2'), 'root'), cwd: dir });
  assert.is(json.status, 0, json.stderr);
  assert.not.match(json.stderr, /"event":"waiting"/);
});

test.run();
