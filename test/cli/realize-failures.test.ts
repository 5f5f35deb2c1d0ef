import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { runCli, tmpDir, writeTree, type TreeSpec } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';

interface Env {
  dir: string;
  root: string;
}

function setup(files: TreeSpec): Env {
  const dir = tmpDir('realize-fail');
  writeTree(dir, files);
  return { dir, root: path.join(tmpDir('realize-fail-store'), 'root') };
}

function realize(env: Env, args: string[]) {
  return runCli(['realize', 'default.ts', ...args], { storeRoot: env.root, cwd: env.dir });
}

function validPaths(env: Env): string[] {
  const s = new LocalStore(env.root);
  try {
    return s.allValidPaths();
  } finally {
    s.close();
  }
}

function buildsLeft(env: Env): string[] {
  const d = path.join(env.root, 'var', 'builds');
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
}

const sri = (s: string) => 'sha256-' + createHash('sha256').update(s).digest('base64');

const FAILING = `import { derivation } from 'hepstore';
export const ok = derivation({ name: 'ok', builder: '/bin/sh', args: ['-c', 'echo fine > $out'] });
export const bad = derivation({
  name: 'bad',
  builder: '/bin/sh',
  args: ['-c', 'i=1; while [ $i -le 40 ]; do echo "log line $i"; i=$((i+1)); done; echo scratch > left-behind; exit 3'],
});
export const user = derivation({ name: 'user', builder: '/bin/sh', args: ['-c', \`echo \${bad} \${ok} > $out\`] });
export const userOfUser = derivation({ name: 'user-of-user', builder: '/bin/sh', args: ['-c', \`echo \${user} > $out\`] });
export const noOut = derivation({ name: 'no-out', builder: '/bin/sh', args: ['-c', 'echo "forgot to write the output"'] });
export const missingDev = derivation({ name: 'missing-dev', outputs: ['out', 'dev'], builder: '/bin/sh', args: ['-c', 'echo out > $out'] });
export const noBuilder = derivation({ name: 'no-builder', builder: '/nonexistent/builder' });
export const cyclic = derivation({ name: 'cyclic', outputs: ['out', 'dev'], builder: '/bin/sh', args: ['-c', 'echo $dev > $out; echo $out > $dev'] });
`;

test('a failing builder: exit 100, the last 25 log lines, the log path; nothing left in var/builds', () => {
  const env = setup({ 'default.ts': FAILING });
  const r = realize(env, ['-A', 'bad']);
  assert.is(r.status, 100, r.stderr);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /builder for '.*-bad\.drv' \(defined at .*default\.ts:3\) failed with exit code 3/);
  const shown = r.stderr.split('\n').filter((l) => l.startsWith('  > '));
  assert.equal(shown, Array.from({ length: 25 }, (_, i) => `  > log line ${i + 16}`));
  const logFile = /full log: (\S+)/.exec(r.stderr)![1];
  assert.is(fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).length, 40, 'the full log has every line');
  assert.match(r.stderr, /--keep-failed/);
  assert.equal(buildsLeft(env), []);
  assert.equal(validPaths(env).filter((p) => !p.endsWith('.drv')), [], 'no output registered');
  assert.not.ok(fs.existsSync(path.join(env.dir, 'result')));
});

test('--keep-failed keeps the build directory and names it', () => {
  const env = setup({ 'default.ts': FAILING });
  const r = realize(env, ['-A', 'bad', '--keep-failed']);
  assert.is(r.status, 100, r.stderr);
  const kept = /keeping build directory '([^']+)'/.exec(r.stderr)?.[1];
  assert.ok(kept, r.stderr);
  assert.ok(kept!.startsWith(path.join(env.root, 'var', 'builds') + '/'), kept);
  assert.is(fs.readFileSync(path.join(kept!, 'build', 'left-behind'), 'utf8'), 'scratch\n');
  // -K is the short form
  const again = realize(env, ['-A', 'bad', '-K']);
  assert.is(again.status, 100);
  assert.is(buildsLeft(env).length, 2);
});

test('dependents of a failed build are not built; independent parts are', () => {
  const env = setup({ 'default.ts': FAILING.replace(/export const noOut[\s\S]*$/, 'export default [userOfUser, ok];\n') });
  const r = realize(env, ['--keep-going']);
  assert.is(r.status, 100, r.stderr);
  const logs = fs.readdirSync(path.join(env.root, 'var', 'log'));
  assert.ok(logs.some((l) => l.endsWith('-bad.drv.log')));
  assert.not.ok(logs.some((l) => /-user(-of-user)?\.drv\.log$/.test(l)), `no log for the dependents: ${logs}`);
  const outputs = validPaths(env).filter((p) => !p.endsWith('.drv'));
  assert.equal(outputs.map((p) => path.basename(p).slice(33)), ['ok']);
  // without --keep-going the same holds for the dependents
  const env2 = setup({ 'default.ts': FAILING.replace(/export const noOut[\s\S]*$/, 'export default userOfUser;\n') });
  const r2 = realize(env2, []);
  assert.is(r2.status, 100);
  assert.not.ok(validPaths(env2).some((p) => /-user(-of-user)?$/.test(p)));
});

test('a builder that produces no $out fails with a clear message', () => {
  const env = setup({ 'default.ts': FAILING });
  const r = realize(env, ['-A', 'noOut']);
  assert.is(r.status, 100, r.stderr);
  assert.match(r.stderr, /-no-out\.drv' \(defined at .*default\.ts:\d+\) did not produce output 'out' \(expected at .*-no-out\)/);
  assert.match(r.stderr, /  > forgot to write the output/);
  // one output of two missing: also a failure, and the other is not kept
  const r2 = realize(env, ['-A', 'missingDev']);
  assert.is(r2.status, 100, r2.stderr);
  assert.match(r2.stderr, /did not produce output 'dev'/);
  assert.equal(validPaths(env).filter((p) => !p.endsWith('.drv')), []);
  const storeFiles = fs.readdirSync(path.join(env.root, 'store')).filter((f) => !f.endsWith('.drv'));
  assert.equal(storeFiles, [], 'the output that was written is removed again');
  assert.equal(buildsLeft(env), []);
});

test('a builder that cannot be started is a build failure naming it', () => {
  const env = setup({ 'default.ts': FAILING });
  const r = realize(env, ['-A', 'noBuilder']);
  assert.is(r.status, 100, r.stderr);
  assert.match(r.stderr, /no-builder\.drv/);
  assert.match(r.stderr, /nonexistent\/builder/);
});

test('outputs that refer to each other are refused', () => {
  const env = setup({ 'default.ts': FAILING });
  const r = realize(env, ['-A', 'cyclic']);
  assert.is(r.status, 100, r.stderr);
  assert.match(r.stderr, /outputs of '.*-cyclic\.drv' refer to each other in a cycle/);
  assert.equal(validPaths(env).filter((p) => !p.endsWith('.drv')), []);
  assert.equal(fs.readdirSync(path.join(env.root, 'store')).filter((f) => !f.endsWith('.drv')), []);
});

const MISMATCH = (wanted: string) => `import { derivation, fetchurl } from 'hepstore';
const file = new URL('./payload.txt', import.meta.url).href;

export const fetched = fetchurl({ url: file, integrity: '${wanted}' });
export const made = derivation({
  name: 'made',
  builder: '/bin/sh',
  args: ['-c', 'echo made > $out'],
  outputHash: '${wanted}',
});
export const user = derivation({ name: 'user', builder: '/bin/sh', args: ['-c', \`read x < \${fetched}; echo "$x" > $out\`] });
`;

test('a fixed-output hash mismatch exits 102 and prints wanted, got and the expression line', () => {
  const wanted = sri('something else\n');
  const env = setup({ 'default.ts': MISMATCH(wanted), 'payload.txt': 'payload\n' });
  const file = path.join(env.dir, 'default.ts');
  for (const [attr, line, content] of [['fetched', 4, 'payload\n'], ['made', 5, 'made\n'], ['user', 4, 'payload\n']] as const) {
    const r = realize(env, ['-A', attr]);
    assert.is(r.status, 102, r.stderr);
    assert.ok(r.stderr.includes(`wanted: ${wanted}`), r.stderr);
    assert.ok(r.stderr.includes(`got:    ${sri(content)}`), r.stderr);
    assert.ok(r.stderr.includes(`${file}:${line}`), r.stderr);
  }
  assert.equal(validPaths(env).filter((p) => !p.endsWith('.drv')), [], 'nothing with a wrong hash is registered');
  assert.equal(buildsLeft(env), []);
  // With the right hash it works, and its path is the one evaluation promised.
  fs.writeFileSync(path.join(env.dir, 'default.ts'), MISMATCH(sri('payload\n')));
  const r = realize(env, ['-A', 'user', '--no-out-link']);
  assert.is(r.status, 0, r.stderr);
  assert.is(fs.readFileSync(r.stdout.trim(), 'utf8'), 'payload\n');
});

test.run();
