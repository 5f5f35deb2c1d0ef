/**
 * `store verify --check-contents --repair` without binary caches: damaged outputs are rebuilt
 * from their .drv files in the store (missing build inputs first) and put back when the
 * rebuild has the registered narHash; a rebuild that differs is reported and replaces nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { LocalStore } from '../../src/store/local-store.js';
import { makeWritable, removeTree } from '../../src/archive/canonical.js';
import { hashPath } from '../../src/archive/dump.js';
import { findBwrap } from '../../src/realize/sandbox.js';
import { exists, placeWithReferences, runCli, tmpDir, writeTree } from '../helpers.js';
import { unparseDerivation, type Derivation } from '../../src/derivation/derivation.js';
import { derivationPath } from '../../src/derivation/paths.js';
import { makeKeys, writeConfig } from '../cache/helpers.js';

const ENV = `import { derivation } from 'hepstore';
export const tool = derivation({ name: 'tool-1.0', builder: '/bin/sh', args: ['-c', 'echo "generated table" > $out'] });
export const lib = derivation({ name: 'lib-1.0', outputs: ['out', 'dev'], builder: '/bin/sh', args: ['-c', \`read t < \${tool}; echo "lib built with: $t" > $out; echo "lib headers" > $dev\`] });
export const app = derivation({ name: 'app-1.0', builder: '/bin/sh', args: ['-c', \`read l < \${lib}; echo "app linked to \${lib} ($l)" > $out\`] });
export const noisy = derivation({ name: 'noisy-1.0', builder: '/bin/sh', args: ['-c', 'read u < /proc/sys/kernel/random/uuid; echo "$u" > $out'] });
`;

function setup(): { dir: string; root: string; run: (args: string[]) => ReturnType<typeof runCli> } {
  const dir = tmpDir('verify-rebuild');
  writeTree(dir, { 'env.ts': ENV });
  const root = path.join(dir, 'root');
  return { dir, root, run: (args) => runCli(args, { storeRoot: root, cwd: dir }) };
}

function overwrite(file: string, text: string): void {
  makeWritable(file);
  fs.writeFileSync(file, text);
  fs.chmodSync(file, 0o444);
}

const sandboxTest = findBwrap() ? test : test.skip;
if (!findBwrap()) console.log('bubblewrap (bwrap) is not installed: skipping the repair-by-rebuilding tests');

sandboxTest('a modified and a missing output are rebuilt without any cache, a collected build input first, and restored', async () => {
  const { root, run } = setup();
  const r = run(['realize', 'env.ts', '-A', 'app']);
  assert.is(r.status, 0, r.stderr);
  const app = r.stdout.trim();
  const store = new LocalStore(root);
  const appText = fs.readFileSync(app, 'utf8');
  const lib = store.pathInfo(app).references.find((p) => p.endsWith('-lib-1.0'))!;
  const libText = fs.readFileSync(lib, 'utf8');
  const libDrv = store.pathInfo(lib).deriver!;
  const tool = Object.keys(JSON.parse(run(['show-derivation', libDrv]).stdout)[libDrv].inputDrvs)[0];
  store.close();
  // The build-only input goes (the .drv files stay), then app is damaged and lib removed.
  const gc = run(['gc', '--keep-derivations']);
  assert.is(gc.status, 0, gc.stderr);
  assert.ok(exists(tool), 'the .drv files are kept');
  const toolOut = Object.values(JSON.parse(run(['show-derivation', tool]).stdout)[tool].outputs as Record<string, { path: string }>)[0].path;
  assert.not.ok(exists(toolOut), 'the build-only input was collected');
  overwrite(app, 'tampered\n');
  removeTree(lib);

  const before = run(['verify', '--check-contents', '--json']);
  assert.is(before.status, 1);
  const rep = JSON.parse(before.stdout);
  assert.equal([rep.missing, rep.modified.map((m: { path: string }) => m.path)], [[lib], [app]]);

  const fix = run(['verify', '--check-contents', '--repair', '--json']);
  assert.is(fix.status, 0, fix.stderr);
  const out = JSON.parse(fix.stdout);
  assert.equal(out.repaired.sort(), [app, lib].sort());
  assert.equal(out.unrepaired, []);
  assert.is(fs.readFileSync(app, 'utf8'), appText);
  assert.is(fs.readFileSync(lib, 'utf8'), libText);
  assert.is((fs.statSync(app).mode & 0o777).toString(8), '444');
  const after = run(['verify', '--check-contents']);
  assert.is(after.status, 0, after.stderr);
  // The input it needed was built (and registered) on the way.
  const s2 = new LocalStore(root);
  assert.ok(s2.isValid(toolOut));
  assert.is((await hashPath(toolOut)).narHash, s2.pathInfo(toolOut).narHash);
  s2.close();
});

sandboxTest('--repair takes realize\'s flags: --no-fallback rebuilds nothing, --no-sandbox is refused, -j1 -L rebuilds', () => {
  const { root, run } = setup();
  const r = run(['realize', 'env.ts', '-A', 'tool', '--no-out-link']);
  assert.is(r.status, 0, r.stderr);
  const tool = r.stdout.trim();
  overwrite(tool, 'damaged\n');
  const none = run(['verify', '--check-contents', '--repair', '--no-fallback', '--json']);
  assert.is(none.status, 1, none.stderr);
  const out = JSON.parse(none.stdout);
  assert.equal(out.repaired, []);
  assert.match(out.unrepaired[0].reason, /not fetched \(no binary cache configured\), and not rebuilt \(--no-fallback\)/);
  assert.is(fs.readFileSync(tool, 'utf8'), 'damaged\n');
  // Without the sandbox the rebuild could write over the valid outputs: refused, as realize's check is.
  const bare = run(['verify', '--check-contents', '--repair', '--no-sandbox']);
  assert.is(bare.status, 1, bare.stderr);
  assert.match(bare.stderr, /beside its valid outputs without the sandbox/);
  const fix = run(['verify', '--check-contents', '--repair', '-j1', '-L']);
  assert.is(fix.status, 0, fix.stderr);
  assert.match(fix.stderr, new RegExp(`repaired '${tool}'`));
  assert.is(fs.readFileSync(tool, 'utf8'), 'generated table\n');
  const wrong = run(['verify', '--repair', '-j', 'four']);
  assert.is(wrong.status, 1, wrong.stderr);
  assert.is(wrong.stderr, "error: -j takes a whole number (got 'four')\n", 'refused before the store is checked');
  void root;
});

sandboxTest('a rebuild with a different narHash is reported as not reproducible and replaces nothing', async () => {
  const { root, run } = setup();
  const r = run(['realize', 'env.ts', '-A', 'noisy', '--no-out-link']);
  assert.is(r.status, 0, r.stderr);
  const noisy = r.stdout.trim();
  overwrite(noisy, 'damaged\n');
  const fix = run(['verify', '--check-contents', '--repair', '--json']);
  assert.is(fix.status, 1, fix.stderr);
  const out = JSON.parse(fix.stdout);
  assert.equal(out.repaired, []);
  assert.equal(out.unrepaired.map((u: { path: string }) => u.path), [noisy]);
  assert.match(out.unrepaired[0].reason, /not rebuilt: rebuilding .*noisy-1\.0\.drv' failed, so it was left as it is/);
  assert.match(out.unrepaired[0].reason, /may not be deterministic/);
  assert.is(fs.readFileSync(noisy, 'utf8'), 'damaged\n', 'the damaged copy is left, not replaced by a different build');
  const text = run(['verify', '--check-contents', '--repair']);
  assert.is(text.status, 1);
  assert.match(text.stderr, new RegExp(`cannot repair '${noisy}': not fetched \\(no binary cache configured\\), not rebuilt: `));
  const s = new LocalStore(root);
  assert.equal(s.strayTemporaries(), [], 'no rebuilt copy is left behind');
  s.close();
});

test('a damaged path with no derivation (store add) is reported, not rebuilt', () => {
  const { dir, run } = setup();
  writeTree(path.join(dir, 'data'), { 'x.txt': 'x\n' });
  const add = run(['add', 'data']);
  assert.is(add.status, 0, add.stderr);
  const p = add.stdout.trim();
  overwrite(path.join(p, 'x.txt'), 'y\n');
  const fix = run(['verify', '--check-contents', '--repair']);
  assert.is(fix.status, 1);
  assert.match(fix.stderr, /cannot repair .*records no derivation to rebuild it from/);
});

sandboxTest('a .drv that came in a bundle, unsigned, with a forged Deriver is not built from; once signed by a trusted key it is', async () => {
  const { dir, root, run } = setup();
  // Whoever made the bundle (a store at the same directory, gone after the export): a data
  // path whose Deriver claims a .drv that lists it as its output and runs any builder.
  const maker = new LocalStore(root);
  const data = await placeWithReferences(maker, 'calib-1.0', { 'table.txt': 'calibration\n' }, [], { register: false });
  const forged: Derivation = {
    name: 'calib-1.0',
    outputs: { out: { path: data.path, hashAlgo: '', hash: '' } },
    inputDrvs: {},
    inputSrcs: [],
    system: 'x86_64-linux',
    builder: '/bin/sh',
    args: ['-c', 'echo "the forged builder ran" > $out'],
    env: { out: data.path },
  };
  const drvPath = await maker.addTextToStore('calib-1.0.drv', unparseDerivation(forged), []);
  assert.is(drvPath, derivationPath(forged, maker.storeDir), 'a content-addressed .drv, intact');
  maker.registerValidPaths([{ ...data, deriver: drvPath }]);
  maker.close();
  const bundle = path.join(dir, 'calib.bundle');
  const exp = run(['export', data.path, drvPath, '-o', bundle]);
  assert.is(exp.status, 0, exp.stderr);
  removeTree(root);

  const imp = run(['import', bundle, '--no-require-sigs']);
  assert.is(imp.status, 0, imp.stderr);
  const store = new LocalStore(root);
  assert.is(store.pathInfo(data.path).deriver, drvPath);
  assert.is(store.pathInfo(drvPath).ultimate, false);
  store.close();
  overwrite(path.join(data.path, 'table.txt'), 'damaged\n');
  const checkLog = path.join(root, 'var', 'log', `${path.basename(drvPath)}.check.log`);

  const fix = run(['verify', '--check-contents', '--repair', '--json']);
  assert.is(fix.status, 1, fix.stderr);
  const out = JSON.parse(fix.stdout);
  assert.equal(out.repaired, []);
  assert.equal(out.unrepaired.map((u: { path: string }) => u.path), [data.path]);
  assert.match(out.unrepaired[0].reason, `derivation '${drvPath}' was not made by this store and carries no signature by a trusted key, so its builder is not run`);
  assert.not.ok(exists(checkLog), 'its builder never ran');
  assert.is(fs.readFileSync(path.join(data.path, 'table.txt'), 'utf8'), 'damaged\n');
  const text = run(['verify', '--check-contents', '--repair']);
  assert.match(text.stderr, `cannot repair '${data.path}': not fetched (no binary cache configured), not rebuilt: cannot rebuild from '${drvPath}': derivation '${drvPath}' was not made by this store`);

  // Signed by a key the store trusts, it is built from (the forged builder makes something
  // else, so nothing is replaced).
  const keys = makeKeys('calib-maker');
  const keyFile = path.join(dir, 'calib-maker.sec');
  fs.writeFileSync(keyFile, keys.secretText);
  const sign = run(['sign', drvPath, '--key-file', keyFile]);
  assert.is(sign.status, 0, sign.stderr);
  writeConfig(root, { trustedPublicKeys: [keys.publicKey] });
  const signed = run(['verify', '--check-contents', '--repair', '--json']);
  assert.is(signed.status, 1, signed.stderr);
  assert.match(JSON.parse(signed.stdout).unrepaired[0].reason, /may not be deterministic/);
  assert.ok(exists(checkLog), 'the trusted .drv was built from');
});

test.run();
