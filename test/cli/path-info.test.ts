import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, placeWithReferences, runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { hashPath } from '../../src/archive/dump.js';

interface Chain {
  root: string;
  leaf: string;
  mid: string;
  top: string;
  other: string;
  deriver: string;
}

/** top -> mid -> leaf (leaf added with `store add`; mid and top registered together), and an unrelated path. */
async function chain(): Promise<Chain> {
  const root = path.join(tmpDir('pi'), 'root');
  const store = new LocalStore(root);
  try {
    const leaf = await store.addToStore(writeTree(path.join(tmpDir('pi-leaf'), 'leaf-1.0'), { lib: { 'libleaf.so': 'leaf' } }));
    const other = await store.addToStore(writeTree(path.join(tmpDir('pi-other'), 'other'), { x: 'x' }));
    const deriver = `${store.storeDir}/${'1'.repeat(32)}-mid-1.0.drv`;
    const mid = await placeWithReferences(store, 'mid-1.0', { bin: { mid: { exec: `#!/bin/sh\nexec ${leaf}/lib\n` } } }, [leaf], { register: false, deriver });
    const top = await placeWithReferences(store, 'top-1.0', { 'uses.txt': `${mid.path}\n${leaf}\n` }, [mid.path, leaf], { register: false });
    store.registerValidPaths([top, mid]);
    return { root, leaf, mid: mid.path, top: top.path, other, deriver };
  } finally {
    store.close();
  }
}

test('path-info prints narHash, narSize, references, referrers and deriver', async () => {
  const c = await chain();
  const res = runCli(['path-info', c.mid], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const nar = await hashPath(c.mid);
  assert.is(
    res.stdout,
    [c.mid, `  narHash:    ${nar.narHash}`, `  narSize:    ${nar.narSize}`, `  deriver:    ${c.deriver}`, '  references: ', `    ${c.leaf}`, '  referrers:  ', `    ${c.top}`, ''].join('\n'),
  );
  const leaf = runCli(['path-info', c.leaf], { storeRoot: c.root });
  assert.is(leaf.status, 0, leaf.stderr);
  assert.match(leaf.stdout, /deriver: {4}\(none\)/);
  assert.match(leaf.stdout, /references: \(none\)/);
  assert.match(leaf.stdout, /ca: {9}nar:sha256-/);
  const referrers = [c.mid, c.top].sort();
  assert.ok(leaf.stdout.includes(`  referrers:  \n    ${referrers[0]}\n    ${referrers[1]}\n`), leaf.stdout);
});

test('path-info --json has the documented fields with the right values', async () => {
  const c = await chain();
  const res = runCli(['path-info', '--json', c.top, c.leaf], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const recs = JSON.parse(res.stdout) as Array<Record<string, unknown>>;
  assert.is(recs.length, 2);
  const [top, leaf] = recs;
  const topNar = await hashPath(c.top);
  assert.is(top.path, c.top);
  assert.is(top.narHash, topNar.narHash);
  assert.is(top.narSize, topNar.narSize);
  assert.equal(top.references, [c.leaf, c.mid].sort());
  assert.equal(top.referrers, []);
  assert.is(top.deriver, null);
  assert.is(leaf.path, c.leaf);
  assert.equal(leaf.references, []);
  assert.equal(leaf.referrers, [c.mid, c.top].sort());
  assert.is(leaf.narHash, (await hashPath(c.leaf)).narHash);
  assert.type(leaf.registrationTime, 'number');
  const mid = JSON.parse(runCli(['path-info', '--json', c.mid], { storeRoot: c.root }).stdout)[0];
  assert.is(mid.deriver, c.deriver);
  assert.equal(mid.references, [c.leaf]);
  assert.equal(mid.referrers, [c.top]);
});

test('path-info -r prints the closure, and nothing outside it', async () => {
  const c = await chain();
  const res = runCli(['path-info', '-r', '--json', c.top], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const paths = (JSON.parse(res.stdout) as Array<{ path: string }>).map((r) => r.path);
  assert.equal(paths, [c.leaf, c.mid, c.top].sort());
  const midClosure = runCli(['path-info', '--recursive', c.mid], { storeRoot: c.root });
  assert.is(midClosure.status, 0, midClosure.stderr);
  const heads = midClosure.stdout.split('\n').filter((l) => l.startsWith('/'));
  assert.equal(heads, [c.leaf, c.mid].sort());
  assert.not.ok(midClosure.stdout.includes(`${c.other}\n  narHash`));
  const size = JSON.parse(runCli(['path-info', '-r', '-s', '--json', c.mid], { storeRoot: c.root }).stdout) as Array<{ path: string; narSize: number; closureSize: number }>;
  const midRec = size.find((r) => r.path === c.mid)!;
  const leafRec = size.find((r) => r.path === c.leaf)!;
  assert.is(midRec.closureSize, midRec.narSize + leafRec.narSize);
});

test('path-info resolves ./result-style links and paths inside an object', async () => {
  const c = await chain();
  const cwd = tmpDir('pi-cwd');
  fs.symlinkSync(c.top, path.join(cwd, 'result'));
  const viaLink = runCli(['path-info', '--json', 'result'], { storeRoot: c.root, cwd });
  assert.is(viaLink.status, 0, viaLink.stderr);
  assert.is(JSON.parse(viaLink.stdout)[0].path, c.top);
  const inside = runCli(['path-info', '--json', path.join(c.mid, 'bin', 'mid')], { storeRoot: c.root });
  assert.is(inside.status, 0, inside.stderr);
  assert.is(JSON.parse(inside.stdout)[0].path, c.mid);
});

test('path-info of a path that is not valid fails and names it', async () => {
  const c = await chain();
  const ghost = `${path.join(c.root, 'store')}/${'2'.repeat(32)}-ghost`;
  const res = runCli(['path-info', ghost], { storeRoot: c.root });
  assert.is(res.status, 1);
  assert.ok(res.stderr.includes(`'${ghost}' is not valid`), res.stderr);
  assert.is(res.stdout, '');
  const outside = runCli(['path-info', '/etc/passwd'], { storeRoot: c.root });
  assert.is(outside.status, 1);
  assert.match(outside.stderr, /not in the store/);
});

/**
 * The modules and Node.js built-ins a command loads: each module the ES loader resolves, and
 * process.moduleLoadList at exit, written by an --import'ed probe.
 */
function loadedBy(args: string[], storeRoot: string): { modules: string[]; builtins: string[]; status: number | null; stderr: string } {
  const dir = tmpDir('pi-probe');
  const log = path.join(dir, 'resolved.log');
  const list = path.join(dir, 'builtins.json');
  fs.writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `import fs from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); fs.appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
  );
  fs.writeFileSync(
    path.join(dir, 'probe.mjs'),
    `import fs from 'node:fs';\nimport { register } from 'node:module';\nregister(${JSON.stringify(path.join(dir, 'hooks.mjs'))}, import.meta.url);\nprocess.on('exit', () => fs.writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));\n`,
  );
  const r = spawnSync(process.execPath, ['--import', path.join(dir, 'probe.mjs'), CLI, ...args], { env: { ...process.env, STORE_ROOT: storeRoot }, encoding: 'utf8' });
  const modules = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  const builtins = fs.existsSync(list) ? (JSON.parse(fs.readFileSync(list, 'utf8')) as string[]) : [];
  return { modules, builtins, status: r.status, stderr: r.stderr };
}

test('path-info loads neither node:crypto nor the modules of locks, releases and the collector', async () => {
  const c = await chain();
  const info = loadedBy(['path-info', c.top], c.root);
  assert.is(info.status, 0, info.stderr);
  // The probe sees what it should: the store's module, and Node's built-ins.
  assert.ok(info.modules.some((u) => u.endsWith('/store/local-store.js')), info.modules.join('\n'));
  assert.ok(info.builtins.includes('NativeModule fs'));
  assert.not.ok(info.builtins.includes('NativeModule crypto'), 'node:crypto is loaded');
  for (const m of ['locks', 'gc-rows', 'gc-snapshot', 'releases-db']) assert.not.ok(info.modules.some((u) => u.endsWith(`/store/${m}.js`)), `${m}.js is loaded`);
  // A command that hashes does load it.
  const hashed = loadedBy(['hash-path', c.leaf], c.root);
  assert.is(hashed.status, 0, hashed.stderr);
  assert.ok(hashed.builtins.includes('NativeModule crypto'));
});

test.run();
