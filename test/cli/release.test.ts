import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { runCli, tmpDir, writeTree, exists } from '../helpers.js';

interface Env {
  dir: string;
  root: string;
}

// Two releases sharing a base library; each has its own application.
const RELEASES = `import { derivation } from 'hepstore';
const base = derivation({ name: 'base-1.0', builder: '/bin/sh', args: ['-c', 'echo "base library ........................................" > $out'] });
const app = (v: string) => derivation({ name: \`app-\${v}\`, builder: '/bin/sh', args: ['-c', \`echo "app \${v} links \${base}" > $out\`] });
const tools = (v: string) => derivation({ name: \`tools-\${v}\`, builder: '/bin/sh', args: ['-c', \`echo "tools \${v}" > $out\`] });
export const R1 = [app('1'), tools('1')];
export const R2 = [app('2'), tools('2')];
export const R1b = [app('1b')];
`;

function setup(): Env {
  const dir = tmpDir('release-cli');
  writeTree(dir, { 'releases.ts': RELEASES });
  return { dir, root: path.join(tmpDir('release-cli-store'), 'root') };
}

function run(env: Env, args: string[]) {
  return runCli(args, { storeRoot: env.root, cwd: env.dir });
}

function ok(env: Env, args: string[]): string {
  const r = run(env, args);
  assert.is(r.status, 0, `store ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

interface Row {
  name: string;
  state: string;
  created: number;
  deprecated?: number;
  age: number;
  closureBytes: number;
  closurePaths: number;
  uniqueBytes: number;
  uniquePaths: number;
  sharedBytes: number;
  sharedPaths: number;
  outputs: Array<{ path: string; drvPath?: string; attr: string }>;
}

const list = (env: Env) => JSON.parse(ok(env, ['release', 'list', '--json'])) as Row[];

test('release add realizes and roots a release; list shows state, age, closure and unique sizes; rm frees exactly the unique bytes', () => {
  const env = setup();
  const outs1 = ok(env, ['release', 'add', 'CMSSW_1', 'releases.ts', '--attr', 'R1']).trim().split('\n');
  assert.is(outs1.length, 2);
  ok(env, ['release', 'add', 'CMSSW_2', 'releases.ts', '-A', 'R2']);
  ok(env, ['gc']); // drop the .drv files and what no release needs
  let rows = list(env);
  assert.equal(rows.map((r) => [r.name, r.state]), [
    ['CMSSW_1', 'active'],
    ['CMSSW_2', 'active'],
  ]);
  const [r1, r2] = rows;
  assert.equal(r1.outputs.map((o) => o.path).sort(), [...outs1].sort());
  assert.ok(r1.outputs.every((o) => o.drvPath?.endsWith('.drv')));
  assert.is(r1.closurePaths, 3, 'app, tools and the shared base');
  assert.is(r1.uniquePaths, 2, 'the shared base is not unique to it');
  assert.ok(r1.closureBytes > r1.uniqueBytes && r1.uniqueBytes > 0);
  assert.ok(r1.age >= 0 && r1.age < 600);
  assert.is(r2.uniquePaths, 2);
  // What each shares with the other release: the base library, counted once in the store.
  const base = JSON.parse(ok(env, ['path-info', '-r', '--json', r1.outputs[0].path])) as Array<{ path: string; narSize: number }>;
  const baseInfo = base.find((i) => /-base-1\.0$/.test(i.path))!;
  for (const r of [r1, r2]) {
    assert.is(r.sharedPaths, 1, `${r.name} shares the base library`);
    assert.is(r.sharedBytes, baseInfo.narSize);
    assert.is(r.sharedBytes + r.uniqueBytes, r.closureBytes);
  }
  const text = ok(env, ['release', 'list']);
  assert.match(text, /CMSSW_1\s+active/);
  assert.match(text, /NAME\s+STATE\s+AGE\s+PATHS\s+CLOSURE\s+SHARED\s+UNIQUE/);
  assert.match(text, `2 releases: ${r1.closurePaths + r2.closurePaths - 1} paths, `);
  assert.match(text, `their closures add up to ${r1.closurePaths + r2.closurePaths} paths`);
  // Deprecating only marks it: it stays a root.
  assert.match(ok(env, ['release', 'deprecate', 'CMSSW_1']), "release 'CMSSW_1' deprecated since");
  rows = list(env);
  assert.is(rows[0].state, 'deprecated');
  assert.ok(typeof rows[0].deprecated === 'number');
  assert.match(ok(env, ['release', 'list']), /CMSSW_1\s+deprecated \d{4}-\d\d-\d\d/);
  const roots = JSON.parse(ok(env, ['roots', '--json'])) as { roots: Array<{ kind: string; name: string; deprecated: number | null; uniqueBytes: number }> };
  const root1 = roots.roots.find((r) => r.name === 'CMSSW_1')!;
  assert.is(root1.kind, 'release');
  assert.is(root1.deprecated, rows[0].deprecated);
  // store roots counts what the root keeps alive: with keepDerivations (the default) the .drv
  // files of its outputs too; release list counts the release's runtime closure.
  const drvBytes = (outs: string[]) =>
    outs.reduce((n, o) => {
      const info = (JSON.parse(ok(env, ['path-info', '--json', o])) as Array<{ deriver?: string }>)[0];
      return n + (JSON.parse(ok(env, ['path-info', '--json', info.deriver!])) as Array<{ narSize: number }>)[0].narSize;
    }, 0);
  const ownDrvBytes = drvBytes(outs1);
  assert.ok(ownDrvBytes > 0);
  assert.is(root1.uniqueBytes, r1.uniqueBytes + ownDrvBytes);
  assert.is(JSON.parse(ok(env, ['gc', '--json'])).paths, 0);
  for (const p of outs1) assert.ok(exists(p));
  // Removing it: gc frees exactly the bytes only it kept alive.
  ok(env, ['release', 'rm', 'CMSSW_1']);
  const gc = JSON.parse(ok(env, ['gc', '--json'])) as { paths: number; bytesFreed: number; deleted: Array<{ path: string }> };
  // Its outputs go, with their .drv files, which nothing else keeps.
  assert.is(gc.bytesFreed, r1.uniqueBytes + ownDrvBytes);
  assert.equal(gc.deleted.map((d) => d.path).filter((p) => !p.endsWith('.drv')).sort(), [...outs1].sort());
  assert.is(gc.deleted.filter((d) => d.path.endsWith('.drv')).length, outs1.length);
  assert.equal(list(env).map((r) => r.name), ['CMSSW_2']);
  ok(env, ['verify', '--check-contents']);
});

test('release names are checked; a name is taken once; re-adding the same outputs is harmless', () => {
  const env = setup();
  ok(env, ['release', 'add', 'R', 'releases.ts', '-A', 'R1']);
  const again = run(env, ['release', 'add', 'R', 'releases.ts', '-A', 'R1']);
  assert.is(again.status, 0);
  assert.match(again.stderr, 'already exists with these outputs');
  const other = run(env, ['release', 'add', 'R', 'releases.ts', '-A', 'R1b']);
  assert.is(other.status, 1);
  assert.match(other.stderr, "release 'R' already exists with other outputs");
  for (const [args, msg] of [
    [['release', 'add', '../x', 'releases.ts'], 'invalid release name'],
    [['release', 'rm', 'nope'], "there is no release 'nope'"],
    [['release', 'deprecate', 'nope'], "there is no release 'nope'"],
    [['release', 'add', 'X', 'missing.ts'], 'is neither a store path nor an expression file'],
    [['release'], 'needs a subcommand'],
  ] as Array<[string[], string]>) {
    const r = run(env, args);
    assert.is(r.status, 1, args.join(' '));
    assert.ok(r.stderr.includes(msg), `store ${args.join(' ')}: expected '${msg}' in: ${r.stderr}`);
  }
  // A store path can be a release as it is.
  const p = JSON.parse(ok(env, ['release', 'list', '--json']))[0].outputs[0].path as string;
  ok(env, ['release', 'add', 'PINNED', p]);
  assert.equal(
    list(env).find((r) => r.name === 'PINNED')!.outputs.map((o) => o.path),
    [p],
  );
});

test.run();
