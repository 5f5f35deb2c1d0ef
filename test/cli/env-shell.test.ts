import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, tmpDir, writeTree, type TreeSpec } from '../helpers.js';
import { applyActivation, cshQuote, shQuote } from '../../src/profile/activation.js';

const root = path.join(tmpDir('envcli-store'), 'root');

const exec = (s: string) => ({ exec: `#!/bin/sh\n${s}\n` });

/** Twenty packages, each with a program, a man page and a pkg-config file; one with a CMake config. */
function packages(): Record<string, TreeSpec> {
  const pkgs: Record<string, TreeSpec> = {};
  for (let i = 0; i < 20; i++) {
    pkgs[`pkg${i}`] = {
      bin: { [`tool${i}`]: exec(`echo "tool ${i} from $0"; exit ${i}`) },
      share: { man: { man1: { [`tool${i}.1`]: `.TH TOOL${i}\n` } } },
      lib: { 'x86_64-linux-gnu': { pkgconfig: { [`pkg${i}.pc`]: `Name: pkg${i}\n` } } },
    };
  }
  (pkgs.pkg0 as { lib: TreeSpec }).lib.cmake = { Pkg0: { 'Pkg0Config.cmake': '' } };
  return pkgs;
}

const EXPR = `import { buildEnv, path } from 'hepstore';
const pkgs = Array.from({ length: 20 }, (_, i) => path('./pkg' + i));
export default buildEnv({ name: 'analysis-env', paths: pkgs });
export const docs = buildEnv({ name: 'docs-env', paths: [path('./pkg1')], pathsToLink: ['/share'] });
export const two = { a: buildEnv({ name: 'a-env', paths: [path('./pkg1')] }), b: buildEnv({ name: 'b-env', paths: [path('./pkg2')] }) };
`;

function project(): string {
  const dir = tmpDir('envcli');
  writeTree(dir, { ...packages(), 'env.ts': EXPR });
  return dir;
}

const dir = project();
const store = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => runCli(args, { storeRoot: root, cwd: opts.cwd ?? dir, env: opts.env });

function ok(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = store(args, opts);
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

const envPath = () => ok(['realize', 'env.ts', '--no-out-link']).trim();

test('store env --format json: the store path and one entry per variable, only for directories that exist', () => {
  const env = envPath();
  const j = JSON.parse(ok(['env', 'env.ts', '--format', 'json']));
  assert.is(j.storePath, env);
  assert.equal(j.set, { HEPSTORE_ENV: env });
  assert.equal(j.prepend, {
    PATH: [`${env}/bin`],
    MANPATH: [`${env}/share/man`],
    PKG_CONFIG_PATH: [`${env}/lib/x86_64-linux-gnu/pkgconfig`],
    CMAKE_PREFIX_PATH: [env],
  });
  const docs = JSON.parse(ok(['env', 'env.ts', '-A', 'docs', '--format', 'json']));
  assert.equal(Object.keys(docs.prepend), ['MANPATH'], 'no bin/, lib/: no PATH, PKG_CONFIG_PATH or CMAKE_PREFIX_PATH');
});

test('store env (sh): sourcing it in /bin/sh puts the environment bin first on PATH; the output is the same from another directory', () => {
  const env = envPath();
  const sh = ok(['env', 'env.ts']);
  assert.ok(sh.split('\n').filter((l) => l.startsWith('export ')).length <= 6, 'a handful of variables for twenty packages');
  const file = path.join(tmpDir('envcli-act'), 'activate.sh');
  fs.writeFileSync(file, sh);
  const run = (script: string, extra: NodeJS.ProcessEnv) => spawnSync('/bin/sh', ['-c', script], { env: { ...extra }, encoding: 'utf8' });
  const r = run(`. '${file}'; echo "$PATH"; echo "$MANPATH"; command -v tool7; tool7; echo "status $?"`, { PATH: '/usr/bin:/bin', MANPATH: '/opt/man' });
  assert.is(r.status, 0, r.stderr);
  const [p, man, where, out, status] = r.stdout.trim().split('\n');
  assert.is(p, `${env}/bin:/usr/bin:/bin`);
  assert.is(man, `${env}/share/man:/opt/man`);
  assert.is(where, `${env}/bin/tool7`);
  assert.is(out, `tool 7 from ${env}/bin/tool7`);
  assert.is(status, 'status 7');
  // Unset variables: no empty PATH entry (the current directory), but man keeps its defaults.
  const r2 = run(`unset PATH MANPATH PKG_CONFIG_PATH; . '${file}'; echo "$PKG_CONFIG_PATH|$MANPATH"`, {});
  assert.is(r2.stdout.trim(), `${env}/lib/x86_64-linux-gnu/pkgconfig|${env}/share/man:`);
  // Same inputs from another working directory: the same text.
  const other = project();
  assert.is(ok(['env', 'env.ts'], { cwd: other }), sh);
});

test('store env --format csh: setenv, guarded for unset variables', () => {
  const env = envPath();
  const csh = ok(['env', 'env.ts', '-f', 'csh']);
  assert.match(csh, `setenv HEPSTORE_ENV '${env}'\n`);
  assert.match(csh, `if ( $?PATH ) then\n  setenv PATH '${env}/bin'":$PATH"\nelse\n  setenv PATH '${env}/bin'\nendif\n`);
  assert.not.match(csh, /export /);
  for (const c of ['csh', 'tcsh']) {
    const has = spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
    if (!has) continue;
    const r = spawnSync(c, ['-f', '-c', `eval "\`cat\`"; echo $PATH`], { input: csh, env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    assert.is(r.stdout.trim(), `${env}/bin:/usr/bin:/bin`, r.stderr);
  }
});

test('quoting: odd characters survive sh and csh', () => {
  const odd = `/tmp/it's a "store" $HOME !x`;
  const r = spawnSync('/bin/sh', ['-c', `printf %s ${shQuote(odd)}`], { encoding: 'utf8' });
  assert.is(r.stdout, odd);
  assert.is(cshQuote("a'b!c"), `'a'\\''b'\\!'c'`);
  assert.throws(() => shQuote('a\nb'), /line break/);
  const applied = applyActivation({ storePath: '/s', set: { HEPSTORE_ENV: '/s' }, prepend: { PATH: ['/s/bin'], MANPATH: ['/s/share/man'] } }, { PATH: '/bin' });
  assert.equal(applied, { PATH: '/s/bin:/bin', HEPSTORE_ENV: '/s', MANPATH: '/s/share/man:' });
});

test('store env: an attribute with several environments is refused; --out-link makes a root', () => {
  const r = store(['env', 'env.ts', '-A', 'two']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /names 2 derivations/);
  const link = path.join(tmpDir('envcli-link'), 'my-env');
  const sh = ok(['env', 'env.ts', '-A', 'two.a', '-o', link]);
  assert.match(sh, /a-env\/bin/);
  assert.match(fs.readlinkSync(link), /-a-env$/);
  const roots = ok(['roots', '--json']);
  assert.ok(roots.includes(link), 'the out-link is a root');
});

test('store shell -c: runs a command of the environment and exits with its status', () => {
  const env = envPath();
  const r = store(['shell', 'env.ts', '-c', 'tool3']);
  assert.is(r.status, 3, r.stderr);
  assert.is(r.stdout, `tool 3 from ${env}/bin/tool3\n`);
  const r0 = store(['shell', 'env.ts', '-c', 'echo "$HEPSTORE_ENV"; tool0']);
  assert.is(r0.status, 0, r0.stderr);
  assert.is(r0.stdout.split('\n')[0], env);
});

test('store shell --pure: only a few variables of the caller are kept, PATH is the environment', () => {
  const env = envPath();
  const script = 'echo "PATH=$PATH"; echo "SECRET=${SECRET-unset}"; echo "HOME=$HOME"; echo "KEPT=${KEPT-unset}"';
  const callerEnv = { PATH: '/usr/bin:/bin', SECRET: 'leak', HOME: '/home/physicist', KEPT: 'yes' };
  const impure = store(['shell', 'env.ts', '-c', script], { env: callerEnv });
  assert.is(impure.status, 0, impure.stderr);
  assert.match(impure.stdout, `PATH=${env}/bin:`);
  assert.match(impure.stdout, 'SECRET=leak');
  const pure = store(['shell', 'env.ts', '--pure', '--keep', 'KEPT', '-c', script], { env: callerEnv });
  assert.is(pure.status, 0, pure.stderr);
  assert.is(pure.stdout, `PATH=${env}/bin\nSECRET=unset\nHOME=/home/physicist\nKEPT=yes\n`);
});

test('store shell without -c runs $SHELL, reading commands from stdin', () => {
  const env = envPath();
  const r = runCli(['shell', 'env.ts'], { storeRoot: root, cwd: dir, env: { SHELL: '/bin/sh' }, input: 'command -v tool5\nexit 4\n' });
  assert.is(r.status, 4, r.stderr);
  assert.is(r.stdout.trim(), `${env}/bin/tool5`);
});

test.run();
