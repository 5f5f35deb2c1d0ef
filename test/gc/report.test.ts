import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { newStore } from '../helpers.js';
import { rootsReport } from '../../src/gc/report.js';
import { explain } from '../../src/gc/why.js';
import { collectGarbage } from '../../src/gc/collect.js';
import { findRoots } from '../../src/gc/roots.js';
import type { LocalStore, NewPathInfo } from '../../src/store/local-store.js';
import { makeStorePath } from '../../src/store/path.js';
import { sha256Hex } from '../../src/hash/sha256.js';
import { gcroot, put } from './helpers.js';

/** A deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random DAG of `n` registered paths (sizes vary) and `roots` gcroots; returns paths and references. */
function randomStore(store: LocalStore, n: number, roots: number, seed: number): { paths: string[]; refs: string[][] } {
  const rand = prng(seed);
  const paths: string[] = [];
  const refs: string[][] = [];
  const infos: NewPathInfo[] = [];
  for (let i = 0; i < n; i++) {
    const name = `p${i}`;
    const p = makeStorePath('output:out', sha256Hex(`${seed}-${name}`), store.storeDir, name);
    const r = new Set<string>();
    const k = i === 0 ? 0 : Math.floor(rand() * 4);
    for (let j = 0; j < k; j++) r.add(paths[Math.floor(rand() * i)]);
    if (rand() < 0.1) r.add(p); // a self-reference now and then
    fs.writeFileSync(p, 'x');
    paths.push(p);
    refs.push([...r]);
    infos.push({ path: p, narHash: 'sha256-unused', narSize: 1 + Math.floor(rand() * 1000), references: [...r] });
  }
  store.registerValidPaths(infos);
  for (let i = 0; i < roots; i++) gcroot(store, `r${i}`, paths[Math.floor(rand() * n)]);
  return { paths, refs };
}

function closureOf(start: string[], refs: Map<string, string[]>): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    stack.push(...refs.get(p)!);
  }
  return seen;
}

test('the bytes only a root keeps alive match a brute-force count, on random graphs', () => {
  for (const seed of [1, 2, 3, 4]) {
    const store = newStore();
    try {
      const { paths, refs } = randomStore(store, 400, 12, seed);
      const refMap = new Map(paths.map((p, i) => [p, refs[i]]));
      const size = new Map(paths.map((p) => [p, store.pathInfo(p).narSize]));
      const rep = rootsReport(store, { closure: true });
      const closures = rep.roots.map((r) => closureOf(r.targets, refMap));
      rep.roots.forEach((r, i) => {
        const others = new Set(closures.flatMap((c, j) => (j === i ? [] : [...c])));
        const unique = [...closures[i]].filter((p) => !others.has(p));
        assert.is(r.uniquePaths, unique.length, `seed ${seed} root ${r.name}`);
        assert.is(r.uniqueBytes, unique.reduce((s, p) => s + size.get(p)!, 0));
        assert.is(r.closurePaths, closures[i].size);
      });
      const alive = new Set(closures.flatMap((c) => [...c]));
      assert.is(rep.alive, alive.size);
      assert.is(rep.valid, 400);
    } finally {
      store.close();
    }
  }
});

test('what a root keeps alive alone is what gc frees once that root goes', async () => {
  const store = newStore();
  try {
    const { paths } = randomStore(store, 300, 6, 9);
    void paths;
    await collectGarbage(store);
    const rep = rootsReport(store);
    const victim = rep.roots.find((r) => r.uniquePaths > 0)!;
    fs.rmSync(victim.name);
    const r = await collectGarbage(store);
    assert.is(r.deleted.length, victim.uniquePaths);
    assert.is(r.bytesFreed, victim.uniqueBytes);
  } finally {
    store.close();
  }
});

test('two roots on the same closure keep nothing alone; a shared base is unique to neither', async () => {
  const store = newStore();
  try {
    const base = await put(store, 'base', [], { size: 10000 });
    const a = await put(store, 'a', [base]);
    const b = await put(store, 'b', [base]);
    gcroot(store, 'a1', a);
    gcroot(store, 'a2', a);
    gcroot(store, 'b', b);
    const rep = rootsReport(store);
    const by = (n: string) => rep.roots.find((r) => r.name.endsWith(`/${n}`))!;
    assert.is(by('a1').uniqueBytes, 0);
    assert.is(by('a2').uniqueBytes, 0);
    assert.is(by('b').uniquePaths, 1);
    assert.is(by('b').uniqueBytes, store.pathInfo(b).narSize);
    assert.is(rep.alive, 3);
  } finally {
    store.close();
  }
});

test('why: one shortest chain per root that reaches the path, each step a reference', () => {
  for (const seed of [5, 6, 7]) {
    const store = newStore();
    try {
      const { paths, refs } = randomStore(store, 300, 10, seed);
      const refMap = new Map(paths.map((p, i) => [p, refs[i]]));
      const roots = findRoots(store);
      for (const target of [paths[0], paths[3], paths[150]]) {
        const e = explain(store, target);
        const reaching = roots.filter((r) => closureOf(r.targets, refMap).has(target));
        assert.is(e.chains.length, reaching.length);
        assert.is(e.alive, reaching.length > 0);
        for (const c of e.chains) {
          assert.is(c.chain[0], c.root.targets[0]);
          assert.is(c.chain.at(-1), target);
          for (let k = 0; k + 1 < c.chain.length; k++) assert.ok(refMap.get(c.chain[k])!.includes(c.chain[k + 1]), 'each step is a reference');
          // Shortest: a breadth-first search from the root target agrees on the length.
          let frontier = [c.chain[0]];
          const seen = new Set(frontier);
          let d = 0;
          while (!frontier.includes(target)) {
            frontier = frontier.flatMap((p) => refMap.get(p)!).filter((q) => !seen.has(q) && seen.add(q));
            d++;
          }
          assert.is(c.chain.length - 1, d);
        }
      }
    } finally {
      store.close();
    }
  }
});

test.run();
