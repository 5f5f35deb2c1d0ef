/**
 * Invariant 6: a missing, emptied or unreadable database is never taken as an empty store.
 * Commands that delete refuse; `store verify --recover` rebuilds the database from the
 * objects on disk. And SQLite's own failures (a file that is not a database, a read-only
 * store) are one-line errors naming the file, with read-only commands working where they can.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';

const GRAPH = `import { derivation, type Drv } from 'hepstore';
const mk = (name: string, deps: Drv[]) => derivation({ name, builder: '/bin/sh', args: ['-c', \`echo "\${name} \${deps.join(' ')}" > $out\`] });
const lib = mk('lib', []);
const tool = mk('tool', [lib]);
const app = mk('app', [tool, lib]);
export default app;
export const dead = mk('dead', [lib]);
`;

interface Built {
  dir: string;
  root: string;
  link: string;
  dbFile: string;
  /** path-info -r --json of the out-link's closure. */
  closure: Array<{ path: string; narHash: string; narSize: number; references: string[]; deriver?: string }>;
  /** Every object in the store directory. */
  objects: string[];
  /** What `gc --dry-run` plans on the intact store. */
  plan: string;
}

function cli(b: { root: string; dir: string }, args: string[]) {
  return runCli(args, { storeRoot: b.root, cwd: b.dir });
}

function ok(b: { root: string; dir: string }, args: string[]): string {
  const r = cli(b, args);
  assert.is(r.status, 0, `store ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A gc plan's lines, in an order that does not depend on registration order. */
function lines(plan: string): string[] {
  return plan.trim().split('\n').sort();
}

function pathLines(plan: string): string[] {
  return lines(plan).filter((l) => l.startsWith('/'));
}

function objects(root: string): string[] {
  return fs.readdirSync(path.join(root, 'store')).filter((n) => !n.startsWith('.')).sort();
}

function build(): Built {
  const dir = tmpDir('lost-db');
  writeTree(dir, { 'g.ts': GRAPH });
  const root = path.join(dir, 'root');
  writeTree(path.join(root, 'etc'), { 'hepstore.json': JSON.stringify({ sandbox: false }) });
  const link = path.join(dir, 'result');
  const b = { dir, root, link, dbFile: path.join(root, 'var', 'db', 'store.sqlite') };
  ok(b, ['realize', 'g.ts', '--out-link', link]);
  ok(b, ['realize', 'g.ts', '--attr', 'dead', '--no-out-link']);
  const closure = JSON.parse(ok(b, ['path-info', '-r', link, '--json']));
  const plan = ok(b, ['gc', '--dry-run']);
  return { ...b, closure, objects: objects(root), plan };
}

function sameClosure(b: Built): void {
  const now = JSON.parse(ok(b, ['path-info', '-r', b.link, '--json'])) as Built['closure'];
  const pick = (c: Built['closure']) => c.map((i) => ({ path: i.path, narHash: i.narHash, narSize: i.narSize, references: i.references, deriver: i.deriver }));
  assert.equal(pick(now), pick(b.closure));
  assert.ok(b.closure.some((i) => i.deriver?.endsWith('.drv')), 'outputs have their derivers');
}

function refusesToDelete(b: Built): void {
  for (const args of [['gc'], ['gc', '--dry-run'], ['delete', b.closure[0].path]]) {
    const r = cli(b, args);
    assert.is(r.status, 1, `store ${args.join(' ')} must refuse: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /error: refusing to .*store verify --recover/s);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.equal(objects(b.root), b.objects, 'nothing was deleted');
}

function recoverAndCheck(b: Built, alsoDead: string[] = []): void {
  const r = cli(b, ['verify', '--recover']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`recovered \\d+ paths of ${b.objects.length} in the store directory`));
  sameClosure(b);
  // .drv files have their inputs as references again, and their outputs recorded.
  const drv = b.closure.find((i) => i.path.endsWith('-app'))!.deriver!;
  const drvInfo = JSON.parse(ok(b, ['path-info', drv, '--json']))[0];
  assert.ok(drvInfo.references.some((p: string) => p.endsWith('-tool.drv')), JSON.stringify(drvInfo));
  // The same plan as before the loss: the dead output and the derivations go, the root's closure stays.
  const plan = ok(b, ['gc', '--dry-run']);
  if (alsoDead.length) assert.equal(pathLines(plan), [...pathLines(b.plan), ...alsoDead].sort());
  else assert.equal(lines(plan), lines(b.plan));
  ok(b, ['gc']);
  for (const i of b.closure) assert.ok(fs.existsSync(i.path), `${i.path} is kept`);
  assert.not.ok(objects(b.root).some((n) => n.endsWith('-dead')), 'the dead output is collected');
  const v = cli(b, ['verify', '--check-contents']);
  assert.is(v.status, 0, v.stderr);
}

test('a truncated database: gc, gc --dry-run and delete refuse; verify --recover gives back the same path infos', () => {
  const b = build();
  fs.writeFileSync(b.dbFile, '');
  for (const ext of ['-wal', '-shm']) fs.rmSync(b.dbFile + ext, { force: true });
  refusesToDelete(b);
  // Read-only commands warn.
  const info = cli(b, ['path-info', b.closure[0].path]);
  assert.match(info.stderr, /warning: .*store verify --recover/);
  recoverAndCheck(b);
});

test('a deleted database, recreated by the next command (which registers something new): deleting commands refuse until verify --recover', () => {
  const b = build();
  for (const ext of ['', '-wal', '-shm']) fs.rmSync(b.dbFile + ext, { force: true });
  // The next command makes a new, empty database; a path added now is valid, the others are not.
  const s = new LocalStore(b.root);
  assert.match(String(s.databaseLoss()), /created when the store directory already held \d+ objects/);
  s.close();
  const added = ok(b, ['add', path.join(b.dir, 'g.ts')]).trim();
  refusesToDelete({ ...b, objects: [...b.objects, path.basename(added)].sort() });
  b.objects = objects(b.root);
  recoverAndCheck(b, [added]);
});

test('a store.sqlite that is not a database: every command says so in one line; verify --recover moves it aside and rebuilds', () => {
  const b = build();
  fs.writeFileSync(b.dbFile, Buffer.from('this is not a database '.repeat(300)));
  for (const ext of ['-wal', '-shm']) fs.rmSync(b.dbFile + ext, { force: true });
  for (const args of [['path-info', b.link], ['verify'], ['gc', '--dry-run'], ['gc'], ['roots']]) {
    const r = cli(b, args);
    assert.is(r.status, 1, args.join(' '));
    assert.ok(r.stderr.startsWith(`error: the store database ${b.dbFile} is not a SQLite database`), r.stderr);
    assert.match(r.stderr, /hint: run `store verify --recover`/);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.equal(objects(b.root), b.objects);
  const r = cli(b, ['verify', '--recover']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /moved the unreadable database to .*store\.sqlite\.unreadable-/);
  assert.ok(fs.readdirSync(path.dirname(b.dbFile)).some((f) => f.startsWith('store.sqlite.unreadable-')));
  sameClosure(b);
});

/** Run `store ARGS` with the store root mounted read-only (a private mount namespace), or undefined where that is not possible. */
function readOnlyRunner(root: string): ((args: string[], cwd: string) => { status: number | null; stdout: string; stderr: string }) | undefined {
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind "${root}" "${root}" && mount -o remount,ro,bind "${root}" && ! touch "${root}/.probe"`], { encoding: 'utf8' });
  if (probe.status !== 0) return undefined;
  return (args, cwd) => {
    const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind "${root}" "${root}" && mount -o remount,ro,bind "${root}" && STORE_ROOT="${root}" exec ${quoted}`], { cwd, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

test('a read-only store: path-info, verify, gc --dry-run, roots and why work; gc says in one line that it cannot write', () => {
  const b = build();
  const ro = readOnlyRunner(b.root);
  if (!ro) {
    console.log('  (skipped: a read-only bind mount needs unshare -m and the right to mount; chmod does not stop root)');
    return;
  }
  for (const args of [['path-info', '-r', b.link, '--json'], ['verify', '--check-contents'], ['gc', '--dry-run'], ['roots'], ['why', b.closure[0].path]]) {
    const r = ro(args, b.dir);
    assert.is(r.status, 0, `store ${args.join(' ')} on a read-only store: ${r.stderr}`);
  }
  assert.equal(lines(ro(['gc', '--dry-run'], b.dir).stdout), lines(b.plan));
  const gc = ro(['gc'], b.dir);
  assert.is(gc.status, 1);
  assert.ok(gc.stderr.startsWith(`error: cannot change the store database ${b.dbFile}: it is read-only`), gc.stderr);
  assert.not.match(gc.stderr, /\n\s+at /, 'no stack trace');
  const add = ro(['add', path.join(b.dir, 'g.ts')], b.dir);
  assert.is(add.status, 1);
  assert.match(add.stderr, /^error: EROFS: read-only file system/);
  assert.not.match(add.stderr, /\n\s+at /, 'no stack trace');
});

test.run();
