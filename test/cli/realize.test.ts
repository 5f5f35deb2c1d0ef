import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree, type TreeSpec } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { parseDerivation } from '../../src/derivation/derivation.js';

interface Env {
  dir: string;
  root: string;
  storeDir: string;
}

function setup(files: TreeSpec): Env {
  const dir = tmpDir('realize');
  writeTree(dir, files);
  const root = path.join(tmpDir('realize-store'), 'root');
  return { dir, root, storeDir: path.join(root, 'store') };
}

function cli(env: Env, args: string[], cwd = env.dir) {
  return runCli(args, { storeRoot: env.root, cwd });
}

function ok(env: Env, args: string[], cwd = env.dir): string {
  const r = cli(env, args, cwd);
  assert.is(r.status, 0, `store ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** What the store database says of a path (read in-process: cheaper than `store path-info`). */
function pathInfo(env: Env, p: string): { path: string; references: string[]; deriver: string | null; narHash: string } {
  const store = new LocalStore(env.root);
  try {
    const info = store.pathInfo(p);
    return { path: info.path, references: [...info.references].sort(), deriver: info.deriver ?? null, narHash: info.narHash };
  } finally {
    store.close();
  }
}

interface EvalRecord {
  attr: string;
  name: string;
  drvPath: string;
  outputs: Record<string, string>;
}

function evalAttrs(env: Env, file: string): Record<string, EvalRecord> {
  const out: Record<string, EvalRecord> = {};
  for (const r of JSON.parse(ok(env, ['eval', file, '--json'])) as EvalRecord[]) out[r.attr] = r;
  return out;
}

const GRAPH = `import { derivation, host, path } from 'hepstore';
const mkdir = host.tool('mkdir');
const data = path('./data.txt');
export const dep = derivation({ name: 'dep', builder: '/bin/sh', args: ['-c', 'echo dep-content > $out'] });
export const embeds = derivation({ name: 'embeds', builder: '/bin/sh', args: ['-c', \`echo "dep is at \${dep}, data at \${data}" > $out\`] });
export const usesOnly = derivation({ name: 'uses-only', builder: '/bin/sh', args: ['-c', \`read x < \${dep}; read y < \${data}; echo "$x $y" > $out\`] });
export const self = derivation({ name: 'self', builder: '/bin/sh', args: ['-c', 'echo "I am $out" > $out'] });
export const lib = derivation({
  name: 'lib',
  outputs: ['out', 'dev'],
  builder: '/bin/sh',
  args: ['-c', \`echo lib > $out; \${mkdir} $dev; echo "-L$out" > $dev/flags\`],
});
export const app = derivation({ name: 'app', builder: '/bin/sh', args: ['-c', \`read f < \${lib.dev}/flags; echo "app linked with $f" > $out\`] });
export default [embeds, usesOnly];
`;

test('realize prints the outputs, makes ./result and ./result-2, and registers them as GC roots', () => {
  const env = setup({ 'default.ts': GRAPH, 'data.txt': 'some data\n' });
  const attrs = evalAttrs(env, 'default.ts');
  const out = ok(env, ['realize', 'default.ts']);
  assert.equal(out.trim().split('\n'), [attrs['0'].outputs.out, attrs['1'].outputs.out]);
  assert.is(fs.readlinkSync(path.join(env.dir, 'result')), attrs['0'].outputs.out);
  assert.is(fs.readlinkSync(path.join(env.dir, 'result-2')), attrs['1'].outputs.out);
  assert.is(fs.readFileSync(path.join(env.dir, 'result-2'), 'utf8'), 'dep-content some data\n');
  const embeds = fs.readFileSync(path.join(env.dir, 'result'), 'utf8');
  assert.ok(embeds.startsWith(`dep is at ${env.storeDir}/`), embeds);
  // Indirect GC roots: var/gcroots/auto/* point at the out-links.
  const auto = path.join(env.root, 'var', 'gcroots', 'auto');
  const targets = fs.readdirSync(auto).map((n) => fs.readlinkSync(path.join(auto, n))).sort();
  assert.equal(targets, [path.join(env.dir, 'result'), path.join(env.dir, 'result-2')]);
});

test('--out-link, --no-out-link and --json', () => {
  const env = setup({ 'default.ts': GRAPH, 'data.txt': 'some data\n' });
  const dep = JSON.parse(ok(env, ['eval', 'default.ts', '--json', '-A', 'dep']))[0] as EvalRecord;
  const json = JSON.parse(ok(env, ['realize', 'default.ts', '-A', 'dep', '--json', '--out-link', 'links/dep']));
  assert.equal(json, [{ attr: 'dep', drvPath: dep.drvPath, outputs: dep.outputs }]);
  assert.is(fs.readFileSync(json[0].outputs.out, 'utf8'), 'dep-content\n');
  assert.is(fs.readlinkSync(path.join(env.dir, 'links', 'dep')), json[0].outputs.out);
  assert.not.ok(fs.existsSync(path.join(env.dir, 'result')));
  const noLink = ok(env, ['realize', 'default.ts', '-A', 'self', '--no-out-link']);
  assert.match(noLink, /-self\n$/);
  assert.equal(fs.readdirSync(env.dir).sort(), ['data.txt', 'default.ts', 'links']);
  const both = cli(env, ['realize', 'default.ts', '--out-link', 'x', '--no-out-link']);
  assert.is(both.status, 1);
  assert.match(both.stderr, /do not go together/);
});

test('an existing file is never replaced by an out-link', () => {
  const env = setup({ 'default.ts': GRAPH, 'data.txt': 'some data\n', result: 'precious\n' });
  const r = cli(env, ['realize', 'default.ts', '-A', 'dep']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /exists and is not a symlink/);
  assert.is(fs.readFileSync(path.join(env.dir, 'result'), 'utf8'), 'precious\n');
});

test('the .drv files are registered with their references; outputs with their deriver', () => {
  const env = setup({ 'default.ts': GRAPH, 'data.txt': 'some data\n' });
  ok(env, ['realize', 'default.ts', '--no-out-link']);
  const store = new LocalStore(env.root);
  try {
    const valid = store.allValidPaths();
    const drvs = valid.filter((p) => p.endsWith('.drv'));
    assert.equal(drvs.map((p) => path.basename(p).slice(33)).sort(), ['dep.drv', 'embeds.drv', 'uses-only.drv']);
    const embedsDrv = drvs.find((p) => p.endsWith('-embeds.drv'))!;
    const depDrv = drvs.find((p) => p.endsWith('-dep.drv'))!;
    const src = valid.find((p) => p.endsWith('-data.txt'))!;
    assert.ok(src, 'the source was added');
    const info = JSON.parse(ok(env, ['path-info', embedsDrv, '--json']))[0];
    assert.equal(info.references, [depDrv, src].sort());
    assert.is(info.deriver, null);
    // The .drv on disk is what was hashed.
    const drv = parseDerivation(fs.readFileSync(embedsDrv, 'utf8'), path.basename(embedsDrv));
    assert.equal(Object.keys(drv.inputDrvs), [depDrv]);
    assert.equal(drv.inputSrcs, [src]);
    assert.is(pathInfo(env, drv.outputs.out.path).deriver, embedsDrv);
    // show-derivation prints the same thing.
    const shown = JSON.parse(ok(env, ['show-derivation', embedsDrv]));
    assert.equal(shown[embedsDrv].env, drv.env);
    assert.equal(shown[embedsDrv].inputDrvs, drv.inputDrvs);
  } finally {
    store.close();
  }
});

test('output references are exactly the store paths found in the output', () => {
  const env = setup({ 'default.ts': GRAPH, 'data.txt': 'some data\n' });
  const a = evalAttrs(env, 'default.ts');
  const attrs = JSON.parse(ok(env, ['eval', 'default.ts', '--json', '-A', 'embeds']))[0] as EvalRecord;
  ok(env, ['realize', 'default.ts', '--no-out-link']);
  const store = new LocalStore(env.root);
  const src = store.allValidPaths().find((p) => p.endsWith('-data.txt'))!;
  store.close();
  const depOut = fs.readFileSync(attrs.outputs.out, 'utf8').match(/dep is at (\S+),/)![1];
  assert.match(depOut, /-dep$/);
  // embeds mentions dep and the source: both are references.
  assert.equal(pathInfo(env, a['0'].outputs.out).references, [depOut, src].sort());
  // uses-only read them while building, but its output does not mention them: no references.
  assert.equal(pathInfo(env, a['1'].outputs.out).references, []);
  // A self-reference is recorded.
  const self = ok(env, ['realize', 'default.ts', '-A', 'self', '--no-out-link']).trim();
  assert.equal(pathInfo(env, self).references, [self]);
});

test('multiple outputs: both are built, ${drv.dev} depends on dev, and result-dev is linked', () => {
  const env = setup({ 'default.ts': GRAPH, 'data.txt': 'some data\n' });
  const lib = JSON.parse(ok(env, ['eval', 'default.ts', '--json', '-A', 'lib']))[0] as EvalRecord;
  assert.equal(Object.keys(lib.outputs), ['out', 'dev']);
  const printed = ok(env, ['realize', 'default.ts', '-A', 'lib']).trim().split('\n');
  assert.equal(printed, [lib.outputs.out, lib.outputs.dev]);
  assert.is(fs.readlinkSync(path.join(env.dir, 'result')), lib.outputs.out);
  assert.is(fs.readlinkSync(path.join(env.dir, 'result-dev')), lib.outputs.dev);
  assert.is(fs.readFileSync(path.join(lib.outputs.dev, 'flags'), 'utf8'), `-L${lib.outputs.out}\n`);
  assert.equal(pathInfo(env, lib.outputs.dev).references, [lib.outputs.out]);
  assert.equal(pathInfo(env, lib.outputs.out).references, []);
  // Realized again (everything valid): the same outputs and links.
  fs.rmSync(path.join(env.dir, 'result-dev'));
  assert.equal(ok(env, ['realize', 'default.ts', '-A', 'lib']).trim().split('\n'), printed);
  assert.is(fs.readlinkSync(path.join(env.dir, 'result-dev')), lib.outputs.dev);
  const app = ok(env, ['realize', 'default.ts', '-A', 'app', '--no-out-link']).trim();
  assert.is(fs.readFileSync(app, 'utf8'), `app linked with -L${lib.outputs.out}\n`);
  assert.equal(pathInfo(env, app).references, [lib.outputs.out]);
  const appDrv = parseDerivation(fs.readFileSync(pathInfo(env, app).deriver!, 'utf8'), 'app.drv');
  assert.equal(Object.values(appDrv.inputDrvs), [['dev']]);
});

test('only one output asked for: drv.dev alone gives result-dev', () => {
  const env = setup({
    'dev.ts': GRAPH.replace('export default [embeds, usesOnly];', 'export default lib.dev;'),
    'data.txt': 'some data\n',
  });
  const printed = ok(env, ['realize', 'dev.ts']).trim().split('\n');
  assert.is(printed.length, 1);
  assert.match(printed[0], /-lib-dev$/);
  assert.equal(fs.readdirSync(env.dir).filter((f) => f.startsWith('result')), ['result-dev']);
});

const COUNTED = (counter: string, tag: string) => `import { derivation } from 'hepstore';
const a = derivation({ name: 'a', builder: '/bin/sh', args: ['-c', 'echo a >> ${counter}; echo built a; echo a > $out'] });
export default derivation({ name: 'b', builder: '/bin/sh', args: ['-c', \`echo b >> ${counter}; echo built b; read x < \${a}; echo "$x ${tag}" > $out\`] });
`;

test('a second realize of a valid graph builds nothing (counted by builders outside the sandbox)', () => {
  const counter = path.join(tmpDir('counter'), 'runs');
  const env = setup({ 'default.ts': COUNTED(counter, 'v1') });
  const first = ok(env, ['realize', 'default.ts', '--no-sandbox']);
  assert.is(fs.readFileSync(counter, 'utf8'), 'a\nb\n');
  const second = ok(env, ['realize', 'default.ts', '--no-sandbox']);
  assert.is(second, first);
  assert.is(fs.readFileSync(counter, 'utf8'), 'a\nb\n', 'nothing ran again');
  // The counter does see builds: change only b, and only b runs.
  fs.writeFileSync(path.join(env.dir, 'default.ts'), COUNTED(counter, 'v2'));
  ok(env, ['realize', 'default.ts', '--no-sandbox']);
  assert.is(fs.readFileSync(counter, 'utf8'), 'a\nb\nb\n');
});

test('a second realize builds nothing in the sandbox either (the build logs are not rewritten)', () => {
  const env = setup({ 'default.ts': GRAPH, 'data.txt': 'some data\n' });
  ok(env, ['realize', 'default.ts']);
  const logDir = path.join(env.root, 'var', 'log');
  const logs = fs.readdirSync(logDir).sort();
  assert.is(logs.length, 3, 'one log per build');
  const old = new Date('2001-01-01T00:00:00Z');
  for (const l of logs) fs.utimesSync(path.join(logDir, l), old, old);
  ok(env, ['realize', 'default.ts']);
  assert.equal(fs.readdirSync(logDir).sort(), logs);
  for (const l of logs) assert.is(fs.statSync(path.join(logDir, l)).mtimeMs, old.getTime(), `${l} untouched`);
  // and a new derivation in the same graph does write its log
  ok(env, ['realize', 'default.ts', '-A', 'self']);
  assert.is(fs.readdirSync(logDir).length, 4);
});

test('`store log` prints what the builder wrote, for an output, a .drv or ./result', () => {
  const counter = path.join(tmpDir('counter'), 'runs');
  const env = setup({ 'default.ts': COUNTED(counter, 'v1') });
  const out = ok(env, ['realize', 'default.ts', '--no-sandbox']).trim();
  assert.is(ok(env, ['log', out]), 'built b\n');
  assert.is(ok(env, ['log', './result']), 'built b\n');
  const drv = pathInfo(env, out).deriver!;
  assert.is(ok(env, ['log', drv]), 'built b\n');
  const aDrv = Object.keys(parseDerivation(fs.readFileSync(drv, 'utf8'), 'b.drv').inputDrvs)[0];
  const a = parseDerivation(fs.readFileSync(aDrv, 'utf8'), 'a.drv').outputs.out.path;
  assert.is(ok(env, ['log', a]), 'built a\n');
  assert.is(ok(env, ['log', aDrv]), 'built a\n');
  // A path that was not built here has no log.
  const added = ok(env, ['add', path.join(env.dir, 'default.ts')]).trim();
  const r = cli(env, ['log', added]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /no build log/);
});

test.run();
