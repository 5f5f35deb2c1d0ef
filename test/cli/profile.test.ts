import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { Profile } from '../../src/profile/profiles.js';

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

/**
 * A package with a program bin/NAME that prints "NAME VERSION" (and, with a library, the
 * library's first line): a derivation built with host mkdir and chmod.
 */
function programExpr(name: string, version: string, libVersion?: string): string {
  const lib = libVersion ? `const lib = derivation({ name: 'greetlib-${libVersion}', builder: '/bin/sh', args: ['-c', 'echo greetlib-${libVersion} > $out'] });\n` : '';
  const uses = libVersion ? ' with $(/bin/sed -n 1p ${lib})' : '';
  return [
    `import { derivation, host } from 'hepstore';`,
    `const mkdir = host.tool('mkdir');`,
    `const chmod = host.tool('chmod');`,
    lib,
    `export default derivation({ name: '${name}-${version}', builder: '/bin/sh', args: ['-c', \`\${mkdir} -p $out/bin; printf '#!/bin/sh\\\\necho "${name} ${version}${uses}"\\\\n' > $out/bin/${name}; \${chmod} +x $out/bin/${name}\`] });`,
    '',
  ].join('\n');
}

function programs(): Env {
  const dir = tmpDir('profile-env');
  writeTree(dir, {
    'hello-1.ts': programExpr('hello', '1.0', '1.0'),
    'hello-2.ts': programExpr('hello', '2.0', '2.0'),
    'world.ts': programExpr('world', '0.5'),
  });
  return { dir, root: path.join(tmpDir('profile-env-store'), 'root') };
}

/** Run an sh script with the store command as $STORE (STORE_ROOT set), and a small PATH. */
function sh(env: Env, script: string, vars: Record<string, string> = {}) {
  return spawnSync('/bin/sh', ['-c', `STORE() { "$NODE" "$CLI" "$@"; }\n${script}`], {
    cwd: env.dir,
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', STORE_ROOT: env.root, NODE: process.execPath, CLI, ...vars },
  });
}

test('a generation is a buildEnv with bin/ and manifest.json; eval "$(store env PROFILE)" in sh runs the installed programs and follows rollbacks', () => {
  const env = programs();
  ok(env, ['profile', 'install', 'hello-1.ts']);
  let l = list(env);
  const gen1 = l.generations[0].path;
  assert.ok(fs.statSync(gen1).isDirectory(), 'the generation is a directory');
  assert.ok(fs.existsSync(path.join(gen1, 'bin', 'hello')), 'with bin/');
  const manifest = JSON.parse(fs.readFileSync(path.join(gen1, 'manifest.json'), 'utf8')) as { elements: Array<{ name: string; path: string; source: string }> };
  assert.equal(manifest.elements.map((e) => [e.name, e.path]), l.elements.map((e) => [e.name, e.path]));
  assert.is(manifest.elements[0].source, path.join(env.dir, 'hello-1.ts'), 'where it came from');
  // default -> default-1-link -> the store path.
  assert.is(fs.readlinkSync(l.profile), 'default-1-link');
  assert.is(fs.readlinkSync(path.join(path.dirname(l.profile), 'default-1-link')), gen1);
  // A bin/ of the profile on PATH runs the program.
  let r = sh(env, 'hello', { PATH: `${l.profile}/bin:/usr/bin:/bin` });
  assert.is(r.stdout.trim(), `hello 1.0 with greetlib-1.0`, r.stderr);

  ok(env, ['profile', 'install', 'world.ts']);
  l = list(env);
  assert.is(l.current, 2);
  assert.equal(names(l), ['hello-1.0', 'world-0.5']);
  // One shell: activate the profile, run both programs, roll back, and world is gone from it.
  r = sh(env, 'eval "$(STORE env "$P")" || exit 9; hello; world; STORE profile rollback >/dev/null || exit 8; hello; world || echo "no world"', { P: l.profile });
  assert.is(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), ['hello 1.0 with greetlib-1.0', 'world 0.5', 'hello 1.0 with greetlib-1.0', 'no world']);
  assert.is(list(env).current, 1, 'rollback switched back');
  // --profile NAME is the same thing; the variables name the profile link, not one generation.
  const j = JSON.parse(ok(env, ['env', '--profile', 'default', '--format', 'json'])) as { storePath: string; prefix: string; set: Record<string, string>; prepend: Record<string, string[]> };
  assert.is(j.storePath, gen1);
  assert.is(j.prefix, l.profile);
  assert.equal(j.prepend.PATH, [`${l.profile}/bin`]);
  r = runCli(['env', '--profile', 'nobody'], { storeRoot: env.root, cwd: env.dir });
  assert.is(r.status, 1);
  assert.match(r.stderr, "profile 'nobody' has no generations yet");
});

test('store profile diff-closures: per pair of generations, packages added, removed and upgraded with their size deltas', () => {
  const env = programs();
  ok(env, ['profile', 'install', 'hello-1.ts']);
  ok(env, ['profile', 'install', 'hello-2.ts']);
  ok(env, ['profile', 'install', 'world.ts']);
  ok(env, ['profile', 'remove', 'hello']);
  const gens = list(env).generations;
  assert.is(gens.length, 4);
  const info = (p: string) => JSON.parse(ok(env, ['path-info', '-r', '--json', p])) as Array<{ path: string; narSize: number }>;
  /** The closure of a generation's packages, by store name, without the generation itself. */
  const closure = (g: string) => new Map(info(g).filter((x) => x.path !== g).map((x) => [path.basename(x.path).slice(33), x.narSize]));
  const [c1, c2, c3, c4] = gens.map((g) => closure(g.path));
  const delta = (n: number) => (n < 0 ? '-' : '+') + (Math.abs(n) >= 1024 ? `${(Math.abs(n) / 1024).toFixed(1)} KiB` : `${Math.abs(n)} B`);
  const out = ok(env, ['profile', 'diff-closures']);
  const sections = out.split(/^(?=Version )/m);
  assert.is(sections.length, 3, out);
  assert.ok(sections[0].startsWith('Version 1 -> 2:\n'), out);
  assert.match(sections[0], `  hello: 1.0 → 2.0, ${delta(c2.get('hello-2.0')! - c1.get('hello-1.0')!)}\n`);
  assert.match(sections[0], `  greetlib: 1.0 → 2.0, ${delta(c2.get('greetlib-2.0')! - c1.get('greetlib-1.0')!)}\n`);
  assert.not.match(sections[0], 'profile', 'the generations themselves are not packages');
  assert.is(sections[1], `Version 2 -> 3:\n  world: ∅ → 0.5, ${delta(c3.get('world-0.5')!)}\n`);
  assert.ok(sections[2].startsWith('Version 3 -> 4:\n'), out);
  assert.match(sections[2], `  hello: 2.0 → ∅, ${delta(-c3.get('hello-2.0')!)}\n`);
  assert.match(sections[2], `  greetlib: 2.0 → ∅`);
  assert.not.match(sections[2], 'world');
  assert.equal([...c4.keys()], ['world-0.5']);
  const j = JSON.parse(ok(env, ['profile', 'diff-closures', '--json'])) as { diffs: Array<{ from: number; to: number; diff: { added: Array<{ name: string }>; removed: Array<{ name: string }> } }> };
  assert.equal(j.diffs.map((d) => [d.from, d.to]), [[1, 2], [2, 3], [3, 4]]);
  assert.equal(j.diffs[1].diff.added.map((c) => c.name), ['world']);
  assert.equal(j.diffs[2].diff.removed.map((c) => c.name).sort(), ['greetlib', 'hello']);
  assert.match(ok(env, ['profile', 'diff-closures', '--profile', 'empty']), 'nothing to compare');
});

test('a generation of the older kind (the manifest alone): listed and marked, store env explains, the next install makes an environment, rollback goes back to it', async () => {
  const env = programs();
  const s = new LocalStore(env.root);
  let old: string;
  let note: string;
  try {
    note = await s.addTextToStore('note-1.0', 'a note\n', []);
    old = await s.addTextToStore('old-profile.json', JSON.stringify({ version: 1, elements: [{ name: 'note-1.0', path: note }] }), [note]);
    new Profile(s.layout, 'old').createGeneration(old);
  } finally {
    s.close();
  }
  assert.match(ok(env, ['profile', 'list', '--profile', 'old']), `${old}   (current)   (manifest only)`);
  let r = runCli(['env', '--profile', 'old'], { storeRoot: env.root, cwd: env.dir });
  assert.is(r.status, 1);
  assert.match(r.stderr, 'a manifest from an older hepstore');
  assert.match(r.stderr, 'store profile install');
  r = runCli(['profile', 'install', 'world.ts', '--profile', 'old'], { storeRoot: env.root, cwd: env.dir });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, `'${note}' is a file, not a directory`);
  const l = list(env, ['--profile', 'old']);
  assert.equal(names(l), ['note-1.0', 'world-0.5'], 'the old elements are kept');
  assert.ok(fs.existsSync(path.join(l.profile, 'bin', 'world')));
  assert.match(ok(env, ['env', '--profile', 'old']), `${l.profile}/bin`);
  ok(env, ['profile', 'rollback', '--profile', 'old']);
  assert.is(list(env, ['--profile', 'old']).generations.find((g) => g.current)!.path, old);
  assert.match(ok(env, ['profile', 'diff-closures', '--profile', 'old']), 'world: ∅ → 0.5');
});

test.run();
