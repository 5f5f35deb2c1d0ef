// Graph walks at depth: dependency order, reachability and shortest chains over generated graphs,
// and a store holding a deep chain of references (20,000 paths, twice the depth at which a
// recursive walk overflowed; HEPSTORE_TEST_CHAIN_DEPTH=100000 for the full figure, which takes
// minutes) ordered, exported, pushed and collected with no stack overflow.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { chainLengths, dependencyOrder, GraphCycle, reachable, shortestChain } from '../../src/graph.js';
import { canonicaliseTree } from '../../src/archive/index.js';
import { hashPathSync } from '../../src/archive/hash-sync.js';
import { makeStorePath, typeWithReferences } from '../../src/store/path.js';
import { topoOrder, type BuildGraph, type BuildNode } from '../../src/derivation/graph.js';
import type { NewPathInfo } from '../../src/store/local-store.js';
import { newStore, runCliAsync, tmpDir } from '../helpers.js';

const DEPTH = 100_000;
const STORE_DEPTH = Number(process.env.HEPSTORE_TEST_CHAIN_DEPTH) || 20_000;

/** Edges of a chain 0 → 1 → … → n-1 (each node's successor is the next). */
const chain = (n: number) => (i: number) => (i + 1 < n ? [i + 1] : []);

test('dependencyOrder puts every node after its successors, in a deterministic order', () => {
  // A diamond with a tail: a → b, a → c, b → d, c → d, d → e.
  const g: Record<string, string[]> = { a: ['b', 'c'], b: ['d'], c: ['d'], d: ['e'], e: [] };
  const order = dependencyOrder(['a'], (n) => g[n]);
  assert.equal(order, ['e', 'd', 'b', 'c', 'a']);
  for (const [n, succ] of Object.entries(g)) for (const m of succ) assert.ok(order.indexOf(m) < order.indexOf(n), `${m} before ${n}`);
  // Starting points already reached are not repeated.
  assert.equal(dependencyOrder(['d', 'a', 'e'], (n) => g[n]), ['e', 'd', 'b', 'c', 'a']);
});

test(`chainLengths counts the longest chain of dependents, also ${DEPTH} deep`, () => {
  // a <- b <- c, a <- d: a is under the chain c -> b -> a.
  const deps: Record<string, string[]> = { a: [], b: ['a'], c: ['b'], d: ['a'] };
  const users = (n: string) => Object.keys(deps).filter((u) => deps[u].includes(n));
  const lengths = chainLengths(dependencyOrder(['c', 'd'], (n) => deps[n]), users);
  assert.equal(Object.fromEntries(lengths), { a: 3, b: 2, c: 1, d: 1 });
  const chain = Array.from({ length: DEPTH }, (_, i) => i);
  assert.is(chainLengths(chain, (i) => (i + 1 < DEPTH ? [i + 1] : [])).get(0), DEPTH);
});

test('dependencyOrder names the members of a cycle', () => {
  const g: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['d', 'b'], d: [] };
  try {
    dependencyOrder(['a'], (n) => g[n]);
    assert.unreachable('a cycle was not found');
  } catch (e) {
    assert.instance(e, GraphCycle);
    assert.equal((e as GraphCycle<string>).cycle, ['b', 'c', 'b']);
  }
  // A self-loop is a cycle too.
  assert.throws(() => dependencyOrder([1], () => [1]), (e: unknown) => e instanceof GraphCycle);
});

test(`dependencyOrder, reachable and shortestChain walk a ${DEPTH}-deep chain`, () => {
  const order = dependencyOrder([0], chain(DEPTH));
  assert.is(order.length, DEPTH);
  assert.is(order[0], DEPTH - 1);
  assert.is(order[DEPTH - 1], 0);
  assert.is(reachable([0], chain(DEPTH)).size, DEPTH);
  const c = shortestChain(0, DEPTH - 1, chain(DEPTH))!;
  assert.is(c.length, DEPTH);
  assert.is(c[0], 0);
  assert.is(c[DEPTH - 1], DEPTH - 1);
  assert.is(shortestChain(DEPTH - 1, 0, chain(DEPTH)), undefined);
});

test('shortestChain takes the fewest edges', () => {
  // a → b → c → d and a shortcut a → x → d.
  const g: Record<string, string[]> = { a: ['b', 'x'], b: ['c'], c: ['d'], x: ['d'], d: [] };
  assert.equal(shortestChain('a', 'd', (n) => g[n]), ['a', 'x', 'd']);
  assert.equal(shortestChain('a', 'a', (n) => g[n]), ['a']);
});

test(`topoOrder of a build graph ${DEPTH} derivations deep`, () => {
  const nodes = new Map<string, BuildNode>();
  const name = (i: number) => `/s/${String(i).padStart(32, '0')}-n${i}.drv`;
  for (let i = 0; i < DEPTH; i++) {
    const drv = { outputs: {}, inputDrvs: i + 1 < DEPTH ? { [name(i + 1)]: ['out'] } : {}, inputSrcs: [], system: 'x', builder: 'b', args: [], env: {} };
    nodes.set(name(i), { drvPath: name(i), drv: drv as unknown as BuildNode['drv'] });
  }
  const graph: BuildGraph = { nodes, sources: new Map(), roots: [] };
  const order = topoOrder(graph, [name(0)]);
  assert.is(order.length, DEPTH);
  assert.is(order[0].drvPath, name(DEPTH - 1));
  assert.is(order[DEPTH - 1].drvPath, name(0));
});

test(`a store with a ${STORE_DEPTH}-deep chain of references: ordered, exported, pushed and collected`, async () => {
  const store = newStore();
  const root = path.dirname(store.layout.storeDir);
  const src = tmpDir('chain');
  // Each path is one file naming the path before it: a reference chain from the last to the first.
  const infos: NewPathInfo[] = [];
  let prev: string | undefined;
  for (let i = 0; i < STORE_DEPTH; i++) {
    const file = path.join(src, String(i));
    fs.writeFileSync(file, prev ? `after ${prev}\n` : 'first\n');
    const nar = hashPathSync(file);
    const refs = prev ? [prev] : [];
    const p = makeStorePath(typeWithReferences('source', refs), nar.digest.toString('hex'), store.storeDir, `link-${i}`);
    fs.renameSync(file, p);
    infos.push({ path: p, narHash: nar.narHash, narSize: nar.narSize, references: refs });
    prev = p;
  }
  for (const info of infos) canonicaliseTree(info.path);
  store.registerValidPaths(infos);
  const top = infos[STORE_DEPTH - 1].path;
  const order = store.topoSortClosure([top]);
  assert.is(order.length, STORE_DEPTH);
  assert.is(order[0], infos[0].path);
  assert.is(order[STORE_DEPTH - 1], top);
  store.close();

  const bundle = path.join(tmpDir('bundle'), 'chain.hepbundle');
  const exp = await runCliAsync(['export', '-o', bundle, top], { storeRoot: root });
  assert.is(exp.status, 0, exp.stderr);
  const cache = tmpDir('cache');
  const push = await runCliAsync(['push', '--to', `file://${cache}`, top], { storeRoot: root });
  assert.is(push.status, 0, push.stderr);
  assert.is(fs.readdirSync(cache).filter((f) => f.endsWith('.narinfo')).length, STORE_DEPTH);
  // Nothing roots the chain: a collection removes all of it.
  const gc = await runCliAsync(['gc'], { storeRoot: root });
  assert.is(gc.status, 0, gc.stderr);
  const after = newStore(root);
  try {
    assert.is(after.allValidPaths().filter((p) => p.includes('-link-')).length, 0);
  } finally {
    after.close();
  }
});

test.run();
