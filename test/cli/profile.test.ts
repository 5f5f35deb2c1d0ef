import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';

interface Env {
  dir: string;
  root: string;
}

const envExpr = (version: string) => `import { derivation } from 'hepstore';
const lib = derivation({ name: 'fitlib-${version}', builder: '/bin/sh', args: ['-c', 'echo "fitlib ${version}" > $out'] });
export default derivation({ name: 'analysis-env-${version}', builder: '/bin/sh', args: ['-c', \`echo "env ${version} uses \${lib}" > $out\`] });
`;

function setup(): Env {
  const dir = tmpDir('profile-cli');
  writeTree(dir, {
    'env-1.ts': envExpr('1.0'),
    'env-2.ts': envExpr('2.0'),
    'tool.ts': `import { derivation } from 'hepstore';\nexport default derivation({ name: 'plotter-0.3', builder: '/bin/sh', args: ['-c', 'echo plot > $out'] });\n`,
  });
  return { dir, root: path.join(tmpDir('profile-cli-store'), 'root') };
}

function ok(env: Env, args: string[]): string {
  const r = runCli(args, { storeRoot: env.root, cwd: env.dir });
  assert.is(r.status, 0, `store ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

interface ListJson {
  profile: string;
  current: number | null;
  generations: Array<{ number: number; path: string; time: number; current: boolean }>;
  elements: Array<{ name: string; path: string; source?: string }>;
}

const list = (env: Env, extra: string[] = []) => JSON.parse(ok(env, ['profile', 'list', '--json', ...extra])) as ListJson;
const names = (l: ListJson) => l.elements.map((e) => e.name).sort();

test('install, upgrade, rollback, switch and remove make generations as in Nix; every generation is a root', () => {
  const env = setup();
  assert.match(ok(env, ['profile', 'list']), 'has no generations yet');
  assert.match(ok(env, ['profile', 'install', 'env-1.ts']), 'default: generation 1 -> ');
  assert.equal(names(list(env)), ['analysis-env-1.0']);
  ok(env, ['profile', 'install', 'env-2.ts']);
  assert.equal(names(list(env)), ['analysis-env-2.0'], 'a newer version of the same package replaces it');
  ok(env, ['profile', 'install', 'tool.ts']);
  let l = list(env);
  assert.is(l.current, 3);
  assert.equal(names(l), ['analysis-env-2.0', 'plotter-0.3']);
  assert.match(l.profile, /\/var\/profiles\/per-user\/[^/]+\/default$/);
  assert.match(ok(env, ['profile', 'rollback']), 'switched default: generation 2');
  assert.equal(names(list(env)), ['analysis-env-2.0']);
  ok(env, ['profile', 'switch', '3']);
  ok(env, ['profile', 'remove', 'plotter']);
  l = list(env);
  assert.is(l.current, 4);
  assert.equal(names(l), ['analysis-env-2.0']);
  // Installing what is already there makes no new generation.
  ok(env, ['profile', 'install', 'env-2.ts']);
  assert.is(list(env).current, 4);
  // Every generation is a root: gc keeps even generation 1's environment.
  ok(env, ['gc']);
  const roots = JSON.parse(ok(env, ['roots', '--json'])) as { roots: Array<{ kind: string; targets: string[] }> };
  assert.is(roots.roots.filter((r) => r.kind === 'profile').length, 4);
  const first = JSON.parse(fs.readFileSync(path.join(l.generations[0].path, 'manifest.json'), 'utf8')) as { elements: Array<{ path: string }> };
  assert.ok(fs.existsSync(first.elements[0].path));
  // Errors.
  let r = runCli(['profile', 'switch', '9'], { storeRoot: env.root, cwd: env.dir });
  assert.is(r.status, 1);
  assert.match(r.stderr, 'has no generation 9');
  r = runCli(['profile', 'remove', 'nothing-like-this'], { storeRoot: env.root, cwd: env.dir });
  assert.is(r.status, 1);
  r = runCli(['profile', 'frobnicate'], { storeRoot: env.root, cwd: env.dir });
  assert.match(r.stderr, 'unknown profile subcommand');
});

test('delete-older-than and keep-last prune generations (never the current one); gc then frees what they kept', () => {
  const env = setup();
  ok(env, ['profile', 'install', 'env-1.ts', '--profile', 'ana']);
  ok(env, ['profile', 'install', 'env-2.ts', '--profile', 'ana']);
  ok(env, ['profile', 'install', 'tool.ts', '--profile', 'ana']);
  let l = list(env, ['--profile', 'ana']);
  assert.is(l.generations.length, 3);
  assert.equal(list(env).generations, [], 'the default profile is another one');
  const v1 = JSON.parse(fs.readFileSync(path.join(l.generations[0].path, 'manifest.json'), 'utf8')).elements[0].path as string;
  // Backdate generations 1 and 2 by 40 and 35 days.
  const now = Date.now() / 1000;
  fs.lutimesSync(path.join(path.dirname(l.profile), 'ana-1-link'), now - 40 * 86400, now - 40 * 86400);
  fs.lutimesSync(path.join(path.dirname(l.profile), 'ana-2-link'), now - 35 * 86400, now - 35 * 86400);
  const dry = JSON.parse(ok(env, ['profile', 'delete-older-than', '30d', '--profile', 'ana', '--dry-run', '--json'])) as { deleted: number[] };
  assert.equal(dry.deleted, [1], 'generation 2 was the one in use 30 days ago: kept');
  assert.match(ok(env, ['profile', 'delete-older-than', '30d', '--profile', 'ana']), "deleted generations 1 of profile 'ana'");
  const gc = JSON.parse(ok(env, ['gc', '--json'])) as { deleted: Array<{ path: string }> };
  assert.ok(gc.deleted.some((d) => d.path === v1), 'the old environment is freed');
  ok(env, ['profile', 'switch', '2', '--profile', 'ana']);
  const kept = JSON.parse(ok(env, ['profile', 'keep-last', '0', '--profile', 'ana', '--json'])) as { deleted: number[]; remaining: number[] };
  assert.equal(kept.deleted, [3]);
  assert.equal(kept.remaining, [2], 'the current generation stays');
  l = list(env, ['--profile', 'ana']);
  assert.equal(names(l), ['analysis-env-2.0']);
  const bad = runCli(['profile', 'delete-older-than', 'a while', '--profile', 'ana'], { storeRoot: env.root, cwd: env.dir });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, 'e.g. 30d');
});

test('install takes store paths and links such as ./result too', () => {
  const env = setup();
  ok(env, ['realize', 'tool.ts']);
  const target = fs.readlinkSync(path.join(env.dir, 'result'));
  ok(env, ['profile', 'install', 'result']);
  assert.equal(list(env).elements.map((e) => e.path), [target]);
  const s = new LocalStore(env.root);
  try {
    assert.equal(s.pathInfo(list(env).generations[0].path).references, [target]);
  } finally {
    s.close();
  }
});

test.run();
