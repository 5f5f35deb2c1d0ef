import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree, type TreeSpec } from '../helpers.js';

interface World {
  dir: string;
  root: string;
}

function world(files: TreeSpec): World {
  const dir = tmpDir('evalcache');
  writeTree(dir, files);
  return { dir, root: path.join(tmpDir('evalcache-store'), 'root') };
}

function cli(w: World, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, { storeRoot: w.root, cwd: w.dir, env });
}

function ok(w: World, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = cli(w, args, env);
  assert.is(r.status, 0, `store ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** How many times the expression has been evaluated (it appends a line each time). */
function evaluations(w: World): number {
  const f = path.join(w.dir, 'evaluations.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').length - 1 : 0;
}

function cacheEntries(w: World): string[] {
  const dir = path.join(w.root, 'var', 'cache', 'eval');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.roots')).map((f) => path.join(dir, f)) : [];
}

const COUNT = `import fs from 'node:fs';
fs.appendFileSync(new URL('./evaluations.log', import.meta.url), 'evaluated\\n');
`;

/** An expression that reads a module, a data file, a variable and a path() source. */
const EXPR = `${COUNT}import { derivation, path } from 'hepstore';
import { greeting } from './lib.ts';
const data = JSON.parse(fs.readFileSync(new URL('./data.json', import.meta.url), 'utf8')) as { n: number };
const flavour = process.env.EVALCACHE_FLAVOUR ?? 'plain';
const src = path('./src');
export const a = derivation({ name: 'a', builder: '/bin/sh', args: ['-c', \`read l < \${src}/file; echo \${greeting} \${data.n} \${flavour} > $out; echo $l >> $out\`] });
export const b = derivation({ name: 'b', outputs: ['out', 'dev'], builder: '/bin/sh', args: ['-c', \`echo \${a} > $out; echo dev > $dev\`] });
export default [a, b];
`;

function files(): TreeSpec {
  return { 'default.ts': EXPR, 'lib.ts': "export const greeting = 'hello';\n", 'data.json': '{"n": 1}\n', src: { file: 'one\n' } };
}

const realize = (w: World, env: NodeJS.ProcessEnv = {}, extra: string[] = []) => ok(w, ['realize', 'default.ts', '--no-sandbox', ...extra], env);
const contents = (out: string) => fs.readFileSync(out.trim().split('\n')[0], 'utf8');

test('a second realize of an unchanged expression does not evaluate it; --no-eval-cache does', () => {
  const w = world(files());
  const first = realize(w);
  assert.is(evaluations(w), 1);
  assert.is(cacheEntries(w).length, 1);
  assert.is(realize(w), first);
  assert.is(realize(w), first);
  assert.is(evaluations(w), 1, 'the no-op realizes took the cached evaluation');
  assert.is(realize(w, {}, ['--no-eval-cache']), first);
  assert.is(evaluations(w), 2);
});

test('editing an imported module, a data file it reads, a variable it reads or a path() source evaluates again', () => {
  const w = world(files());
  assert.is(contents(realize(w)), 'hello 1 plain\none\n');
  fs.writeFileSync(path.join(w.dir, 'lib.ts'), "export const greeting = 'howdy';\n");
  assert.is(contents(realize(w)), 'howdy 1 plain\none\n');
  fs.writeFileSync(path.join(w.dir, 'data.json'), '{"n": 2}\n');
  assert.is(contents(realize(w)), 'howdy 2 plain\none\n');
  assert.is(contents(realize(w, { EVALCACHE_FLAVOUR: 'spicy' })), 'howdy 2 spicy\none\n');
  assert.is(evaluations(w), 4);
  // Set to its value of last time: cached; unset again: evaluated.
  assert.is(contents(realize(w, { EVALCACHE_FLAVOUR: 'spicy' })), 'howdy 2 spicy\none\n');
  assert.is(evaluations(w), 4);
  assert.is(contents(realize(w)), 'howdy 2 plain\none\n');
  assert.is(evaluations(w), 5);
  fs.writeFileSync(path.join(w.dir, 'src', 'file'), 'two\n');
  assert.is(contents(realize(w)), 'howdy 2 plain\ntwo\n');
  fs.writeFileSync(path.join(w.dir, 'src', 'new'), 'a file more in the tree\n');
  realize(w);
  assert.is(evaluations(w), 7);
  realize(w);
  assert.is(evaluations(w), 7);
});

test('a corrupt or truncated cache entry is a miss, not an error', () => {
  const w = world(files());
  const first = realize(w);
  const [entry] = cacheEntries(w);
  const good = fs.readFileSync(entry, 'utf8');
  const [header, roots, ...paths] = good.split('\n');
  const junks = [
    '{"format": 2, "identity": {',
    '',
    'null\n',
    good.slice(0, -10), // truncated
    [header, roots.replace('"0"', '"9"'), ...paths].join('\n'), // the body does not match its hash
    [header.replace('"paths":', '"paths":1'), roots, ...paths].join('\n'),
    good.replaceAll(paths[0], paths[1]),
  ];
  for (const junk of junks) {
    fs.writeFileSync(entry, junk);
    assert.is(realize(w), first);
  }
  assert.is(evaluations(w), 1 + junks.length);
  assert.is(realize(w), first);
  assert.is(evaluations(w), 1 + junks.length, 'the entry was written again');
});

test('--json and the out-links of a cached no-op are those of an evaluated one', () => {
  const w = world(files());
  const evaluated = realize(w, {}, ['--json', '--no-eval-cache']);
  realize(w); // makes the entry
  const links = () => Object.fromEntries(fs.readdirSync(w.dir).filter((f) => f.startsWith('out')).map((f) => [f, fs.readlinkSync(path.join(w.dir, f))]));
  ok(w, ['realize', 'default.ts', '--json', '--no-eval-cache', '-o', 'out']);
  const before = links();
  for (const f of Object.keys(before)) fs.unlinkSync(path.join(w.dir, f));
  const n = evaluations(w);
  const cached = ok(w, ['realize', 'default.ts', '--json', '-o', 'out']);
  assert.is(evaluations(w), n, 'taken from the cache');
  assert.is(cached, evaluated);
  assert.equal(links(), before);
  assert.equal(Object.keys(before).sort(), ['out', 'out-2', 'out-2-dev']);
  const roots = JSON.parse(cached) as Array<{ attr: string; drvPath: string; outputs: Record<string, string> }>;
  assert.equal(roots.map((r) => r.attr), ['0', '1']);
  // --attr is a key of its own.
  const b = JSON.parse(ok(w, ['realize', 'default.ts', '--json', '--no-out-link', '-A', 'b']));
  assert.equal(b, [{ ...roots[1], attr: 'b' }]);
  assert.is(evaluations(w), n + 1);
  assert.equal(JSON.parse(ok(w, ['realize', 'default.ts', '--json', '--no-out-link', '-A', 'b'])), b);
  assert.is(evaluations(w), n + 1);
});

test('outputs that are no longer valid: the expression is evaluated and they are built again', () => {
  const w = world(files());
  const out = realize(w, {}, ['--no-out-link']).trim().split('\n');
  assert.is(cli(w, ['delete', ...out]).status, 0);
  assert.not.ok(fs.existsSync(out[0]));
  assert.is(realize(w, {}, ['--no-out-link']).trim().split('\n').join(), out.join());
  assert.is(evaluations(w), 2);
  assert.ok(fs.existsSync(out[0]));
});

test('an evaluation with I/O that cannot be checked again is never cached', () => {
  const cases: Record<string, string> = {
    'a child process': "import { execFileSync } from 'node:child_process';\nconst v = execFileSync('/bin/cat', [new URL('./v', import.meta.url).pathname], { encoding: 'utf8' }).trim();\n",
    'a read through a descriptor': "const fd = fs.openSync(new URL('./v', import.meta.url), 'r');\nconst buf = Buffer.alloc(64);\nconst v = buf.subarray(0, fs.readSync(fd, buf)).toString().trim();\nfs.closeSync(fd);\n",
    'the clock': 'const v = String(Date.now() > 0);\n',
  };
  for (const [what, read] of Object.entries(cases)) {
    const w = world({
      'default.ts': `${COUNT}import { derivation } from 'hepstore';\n${read}export default derivation({ name: 'v', builder: '/bin/sh', args: ['-c', \`echo \${v} > $out\`] });\n`,
      v: '1\n',
    });
    realize(w);
    realize(w);
    assert.is(evaluations(w), 2, what);
    assert.equal(cacheEntries(w), [], what);
  }
});

test('a file that did not exist, a directory listing and the working directory are inputs too', () => {
  const w = world({
    'default.ts': `${COUNT}import { derivation } from 'hepstore';
const extra = fs.existsSync(new URL('./extra.txt', import.meta.url)) ? 'extra' : 'none';
const listing = fs.readdirSync(new URL('./dir', import.meta.url)).sort().join(',');
const rel = fs.readFileSync('rel.txt', 'utf8').trim();
export default derivation({ name: 'v', builder: '/bin/sh', args: ['-c', \`echo \${extra} \${listing} \${rel} > $out\`] });
`,
    dir: { x: '' },
    'rel.txt': 'here\n',
    sub: { 'rel.txt': 'there\n' },
  });
  assert.is(contents(realize(w)), 'none x here\n');
  assert.is(contents(realize(w)), 'none x here\n');
  assert.is(evaluations(w), 1);
  fs.writeFileSync(path.join(w.dir, 'extra.txt'), '');
  assert.is(contents(realize(w)), 'extra x here\n');
  fs.writeFileSync(path.join(w.dir, 'dir', 'y'), '');
  assert.is(contents(realize(w)), 'extra x,y here\n');
  assert.is(evaluations(w), 3);
  // The file read by a relative name depends on where store runs.
  const sub = ok({ ...w, dir: path.join(w.dir, 'sub') }, ['realize', '../default.ts', '--no-sandbox', '--no-out-link']);
  assert.is(contents(sub), 'extra x,y there\n');
  assert.is(evaluations(w), 4);
});

test('--pure is kept: a cached evaluation that used host tools is refused as an evaluated one is', () => {
  const w = world({
    'default.ts': `${COUNT}import { derivation, host } from 'hepstore';\nexport default derivation({ name: 'h', builder: '/bin/sh', args: ['-c', \`\${host.tool('true')}; echo > $out\`] });\n`,
  });
  realize(w);
  realize(w);
  assert.is(evaluations(w), 1);
  const r = cli(w, ['realize', 'default.ts', '--pure', '--no-sandbox']);
  assert.is(r.status, 1);
  assert.match(r.stderr, 'host');
  assert.is(evaluations(w), 2);
});

test('--arg and --argstr are part of the key: another value evaluates again, the same one does not', () => {
  const w = world({
    'default.ts': `${COUNT}import { derivation } from 'hepstore';
export default ({ n = 1, label = 'x' }: { n?: number; label?: string }) =>
  derivation({ name: 'p', builder: '/bin/sh', args: ['-c', \`echo \${n} \${label} > $out\`] });
`,
  });
  const one = realize(w, {}, ['--arg', 'n', '1']);
  assert.is(contents(one), '1 x\n');
  assert.is(realize(w, {}, ['--arg', 'n', '1']), one);
  assert.is(evaluations(w), 1, 'the same argument: a cached no-op');
  const two = realize(w, {}, ['--arg', 'n', '2']);
  assert.is(evaluations(w), 2);
  assert.is(contents(two), '2 x\n');
  assert.is(contents(realize(w, {}, ['--arg', 'n', '2', '--argstr', 'label', 'y'])), '2 y\n');
  assert.is(evaluations(w), 3);
  // No argument is not the default's value given: another key, the same paths.
  assert.is(realize(w), one);
  assert.is(evaluations(w), 4);
  // The order of the flags does not matter.
  realize(w, {}, ['--argstr', 'label', 'y', '--arg', 'n', '2']);
  assert.is(evaluations(w), 4);
});

const evalEntries = (w: World) => {
  const dir = path.join(w.root, 'var', 'cache', 'eval');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.eval')) : [];
};

test('store eval: without a store nothing is kept; with one, an unchanged file is not evaluated again and prints the same', () => {
  const w = world(files());
  const text = ok(w, ['eval', 'default.ts']);
  ok(w, ['eval', 'default.ts']);
  assert.is(evaluations(w), 2, 'no store: evaluated every time');
  assert.not.ok(fs.existsSync(w.root), 'eval made no store');
  realize(w); // makes the store (and realize's own entry)
  assert.is(evaluations(w), 3);
  assert.is(ok(w, ['eval', 'default.ts']), text);
  assert.is(evaluations(w), 4);
  assert.is(evalEntries(w).length, 1);
  assert.is(ok(w, ['eval', 'default.ts']), text);
  assert.is(ok(w, ['eval', '.']), text, 'the directory stands for the same file');
  assert.is(evaluations(w), 4, 'taken from the cache');
  assert.is(ok(w, ['eval', 'default.ts', '--no-eval-cache']), text);
  assert.is(evaluations(w), 5);
  // Every output is printed, not only those realize asks for.
  assert.match(text, /\tb\.drv|-b\.drv\t\S+ \S+-b-dev\n/);
});

test('store eval --json: the host tools of each root; a cached answer is the evaluated one', () => {
  const w = world({
    ...files(),
    'host.ts': `${COUNT}import { derivation, host } from 'hepstore';\nexport default derivation({ name: 'h', builder: '/bin/sh', args: ['-c', \`\${host.tool('true')}; echo > $out\`] });\n`,
  });
  realize(w);
  const n = evaluations(w);
  for (const file of ['default.ts', 'host.ts']) {
    const evaluated = ok(w, ['eval', file, '--json', '--no-eval-cache']);
    ok(w, ['eval', file]); // an entry without the host tools
    assert.is(ok(w, ['eval', file, '--json']), evaluated, `${file}: evaluated again for the host tools`);
    const m = evaluations(w);
    assert.is(ok(w, ['eval', file, '--json']), evaluated, file);
    assert.is(ok(w, ['eval', file]), ok(w, ['eval', file, '--no-eval-cache']), file);
    assert.is(evaluations(w), m + 1, `${file}: only --no-eval-cache evaluated`);
  }
  assert.is(evaluations(w), n + 8);
  const hostTools = (JSON.parse(ok(w, ['eval', 'host.ts', '--json'])) as Array<{ hostTools: Array<{ kind: string; name: string }> }>)[0].hostTools;
  assert.equal(hostTools.map((t) => `${t.kind} ${t.name}`), ['tool true', 'builder sh']);
  // --pure refuses it as an evaluation does, cache or not.
  for (let i = 0; i < 2; i++) {
    const r = cli(w, ['eval', 'host.ts', '--pure']);
    assert.is(r.status, 1);
    assert.match(r.stderr, 'pure mode');
  }
  // A pure closure (a download) is answered from the cache under --pure once an entry says it is pure.
  const pure = `${COUNT}import { fetchurl } from 'hepstore';\nexport default fetchurl({ url: 'http://127.0.0.1:9/x.tar.gz', integrity: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' });\n`;
  fs.writeFileSync(path.join(w.dir, 'pure.ts'), pure);
  ok(w, ['eval', 'pure.ts']);
  const k = evaluations(w);
  const printed = ok(w, ['eval', 'pure.ts', '--pure']);
  assert.is(evaluations(w), k + 1, 'an entry made without --pure does not say whether the closure is pure');
  assert.is(ok(w, ['eval', 'pure.ts', '--pure']), printed);
  assert.is(evaluations(w), k + 1);
});

test('store eval: an edited module, a changed variable or another --arg evaluates again; a corrupt entry is a miss', () => {
  const w = world(files());
  realize(w);
  const before = ok(w, ['eval', 'default.ts']);
  fs.writeFileSync(path.join(w.dir, 'lib.ts'), "export const greeting = 'howdy';\n");
  const edited = ok(w, ['eval', 'default.ts']);
  assert.is.not(edited, before);
  const flavoured = ok(w, ['eval', 'default.ts'], { EVALCACHE_FLAVOUR: 'spicy' });
  assert.is.not(flavoured, edited);
  assert.is(ok(w, ['eval', 'default.ts'], { EVALCACHE_FLAVOUR: 'spicy' }), flavoured);
  const n = evaluations(w);
  const [entry] = evalEntries(w);
  const file = path.join(w.root, 'var', 'cache', 'eval', entry);
  const good = fs.readFileSync(file, 'utf8');
  for (const junk of ['', good.slice(0, -5), good.replace('"name":"a"', '"name":"z"'), good.replace(/\n.*$/, '\n[{"attr":"0"}]')]) {
    fs.writeFileSync(file, junk);
    assert.is(ok(w, ['eval', 'default.ts'], { EVALCACHE_FLAVOUR: 'spicy' }), flavoured);
  }
  assert.is(evaluations(w), n + 4);
  const args = world({
    'default.ts': `${COUNT}import { derivation } from 'hepstore';\nexport default ({ n = 1 }: { n?: number }) => derivation({ name: \`p\${n}\`, builder: '/bin/sh', args: ['-c', 'echo > $out'] });\n`,
  });
  ok(args, ['realize', 'default.ts', '--no-sandbox', '--no-out-link']);
  assert.match(ok(args, ['eval', 'default.ts', '--arg', 'n', '2']), /-p2\.drv/);
  assert.match(ok(args, ['eval', 'default.ts', '--arg', 'n', '3']), /-p3\.drv/);
  assert.match(ok(args, ['eval', 'default.ts', '--arg', 'n', '2']), /-p2\.drv/);
  assert.is(evaluations(args), 3);
});

test.run();
