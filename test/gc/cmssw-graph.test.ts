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
  const [tools] = JSON.parse(r.stdout) as Array<{ outputs: { out: string } }>;
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
  out.push(\`\${c}:\${findCycles(g).length}:\${findCycles(g, []).map((x) => x.join('+')).join(',')}:\${release(g).map((d) => d.name).join(',')}\`);
}
export default derivation({ name: 'report', builder: '/bin/sh', args: ['-c', \`echo '\${out.join(' ')}' > $out\`] });
`,
  });
  const r = runCli(['realize', 'check.ts', '--no-out-link', '--no-sandbox'], { storeRoot: path.join(tmpDir('cmssw-real-store'), 'root'), cwd: dir });
  assert.is(r.status, 0, r.stderr);
  const lines = fs.readFileSync(r.stdout.trim(), 'utf8').trim().split(' ');
  assert.is(lines.length, 4);
  assert.match(lines[0], /^13_0:0::cmssw-tool-conf-[^,]+,python_tools-/);
  assert.match(lines[1], /^14_0:0:py3-flit-core\+py3-wheel:cmssw-tool-conf-[^,]+,python_tools-/);
  assert.match(lines[2], /^14_1:0:py3-flit-core\+py3-wheel:cmssw-tools-[^,]+,python_tools-/);
  assert.match(lines[3], /^14_2:0:py3-flit-core\+py3-wheel:cmssw-tools-[^,]+,python_tools-/);
});

test.run();
