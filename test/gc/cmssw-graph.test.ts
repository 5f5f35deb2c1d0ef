/** exprs/cmssw/graph.ts: CMSSW dependency graphs as derivations (used through expression files). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';

const GRAPH_TS = path.join(REPO, 'exprs', 'cmssw', 'graph.ts');

function expr(graph: object): string {
  return `import { packages, release } from ${JSON.stringify(GRAPH_TS)};
const graph = ${JSON.stringify(graph)};
export const rel = () => release(graph as never);
export const app = () => packages(graph as never)('app');
export const lib = () => packages(graph as never)('lib');
export const wheel = () => packages(graph as never)('py3-wheel');
`;
}

const SMALL = {
  'cmssw-tools': { v: '1.0', kind: 'spec', req: ['app', 'py3-wheel'], breq: [] },
  python_tools: { v: '3.0', kind: 'spec', req: ['py3-wheel'], breq: [] },
  app: { v: '2.%{x_version}', kind: 'spec', req: ['lib'], breq: ['cmake'] },
  lib: { v: '3.1-2', kind: 'spec', req: [], breq: ['cmake'] },
  cmake: { v: '3.28', kind: 'spec', req: [], breq: [] },
  'py3-wheel': { v: '0.41', kind: 'pip', req: ['py3-flit-core'], breq: [] },
  'py3-flit-core': { v: '3.9', kind: 'pip', req: [], breq: ['py3-wheel'] },
  'data-Foo': { v: null, kind: 'missing', req: [], breq: [] },
};

function setup(graph: object, root = path.join(tmpDir('cmssw-graph-store'), 'root')) {
  const dir = tmpDir('cmssw-graph');
  writeTree(dir, { 'g.ts': expr(graph) });
  return { dir, root, run: (args: string[]) => runCli(args, { storeRoot: root, cwd: dir }) };
}

test('runtime dependencies become references, build-only ones do not; the flit-core/wheel cycle is broken explicitly', () => {
  const env = setup(SMALL);
  const r = env.run(['realize', 'g.ts', '--attr', 'rel', '--no-sandbox', '--json']);
  assert.is(r.status, 0, r.stderr);
  const outs = JSON.parse(r.stdout) as Array<{ attr: string; outputs: { out: string } }>;
  assert.equal(outs.map((o) => o.attr), ['rel.cmssw-tool-conf', 'rel.python_tools'], 'the roots of a release, cmssw-tools providing cmssw-tool-conf');
  const tools = outs[0];
  const store = new LocalStore(env.root);
  try {
    const closure = store.queryClosure([tools.outputs.out]).map((p) => path.basename(p).slice(33)).sort();
    assert.equal(closure, ['app-2.x_version', 'cmssw-tools-1.0', 'lib-3.1-2', 'py3-flit-core-3.9', 'py3-wheel-0.41'], 'cmake is build-only; macros in versions are expanded to names');
    const all = store.allValidPaths().map((p) => path.basename(p).slice(33));
    assert.ok(all.includes('cmake-3.28'), 'cmake was built');
  } finally {
    store.close();
  }
});

test('the same graph gives the same derivations; a version change changes the package and its dependents only', () => {
  const a = setup(SMALL);
  const evalOf = (env: ReturnType<typeof setup>, attr: string) => {
    const r = env.run(['eval', 'g.ts', '--attr', attr, '--json']);
    assert.is(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as Array<{ outputs: { out: string } }>)[0].outputs.out.split('/').pop()!;
  };
  const b = setup(SMALL, a.root);
  assert.is(evalOf(a, 'app'), evalOf(b, 'app'));
  const c = setup({ ...SMALL, cmake: { ...SMALL.cmake, v: '3.29' } }, a.root);
  assert.is.not(evalOf(a, 'lib'), evalOf(c, 'lib'), 'lib is built with cmake');
  assert.is.not(evalOf(a, 'app'), evalOf(c, 'app'), 'app too, and it uses lib');
  assert.is(evalOf(a, 'wheel'), evalOf(c, 'wheel'), 'py3-wheel does not use cmake');
});

test('any other cycle is an error that names its members', () => {
  const env = setup({ ...SMALL, lib: { ...SMALL.lib, req: ['app'] } });
  const r = env.run(['eval', 'g.ts', '--attr', 'rel']);
  assert.is(r.status, 1);
  assert.match(r.stderr, 'CMSSW graph has dependency cycles: app <-> lib');
  assert.not.match(r.stderr, 'py3-flit-core <->');
});

test('the real graphs: only the known bootstrap cycle, every release has its roots', () => {
  const dir = tmpDir('cmssw-real');
  writeTree(dir, {
    'check.ts': `import { readGraph, findCycles, release } from ${JSON.stringify(GRAPH_TS)};
import { derivation } from 'hepstore';
const out: string[] = [];
for (const c of ['13_0', '14_0', '14_1', '14_2']) {
  const g = readGraph(c);
  out.push(\`\${c}:\${findCycles(g).length}:\${findCycles(g, []).map((x) => x.join('+')).join(',')}:\${Object.entries(release(g, { scale: 0 })).map(([k, d]) => k + '=' + d.name).join(',')}\`);
}
export default derivation({ name: 'report', builder: '/bin/sh', args: ['-c', \`echo '\${out.join(' ')}' > $out\`] });
`,
  });
  const r = runCli(['realize', 'check.ts', '--no-out-link', '--no-sandbox'], { storeRoot: path.join(tmpDir('cmssw-real-store'), 'root'), cwd: dir });
  assert.is(r.status, 0, r.stderr);
  const lines = fs.readFileSync(r.stdout.trim(), 'utf8').trim().split(' ');
  assert.is(lines.length, 4);
  assert.match(lines[0], /^13_0:0::cmssw-tool-conf=cmssw-tool-conf-[^,]+,python_tools=python_tools-/);
  assert.match(lines[1], /^14_0:0:py3-flit-core\+py3-wheel:cmssw-tool-conf=cmssw-tool-conf-[^,]+,python_tools=python_tools-/);
  assert.match(lines[2], /^14_1:0:py3-flit-core\+py3-wheel:cmssw-tool-conf=cmssw-tools-[^,]+,python_tools=python_tools-/);
  assert.match(lines[3], /^14_2:0:py3-flit-core\+py3-wheel:cmssw-tool-conf=cmssw-tools-[^,]+,python_tools=python_tools-/);
});

/** The payload of a package's output: its lines that are payload lines (64 bytes each, two runs of 31 hex digits). */
function payloadOf(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => /^[0-9a-f]{31}-[0-9a-f]{31}$/.test(l));
}

test('payload sizes: typical of the kind, proportional to the scale, one line at scale 0; contents from name and version only', () => {
  const KINDS = {
    'cmssw-tools': { v: '1.0', kind: 'spec', req: ['root', 'zlib', 'data-Foo'], breq: [] },
    python_tools: { v: '3.0', kind: 'spec', req: ['py3-six', 'root'], breq: [] },
    root: { v: '6.30', kind: 'spec', req: ['zlib'], breq: [] },
    zlib: { v: '1.3', kind: 'spec', req: [], breq: [] },
    'py3-six': { v: '1.16', kind: 'pip', req: [], breq: [] },
    'data-Foo': { v: null, kind: 'missing', req: [], breq: [] },
  };
  const dir = tmpDir('cmssw-sizes');
  const g2 = { ...KINDS, root: { ...KINDS.root, req: [] }, zlib: { ...KINDS.zlib, v: '1.4' } };
  writeTree(dir, {
    'g.ts': `import { release } from ${JSON.stringify(GRAPH_TS)};
export const s0 = () => release(${JSON.stringify(KINDS)} as never, { scale: 0 });
export const s1 = () => release(${JSON.stringify(KINDS)} as never, { scale: 0.001 });
export const s2 = () => release(${JSON.stringify(KINDS)} as never, { scale: 0.002 });
export const other = () => release(${JSON.stringify(g2)} as never, { scale: 0.001 });
`,
  });
  const root = path.join(tmpDir('cmssw-sizes-store'), 'root');
  const store = () => new LocalStore(root);
  /** package name → its payload lines, for the closure of one attribute. */
  const realize = (attr: string): Map<string, string[]> => {
    const r = runCli(['realize', 'g.ts', '--attr', attr, '--no-out-link', '--json'], { storeRoot: root, cwd: dir });
    assert.is(r.status, 0, r.stderr);
    const outs = (JSON.parse(r.stdout) as Array<{ outputs: { out: string } }>).map((o) => o.outputs.out);
    const s = store();
    try {
      return new Map(s.queryClosure(outs).map((p) => [path.basename(p).slice(33).replace(/-[0-9.]+$/, ''), payloadOf(p)]));
    } finally {
      s.close();
    }
  };
  const [s0, s1, s2, other] = ['s0', 's1', 's2', 'other'].map(realize);
  for (const [name, lines] of s0) assert.is(lines.length, 1, `${name}: one payload line at scale 0`);
  const bytes = (m: Map<string, string[]>, n: string) => m.get(n)!.length * 64;
  for (const n of s1.keys()) {
    const [a, b] = [bytes(s1, n), bytes(s2, n)];
    assert.ok(Math.abs(b - 2 * a) <= 128, `${n}: ${a} bytes at scale 0.001, ${b} at 0.002`);
    assert.ok(s1.get(n)!.every((l) => l === s0.get(n)![0]), `${n}: the same line throughout, at every scale`);
  }
  // Typical sizes: ROOT is hundreds of MiB, a data package tens, a Python package a few, a meta package next to nothing.
  assert.ok(bytes(s1, 'root') > bytes(s1, 'data-Foo') && bytes(s1, 'data-Foo') > bytes(s1, 'py3-six') && bytes(s1, 'py3-six') > bytes(s1, 'python_tools'), JSON.stringify([...s1].map(([n, l]) => [n, l.length * 64])));
  assert.ok(bytes(s1, 'root') > 500 * 1024, 'ROOT at 1/1000 of life size is more than half a MiB');
  // Other dependencies, same name and version: same payload; another version: another payload.
  assert.equal(other.get('root'), s1.get('root'));
  assert.is.not(other.get('zlib')![0], s1.get('zlib')![0]);
});

test('release.ts: the argument scale (--arg scale N) sets the payload scale (part of every derivation) and is checked', () => {
  const expr = path.join(REPO, 'exprs', 'cmssw', 'release.ts');
  const root = path.join(tmpDir('cmssw-scale-store'), 'root');
  const evalAt = (...arg: string[]) => runCli(['eval', expr, '--attr', 'CMSSW_14_2_X', '--json', ...arg], { storeRoot: root });
  const outs = (...arg: string[]) => {
    const r = evalAt(...arg);
    assert.is(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as Array<{ attr: string; outputs: { out: string } }>).map((o) => `${o.attr} ${o.outputs.out}`);
  };
  const tiny = outs('--arg', 'scale', '0');
  assert.equal(tiny.map((l) => l.split(' ')[0]), ['CMSSW_14_2_X.cmssw-tool-conf', 'CMSSW_14_2_X.python_tools']);
  assert.equal(outs('--arg', 'scale', '0'), tiny, 'deterministic');
  assert.is.not(outs('--arg', 'scale', '0.001')[1], tiny[1]);
  assert.equal(outs(), outs('--arg', 'scale', '0.001'), 'the default scale is 0.001');
  const word = evalAt('--argstr', 'scale', 'lots');
  assert.is(word.status, 1);
  assert.match(word.stderr, 'the CMSSW payload scale must be a number >= 0, not "lots"');
  const negative = evalAt('--arg', 'scale', '-1');
  assert.is(negative.status, 1);
  assert.match(negative.stderr, 'must be a number >= 0, not -1');
  const typo = evalAt('--arg', 'scael', '0');
  assert.is(typo.status, 1);
  assert.match(typo.stderr, "release.ts takes no argument 'scael' (did you mean 'scale'?)");
});

test.run();
