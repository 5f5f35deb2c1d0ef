/**
 * Leftovers of killed processes outside the store directory: build directories in var/builds
 * and `store push` staging files in var/tmp carry their owner (pid and start time) in their
 * names; `store gc` removes those whose owner is gone, and nothing of a live process or kept
 * by --keep-failed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { newStore, exists, runCli, tmpDir, writeTree } from '../helpers.js';
import { collectGarbage } from '../../src/gc/collect.js';
import { ownedName, ownerOf, thisProcess } from '../../src/store/process.js';

/** A name made by ownedName() in a process that has exited. */
function deadOwned(label: string, tail: string): string {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("node:fs").readFileSync("/proc/self/stat", "utf8"))'], { encoding: 'utf8' });
  const stat = child.stdout;
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  return `${label}@${child.pid}.${start}.${tail}`;
}

test('owned names: the owner is read back; other names have none', () => {
  const me = thisProcess();
  assert.equal(ownerOf(`${ownedName('hello-2.12')}Ab12Cd`), { pid: me.pid, start: me.start });
  assert.equal(ownerOf(`${ownedName('push')}0123abcd`), { pid: me.pid, start: me.start });
  assert.is(ownerOf('hello-2.12-kept-Ab12Cd'), undefined);
  assert.is(ownerOf('python-3-11-Ab12Cd'), undefined, 'a name of the old form is nobody\'s');
});

test('store gc removes the build directories and push staging files of dead processes, and keeps the rest', async () => {
  const store = newStore();
  try {
    const { buildsDir, tmpDir: staging } = store.layout;
    fs.mkdirSync(buildsDir, { recursive: true });
    fs.mkdirSync(staging, { recursive: true });
    const deadBuild = path.join(buildsDir, deadOwned('hello-2.12', 'Xy12Zw'));
    writeTree(deadBuild, { build: { 'config.log': 'x'.repeat(1000) }, store: { out: { bin: { hello: 'y'.repeat(24) } } } });
    fs.chmodSync(path.join(deadBuild, 'store', 'out', 'bin'), 0o555); // a read-only output does not stop it
    const deadEtc = path.join(buildsDir, deadOwned('.etc', 'Qq11Rr'));
    writeTree(deadEtc, { passwd: 'nixbld:x:1000:100::/build:/noshell\n' });
    const deadPush = path.join(staging, deadOwned('push', '00ff00ff00ff'));
    fs.writeFileSync(deadPush, 'z'.repeat(500));
    const liveBuild = path.join(buildsDir, `${ownedName('running')}Aa00Bb`);
    fs.mkdirSync(liveBuild);
    const livePush = path.join(staging, `${ownedName('push')}aabbccddeeff`);
    fs.writeFileSync(livePush, 'in progress');
    const kept = path.join(buildsDir, 'failed-1.0-kept-Cc22Dd');
    fs.mkdirSync(kept);

    const dry = await collectGarbage(store, { dryRun: true });
    assert.equal(dry.leftovers.map((l) => l.path).sort(), [deadBuild, deadEtc, deadPush].sort());
    assert.ok(exists(deadBuild), 'a dry run changes nothing');

    const r = await collectGarbage(store);
    assert.equal(r.leftovers.map((l) => l.path).sort(), [deadBuild, deadEtc, deadPush].sort());
    assert.is(r.leftoverBytes, 1000 + 24 + 500 + 'nixbld:x:1000:100::/build:/noshell\n'.length);
    for (const p of [deadBuild, deadEtc, deadPush]) assert.not.ok(exists(p), p);
    for (const p of [liveBuild, livePush, kept]) assert.ok(exists(p), p);
  } finally {
    store.close();
  }
});

test('a build dir kept by --keep-failed survives store gc; the CLI reports what it removed', () => {
  const dir = tmpDir('leftovers');
  writeTree(dir, { 'default.ts': `import { derivation } from 'hepstore';\nexport default derivation({ name: 'bad', builder: '/bin/sh', args: ['-c', 'echo scratch > left; exit 2'] });\n` });
  const root = path.join(dir, 'root');
  const r = runCli(['realize', 'default.ts', '--keep-failed'], { storeRoot: root, cwd: dir });
  assert.is(r.status, 100, r.stderr);
  const keptDir = /keeping build directory '([^']+)'/.exec(r.stderr)![1];
  assert.match(path.basename(keptDir), /^bad-kept-[A-Za-z0-9]{6}$/);
  assert.ok(exists(keptDir));
  const stale = path.join(root, 'var', 'builds', deadOwned('bad', 'Ee33Ff'));
  fs.mkdirSync(stale);
  const gc = runCli(['gc'], { storeRoot: root, cwd: dir });
  assert.is(gc.status, 0, gc.stderr);
  assert.match(gc.stdout, /removed 1 build directories and staging files of finished processes/);
  assert.ok(exists(keptDir), 'kept on purpose');
  assert.not.ok(exists(stale));
});

test.run();
