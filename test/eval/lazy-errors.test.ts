/**
 * A mistake in one export does not stop `--attr` of another (as Nix's attributes are lazy):
 * the derivation that could not be made keeps its error, raised with its file, line and code
 * frame when something asks for it — as a root, as an input, or in a string.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';

const EXPR = `import { derivation, mkDerivation, stdenvNoCC } from 'hepstore';
export const good = derivation({ name: 'good', builder: '/bin/sh', args: ['-c', 'echo good > $out'] });
export const typo = derivation({ name: 'typo', builder: '/bin/sh', argz: ['-c', 'echo > $out'] } as any);
export const viaString = derivation({ name: 'via-string', builder: '/bin/sh', args: ['-c', \`cat \${typo} > $out\`] });
export const viaInputs = mkDerivation({ pname: 'via-inputs', version: '1', stdenv: stdenvNoCC, buildInputs: [typo], installPhase: 'touch $out' });
export const phases = mkDerivation({ pname: 'phases', version: '1', stdenv: stdenvNoCC, instalPhase: 'touch $out' } as any);
export const list = [good, typo];
`;

function setup() {
  const dir = tmpDir('lazy');
  writeTree(dir, { 'default.ts': EXPR });
  const root = path.join(tmpDir('lazy-store'), 'root');
  return (args: string[]) => runCli(['eval', 'default.ts', ...args], { storeRoot: root, cwd: dir });
}

test('an export with a mistake does not stop --attr of another', () => {
  const ev = setup();
  const r = ev(['--attr', 'good']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^good\t\S+-good\.drv\t\S+-good\n$/);
});

test('asking for the export with the mistake raises it, with its line and code frame', () => {
  const ev = setup();
  const r = ev(['--attr', 'typo']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /default\.ts:3:\d+: derivation 'typo' has no argument 'argz' \(did you mean args\?\)/);
  assert.match(r.stderr, "argz: ['-c'");
  assert.match(r.stderr, /\^/);
  assert.match(r.stderr, "while evaluating attribute 'typo'");
  const p = ev(['--attr', 'phases']);
  assert.is(p.status, 1);
  assert.match(p.stderr, /default\.ts:6:\d+: .*'instalPhase' \(did you mean installPhase\?\)/);
});

test('what uses a derivation with a mistake fails with that mistake: in a string, as an input, in a list', () => {
  const ev = setup();
  for (const attr of ['viaString', 'viaInputs', 'list']) {
    const r = ev(['--attr', attr]);
    assert.is(r.status, 1, `${attr}: ${r.stdout}`);
    assert.match(r.stderr, /default\.ts:3:\d+: derivation 'typo' has no argument 'argz'/, attr);
    assert.not.match(r.stderr, /-typo\b[^']/, `${attr}: the placeholder path of the broken derivation is never shown`);
  }
});

test('realize builds nothing when a root has a mistake, and builds the good export alone', () => {
  const dir = tmpDir('lazy-realize');
  writeTree(dir, { 'default.ts': EXPR });
  const root = path.join(tmpDir('lazy-realize-store'), 'root');
  const bad = runCli(['realize', 'default.ts', '--attr', 'viaString', '--no-sandbox', '--no-out-link'], { storeRoot: root, cwd: dir });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, "has no argument 'argz'");
  const good = runCli(['realize', 'default.ts', '--attr', 'good', '--no-sandbox', '--no-out-link'], { storeRoot: root, cwd: dir });
  assert.is(good.status, 0, good.stderr);
  assert.match(good.stdout, /-good\n$/);
});

test.run();
