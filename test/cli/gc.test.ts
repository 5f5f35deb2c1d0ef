import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree, exists } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { databaseOf } from '../../src/store/db.js';

interface Env {
  dir: string;
  root: string;
  storeDir: string;
}

function setup(files: Record<string, string>): Env {
  const dir = tmpDir('gc-cli');
  writeTree(dir, files);
  const root = path.join(tmpDir('gc-cli-store'), 'root');
  return { dir, root, storeDir: path.join(root, 'store') };
}

/** Write the store's etc/hepstore.json. */
function configure(env: Env, config: Record<string, unknown>): void {
  fs.mkdirSync(path.join(env.root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(env.root, 'etc', 'hepstore.json'), JSON.stringify(config));
}

function cli(env: Env, args: string[]) {
  return runCli(args, { storeRoot: env.root, cwd: env.dir });
}

function ok(env: Env, args: string[]): string {
  const r = cli(env, args);
  assert.is(r.status, 0, `store ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function json<T>(env: Env, args: string[]): T {
  return JSON.parse(ok(env, [...args, '--json'])) as T;
}

function withStore<T>(env: Env, fn: (s: LocalStore) => T): T {
  const s = new LocalStore(env.root);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

// Nix's tests/functional/dependencies.nix: top needs input-1 only while building, and refers
// to input-2, which refers to input-0; top contains a self-reference and an executable.
const DEPENDENCIES = `import { derivation, host } from 'hepstore';
const mkdir = host.tool('mkdir');
const ln = host.tool('ln');
const chmod = host.tool('chmod');
export const input0 = derivation({ name: 'input-0', builder: '/bin/sh', args: ['-c', 'echo input-0 > $out'] });
export const input1 = derivation({ name: 'input-1', builder: '/bin/sh', args: ['-c', \`read x < \${input0}; echo "input-1 saw $x" > $out\`] });
export const input2 = derivation({ name: 'input-2', builder: '/bin/sh', args: ['-c', \`\${mkdir} $out; echo "\${input0}" > $out/ref\`] });
export const top = derivation({
  name: 'top',
  builder: '/bin/sh',
  args: ['-c', \`echo FOO; \${mkdir} $out; read x < \${input1}; echo "$x" > $out/built-with; echo "\${input2}" > $out/ref; \${ln} -s $out $out/self; printf '#!/bin/sh\\\\necho hi\\\\n' > $out/program; \${chmod} +x $out/program\`],
});
export const multi = derivation({
  name: 'multi',
  outputs: ['out', 'dev'],
  builder: '/bin/sh',
  args: ['-c', \`echo "lib of \${input0}" > $out; \${mkdir} $dev; echo "-L$out" > $dev/flags\`],
});
export default top;
`;

interface Eval {
  attr: string;
  drvPath: string;
  outputs: Record<string, string>;
}

function evalAttrs(env: Env): Record<string, Eval> {
  const out: Record<string, Eval> = {};
  for (const attr of ['input0', 'input1', 'input2', 'top', 'multi']) out[attr] = json<Eval[]>(env, ['eval', 'default.ts', '--attr', attr])[0];
  return out;
}

test('Nix gc.sh with "keepDerivations": false: a rooted output and its runtime closure survive, build-only inputs and .drv files go, stray locks go', () => {
  const env = setup({ 'default.ts': DEPENDENCIES });
  configure(env, { keepDerivations: false });
  const e = evalAttrs(env);
  ok(env, ['realize', 'default.ts']);
  const top = e.top.outputs.out;
  const runtime = [top, e.input2.outputs.out, e.input0.outputs.out].sort();
  // Roots: the out-link, with the bytes only it keeps alive (its whole runtime closure).
  const roots = json<{ roots: Array<{ kind: string; name: string; targets: string[]; uniqueBytes: number; uniquePaths: number }> }>(env, ['roots']);
  assert.equal(
    roots.roots.map((r) => [r.kind, r.name, r.targets]),
    [['out-link', path.join(env.dir, 'result'), [top]]],
  );
  const closureBytes = withStore(env, (s) => runtime.reduce((n, p) => n + s.pathInfo(p).narSize, 0));
  assert.is(roots.roots[0].uniquePaths, 3);
  assert.is(roots.roots[0].uniqueBytes, closureBytes);
  // --print-dead: the .drv files and input-1, not the output or its references.
  const dry = json<{ deleted: Array<{ path: string }>; bytesFreed: number }>(env, ['gc', '--dry-run']);
  const dead = dry.deleted.map((d) => d.path).sort();
  assert.ok(dead.includes(e.top.drvPath) && dead.includes(e.input1.outputs.out));
  for (const p of runtime) assert.not.ok(dead.includes(p), p);
  // Deleting the rooted output, or its dependency, fails, names the root, and leaves it.
  for (const p of [top, e.input0.outputs.out]) {
    const r = cli(env, ['delete', p]);
    assert.is(r.status, 1);
    assert.match(r.stderr, `cannot delete '${p}': it is still alive`);
    assert.match(r.stderr, `kept by out-link ${path.join(env.dir, 'result')}`);
    assert.ok(exists(p));
  }
  // Stray lock files and build leftovers in the store directory are junk.
  fs.writeFileSync(`${top}.lock`, '');
  fs.mkdirSync(`${e.input1.outputs.out}.chroot`);
  const before = withStore(env, (s) => s.allValidPaths());
  const out = ok(env, ['gc']);
  assert.match(out, `deleted ${dead.length} paths, freed`);
  assert.match(out, `(${dry.bytesFreed} bytes)`);
  assert.match(out, 'removed 2 stray entries');
  withStore(env, (s) => {
    assert.equal(s.allValidPaths(), runtime);
    assert.equal(fs.readdirSync(env.storeDir).sort(), runtime.map((p) => path.basename(p)).sort());
    assert.is(before.length - runtime.length, dead.length);
  });
  ok(env, ['verify', '--check-contents']);
  assert.is(fs.readFileSync(path.join(env.dir, 'result', 'built-with'), 'utf8'), 'input-1 saw input-0\n');
});

test('store why prints one chain per root, from the root down to the path', () => {
  const env = setup({ 'default.ts': DEPENDENCIES });
  const e = evalAttrs(env);
  ok(env, ['realize', 'default.ts']);
  ok(env, ['realize', 'default.ts', '--attr', 'input2', '--out-link', 'other']);
  const input0 = e.input0.outputs.out;
  const w = json<{ alive: boolean; chains: Array<{ kind: string; root: string; chain: string[] }> }>(env, ['why', input0]);
  assert.ok(w.alive);
  assert.equal(
    w.chains.map((c) => [c.root, c.chain]),
    [
      [path.join(env.dir, 'other'), [e.input2.outputs.out, input0]],
      [path.join(env.dir, 'result'), [e.top.outputs.out, e.input2.outputs.out, input0]],
    ],
  );
  const text = ok(env, ['why', input0]);
  assert.match(text, `${input0} is kept alive by 2 roots:`);
  assert.match(text, `out-link ${path.join(env.dir, 'result')}`);
  assert.match(text, `-> ${input0}`);
  // The deriver of a live output is alive through it (keepDerivations is the default).
  const d = json<{ alive: boolean; chains: Array<{ root: string; chain: string[] }> }>(env, ['why', e.top.drvPath]);
  assert.equal(d.chains.map((c) => [c.root, c.chain]), [[path.join(env.dir, 'result'), [e.top.outputs.out, e.top.drvPath]]]);
  // A path nothing needs (an input needed only to build): said plainly.
  assert.match(ok(env, ['why', e.input1.outputs.out]), "is not reachable from any root: 'store gc' would delete it");
  // ./result works as the PATH too.
  assert.is(json<{ path: string }>(env, ['why', 'result']).path, e.top.outputs.out);
});

test('removing the roots leaves the store empty, multiple outputs included', () => {
  const env = setup({ 'default.ts': DEPENDENCIES });
  ok(env, ['realize', 'default.ts']);
  ok(env, ['realize', 'default.ts', '--attr', 'multi', '--out-link', 'm']);
  assert.ok(exists(path.join(env.dir, 'm-dev')));
  ok(env, ['gc']);
  for (const l of ['result', 'm', 'm-dev']) fs.rmSync(path.join(env.dir, l));
  const r = json<{ paths: number; bytesFreed: number }>(env, ['gc']);
  assert.ok(r.paths >= 5);
  assert.equal(fs.readdirSync(env.storeDir), []);
  withStore(env, (s) => {
    for (const t of ['ValidPaths', 'Refs', 'DerivationOutputs', 'TempRoots', 'PathLocks']) {
      assert.is((databaseOf(s).prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n, 0, t);
    }
  });
  assert.equal(fs.readdirSync(path.join(env.root, 'var', 'gcroots', 'auto')), [], 'stale out-link registrations removed');
  assert.match(ok(env, ['roots']), '0 roots keep 0 of 0 paths alive');
});

test('store gc --max-freed stops early; --keep-derivations keeps the .drv files of live outputs even where the configuration turns it off', () => {
  const env = setup({ 'default.ts': DEPENDENCIES });
  configure(env, { keepDerivations: false });
  const e = evalAttrs(env);
  ok(env, ['realize', 'default.ts']);
  const kd = json<{ deleted: Array<{ path: string }> }>(env, ['gc', '--dry-run', '--keep-derivations']).deleted.map((d) => d.path);
  assert.equal(kd, [e.input1.outputs.out], 'only the build-only output goes');
  const ko = json<{ deleted: Array<{ path: string }> }>(env, ['gc', '--dry-run', '--keep-derivations', '--keep-outputs']).deleted;
  assert.equal(ko, []);
  const one = json<{ paths: number; bytesFreed: number }>(env, ['gc', '--max-freed', '1']);
  assert.is(one.paths, 1);
  const bad = cli(env, ['gc', '--max-freed', 'lots']);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, '--max-freed takes a size in bytes');
  assert.match(ok(env, ['gc', '--max-freed', '1K']), 'stopped after freeing 1.00 KiB');
  ok(env, ['verify', '--check-contents']);
});

test('by default gc keeps the .drv files of live outputs and what they need; realize writes missing .drv files back even when the outputs are valid', () => {
  const env = setup({ 'default.ts': DEPENDENCIES });
  const e = evalAttrs(env);
  ok(env, ['realize', 'default.ts']);
  const drvs = ['input0', 'input1', 'input2', 'top'].map((a) => e[a].drvPath);
  const out = json<{ deleted: Array<{ path: string }> }>(env, ['gc']).deleted.map((d) => d.path);
  assert.equal(out, [e.input1.outputs.out], 'only the build-only output goes');
  for (const d of drvs) assert.ok(exists(d), d);
  withStore(env, (s) => assert.is(s.pathInfo(e.top.outputs.out).deriver, e.top.drvPath));
  // Turned off: the .drv files go; a realize with nothing to build writes them back.
  configure(env, { keepDerivations: false });
  const gone = json<{ deleted: Array<{ path: string }> }>(env, ['gc']).deleted.map((d) => d.path);
  assert.equal(gone.sort(), drvs.sort());
  for (const d of drvs) assert.not.ok(exists(d), d);
  const again = cli(env, ['realize', 'default.ts', '--json']);
  assert.is(again.status, 0, again.stderr);
  for (const d of drvs) assert.ok(exists(d), `${d} is written back`);
  assert.not.ok(exists(e.input1.outputs.out), 'nothing was built');
  ok(env, ['verify', '--check-contents']);
  const bad = (configure(env, { keepDerivations: 'yes' }), cli(env, ['gc', '--dry-run']));
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /"keepDerivations" in .*hepstore\.json must be true or false/);
});

test('store delete removes a dead path, and refuses one that dead paths refer to unless --also-referrers', () => {
  const env = setup({ 'default.ts': DEPENDENCIES });
  const e = evalAttrs(env);
  ok(env, ['realize', 'default.ts', '--no-out-link']);
  const input0 = e.input0.outputs.out;
  const r = cli(env, ['delete', input0]);
  assert.is(r.status, 1);
  assert.match(r.stderr, 'refers to it');
  assert.match(r.stderr, '--also-referrers');
  const d = json<{ deleted: Array<{ path: string }> }>(env, ['delete', e.top.drvPath]);
  assert.equal(d.deleted.map((x) => x.path), [e.top.drvPath]);
  assert.not.ok(exists(e.top.drvPath));
  const all = json<{ deleted: Array<{ path: string }> }>(env, ['delete', input0, '--also-referrers']);
  assert.equal(all.deleted.map((x) => x.path), [e.top.outputs.out, e.input2.outputs.out, input0], 'its referrers too, referrers first');
  ok(env, ['verify', '--check-contents']);
});

test.run();
