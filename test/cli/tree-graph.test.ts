import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { placeWithReferences, pseudoRandomBytes, runCli, tmpDir } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { formatBytes } from '../../src/gc/format.js';

/**
 * env -> small, big; small -> base; big -> base, extra. `big` costs more than `small`, so it
 * comes first among env's references; `base` is shared.
 */
async function store() {
  const root = path.join(tmpDir('tree'), 'root');
  const s = new LocalStore(root);
  try {
    const base = await placeWithReferences(s, 'base-1', { 'lib.so': pseudoRandomBytes(40_000, 'base') }, []);
    const extra = await placeWithReferences(s, 'extra-1', { 'data.bin': pseudoRandomBytes(9_000, 'extra') }, []);
    const small = await placeWithReferences(s, 'small-1', { 'x': `${base.path}` }, [base.path]);
    const big = await placeWithReferences(s, 'big-1', { 'x': `${base.path} ${extra.path}`, 'blob': pseudoRandomBytes(70_000, 'big') }, [base.path, extra.path]);
    const env = await placeWithReferences(s, 'env-1', { 'a': small.path, 'b': big.path }, [small.path, big.path]);
    return { root, base: base.path, extra: extra.path, small: small.path, big: big.path, env: env.path };
  } finally {
    s.close();
  }
}

/** The closure sizes computed the plain way: a walk per path. */
function closureSize(root: string, p: string): number {
  const s = new LocalStore(root);
  try {
    return s.queryClosure([p]).reduce((n, q) => n + s.pathInfo(q).narSize, 0);
  } finally {
    s.close();
  }
}

function narSize(root: string, p: string): number {
  const s = new LocalStore(root);
  try {
    return s.pathInfo(p).narSize;
  } finally {
    s.close();
  }
}

test('tree: own and closure sizes, costliest reference first, a shared path expanded once', async () => {
  const c = await store();
  const res = runCli(['tree', c.env], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const line = (p: string) => `${p} (${formatBytes(narSize(c.root, p))}; closure ${formatBytes(closureSize(c.root, p))})`;
  assert.is(
    res.stdout,
    [
      line(c.env),
      `├── ${line(c.big)}`,
      `│   ├── ${line(c.base)}`,
      `│   └── ${line(c.extra)}`,
      `└── ${line(c.small)}`,
      `    └── ${line(c.base)}`,
      '',
    ].join('\n'),
  );
  // The order follows the sizes, not the names: big-1 sorts before small-1 only by cost here.
  assert.ok(closureSize(c.root, c.big) > closureSize(c.root, c.small));
  assert.ok(closureSize(c.root, c.base) > closureSize(c.root, c.extra));
});

test('tree --json marks repeated paths and --depth cuts the tree', async () => {
  const c = await store();
  const res = runCli(['tree', '--json', c.env], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const t = JSON.parse(res.stdout);
  assert.is(t.path, c.env);
  assert.is(t.closureSize, closureSize(c.root, c.env));
  assert.is(t.narSize, narSize(c.root, c.env));
  assert.equal(t.children.map((k: { path: string }) => k.path), [c.big, c.small]);
  // base has no references, so it is never "repeated"; big is expanded once.
  assert.equal(t.children[0].children.map((k: { path: string }) => k.path), [c.base, c.extra]);
  const d1 = JSON.parse(runCli(['tree', '--json', '--depth', '1', c.env], { storeRoot: c.root }).stdout);
  assert.equal(d1.children.map((k: { path: string; more?: number; children?: unknown }) => [k.path, k.more, k.children]), [[c.big, 2, undefined], [c.small, 1, undefined]]);
  const text = runCli(['tree', '-d', '0', c.env], { storeRoot: c.root });
  assert.is(text.stdout, `${c.env} (${formatBytes(narSize(c.root, c.env))}; closure ${formatBytes(closureSize(c.root, c.env))}) [2 more below]\n`);
});

test('tree: a path referred to twice with references of its own is shown once, then marked', async () => {
  const c = await store();
  const s = new LocalStore(c.root);
  let top: string;
  try {
    top = (await placeWithReferences(s, 'top-1', { a: c.env, b: c.big }, [c.env, c.big])).path;
  } finally {
    s.close();
  }
  const res = runCli(['tree', top], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  const marked = res.stdout.split('\n').filter((l) => l.endsWith('[shown above]'));
  assert.is(marked.length, 1, res.stdout);
  assert.ok(marked[0].includes(c.big), marked[0]);
  assert.is(res.stdout.split('\n').filter((l) => l.includes(c.extra)).length, 1, res.stdout);
});

test('graph --format dot names every path with its sizes and every reference once', async () => {
  const c = await store();
  const res = runCli(['graph', c.env], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  assert.ok(res.stdout.startsWith('digraph closure {\n'), res.stdout);
  const base = (p: string) => path.basename(p);
  for (const p of [c.env, c.big, c.small, c.base, c.extra]) {
    const name = base(p).slice(33);
    assert.ok(res.stdout.includes(`"${base(p)}" [label="${name}\\n${formatBytes(narSize(c.root, p))} · closure ${formatBytes(closureSize(c.root, p))}"`), `${name}\n${res.stdout}`);
  }
  const edges = res.stdout.split('\n').filter((l) => l.includes(' -> ')).map((l) => l.trim()).sort();
  const want = [
    [c.env, c.big],
    [c.env, c.small],
    [c.big, c.base],
    [c.big, c.extra],
    [c.small, c.base],
  ].map(([a, b]) => `"${base(a)}" -> "${base(b)}";`).sort();
  assert.equal(edges, want);
});

test('graph --format svg and html: a laid-out picture, self-contained, every box inside the canvas', async () => {
  const c = await store();
  const out = path.join(tmpDir('graph'), 'closure.html');
  const res = runCli(['graph', c.env, '--format', 'html', '-o', out], { storeRoot: c.root });
  assert.is(res.status, 0, res.stderr);
  assert.is(res.stdout, '');
  const html = fs.readFileSync(out, 'utf8');
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  // Offline: nothing loaded from elsewhere (the one script is inline: it scrolls to the root).
  assert.not.match(html, /<link|src=|@import|url\((?!#)|fetch\(|XMLHttpRequest/);
  assert.is(html.match(/<script>/g)?.length, 1);
  assert.match(html, '5 paths');
  const svg = runCli(['graph', c.env, '--format', 'svg'], { storeRoot: c.root });
  assert.is(svg.status, 0, svg.stderr);
  assert.ok(html.includes(svg.stdout), 'the page holds the same picture');
  const m = /^<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg.stdout)!;
  const [w, h] = [Number(m[1]), Number(m[2])];
  const rects = [...svg.stdout.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((r) => r.slice(1).map(Number));
  assert.is(rects.length, 5);
  for (const [x, y, rw, rh] of rects) assert.ok(x >= 0 && y >= 0 && x + rw <= w + 0.5 && y + rh <= h + 0.5, `${[x, y, rw, rh]} in ${w}x${h}`);
  // No two boxes overlap.
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      const [a, b] = [rects[i], rects[j]];
      assert.ok(a[0] + a[2] <= b[0] || b[0] + b[2] <= a[0] || a[1] + a[3] <= b[1] || b[1] + b[3] <= a[1], `boxes ${i} and ${j} overlap`);
    }
  }
  // Layered: every edge goes down, from a box above to a box below; every bend is inside the canvas.
  const edges = [...svg.stdout.matchAll(/<path d="([^"]*)" marker-end/g)].map((e) => [...e[1].matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]));
  assert.is(edges.length, 5);
  for (const pts of edges) {
    assert.ok(pts[pts.length - 1][1] > pts[0][1], `edge from ${pts[0]} to ${pts[pts.length - 1]}`);
    for (const [x, y] of pts) assert.ok(x >= 0 && y >= 0 && x <= w && y <= h, `${x},${y} in ${w}x${h}`);
  }
  for (const p of [c.env, c.big, c.small, c.base, c.extra]) assert.ok(svg.stdout.includes(`<title>${p}\n`), p);
});

test('tree and graph: bad input is a one-line error', async () => {
  const c = await store();
  const fmt = runCli(['graph', c.env, '--format', 'png'], { storeRoot: c.root });
  assert.is(fmt.status, 1);
  assert.is(fmt.stderr, "error: --format takes dot, svg, html (got 'png')\n");
  const depth = runCli(['tree', c.env, '--depth', 'two'], { storeRoot: c.root });
  assert.is(depth.status, 1);
  assert.is(depth.stderr, "error: --depth takes a whole number (got 'two')\n");
  const missing = runCli(['tree', path.join(tmpDir('tree-x'), 'none')], { storeRoot: c.root });
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /^error: '.*none' does not exist\n$/);
  const outside = runCli(['graph', '/etc'], { storeRoot: c.root });
  assert.is(outside.status, 1);
  assert.match(outside.stderr, /^error: path '\/etc' is not in the store /);
});

test.run();
