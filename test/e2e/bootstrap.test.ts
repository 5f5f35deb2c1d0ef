/**
 * The bootstrap and the stdenv from nothing: the seed's Debian packages unpacked by hepstore
 * itself, the bootstrap tools made from them by the seed's static busybox, the stdenv relocated
 * by the bootstrap tools' node, and a mkDerivation package (the histogram example) built with
 * it — all in the sandbox, then all rebuilt bit for bit by `realize --check`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, runCliAsync, tmpDir } from '../helpers.js';
import { findBwrap } from '../../src/realize/sandbox.js';

const PKG = path.join(REPO, 'exprs', 'examples', 'histogram.ts');
const canFetch = Boolean(process.env.HEPSTORE_MIRROR_DEBIAN) || spawnSync('apt-get', ['--version']).status === 0;

test('bootstrap, stdenv and a package built with it, from nothing; rebuilt bit for bit', async () => {
  if (!canFetch) {
    console.log('  (skipped: neither apt-get nor HEPSTORE_MIRROR_DEBIAN to fetch Debian packages)');
    return;
  }
  const dir = tmpDir('bootstrap');
  const root = path.join(dir, 'root');
  const tools = path.join(dir, 'tools');
  fs.writeFileSync(path.join(dir, 'tools.ts'), `import { bootstrapTools, stdenv } from 'hepstore';\nexport default bootstrapTools();\nexport const shell = stdenv.packages.bash;\nexport const grep = stdenv.packages.grep;\n`);
  const r = await runCliAsync(['realize', '-j2', '--out-link', tools, path.join(dir, 'tools.ts')], { storeRoot: root });
  assert.is(r.status, 0, r.stderr);
  const bt = r.stdout.trim();
  assert.match(bt, /-bootstrap-tools$/);

  // The bootstrap tools need nothing of the host: node, tar and xz run with only the store mounted.
  const bwrap = findBwrap();
  if (bwrap) {
    const storeDir = path.join(root, 'store');
    const script = `const cp = require('child_process'); for (const t of ['tar', 'xz', 'patchelf']) console.log(cp.execFileSync('${bt}/bin/' + t, ['--version']).toString().split('\\n')[0]); console.log(require('fs').existsSync('/usr') ? 'host visible' : 'only the store');`;
    const run = spawnSync(bwrap, ['--unshare-all', '--die-with-parent', '--tmpfs', '/tmp', '--ro-bind', storeDir, storeDir, '--proc', '/proc', '--dev', '/dev', '--clearenv', `${bt}/bin/node`, '-e', script], { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stdout, /GNU tar/);
    assert.match(run.stdout, /xz \(XZ Utils\)/);
    assert.match(run.stdout, /only the store/);

    // The stdenv's scripts (egrep here) run its bash, not the /bin/sh that the sandbox lacks.
    const g = await runCliAsync(['realize', '--no-out-link', '-A', 'grep', path.join(dir, 'tools.ts')], { storeRoot: root });
    assert.is(g.status, 0, g.stderr);
    const grep = g.stdout.trim();
    assert.match(fs.readFileSync(path.join(grep, 'bin', 'egrep'), 'latin1').split('\n')[0], new RegExp(`^#!${storeDir}/[a-z0-9]{32}-bash-[^/]+/bin/bash$`));
    const egrep = spawnSync(bwrap, ['--unshare-all', '--die-with-parent', '--ro-bind', storeDir, storeDir, '--proc', '/proc', '--dev', '/dev', '--clearenv', '--setenv', 'PATH', `${grep}/bin`, `${grep}/bin/egrep`, '-c', 'x|y'], { encoding: 'utf8', input: 'x\nz\ny\n' });
    assert.is(egrep.status, 0, egrep.stderr);
    assert.is(egrep.stdout, '2\n');
  }

  const pkg = await runCliAsync(['realize', '-j2', '--no-out-link', PKG], { storeRoot: root });
  assert.is(pkg.status, 0, pkg.stderr);
  const report = pkg.stdout.trim();
  assert.is(fs.readFileSync(path.join(report, 'share', 'report.txt'), 'utf8'), 'peak: 90-92 GeV with 283 events\n');
  const evaluated = await runCliAsync(['eval', '--json', PKG], { storeRoot: root });
  assert.is(evaluated.status, 0, evaluated.stderr);
  const drv = await runCliAsync(['show-derivation', (JSON.parse(evaluated.stdout) as Array<{ drvPath: string }>)[0].drvPath], { storeRoot: root });
  assert.is(drv.status, 0, drv.stderr);
  const d = Object.values(JSON.parse(drv.stdout) as Record<string, { builder: string }>)[0];
  assert.ok(d.builder.startsWith(path.join(root, 'store') + '/') && d.builder.endsWith('/bin/bash'), `the builder is the stdenv's bash: ${d.builder}`);

  // Every derivation of the graph — seed, bootstrap tools, stdenv, the package — rebuilt and compared.
  for (const file of [path.join(dir, 'tools.ts'), PKG]) {
    const check = await runCliAsync(['realize', '-j2', '--check-closure', '--no-out-link', file], { storeRoot: root });
    assert.is(check.status, 0, check.stderr);
    assert.match(check.stderr, /checked \d+ derivations: every rebuilt output is bit for bit the same/);
  }
});

test.run();
