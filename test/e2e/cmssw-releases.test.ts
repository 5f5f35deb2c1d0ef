/**
 * The four CMSSW release cycles (real cmsdist graphs, tiny synthetic payloads) realized into
 * one store as releases. Checked against the graph files, read here on their own: every
 * package of a graph is built for its release, a release's closure is the runtime closure of
 * its roots, a package is shared between releases exactly when its recipe and inputs are the
 * same (and then stored once), and `store release list` reports the sharing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { REPO, runCli, tmpDir } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { diskNarSizes, onDisk } from '../gc/helpers.js';
import type { ReleaseRow } from '../../src/gc/release-report.js';
import { databaseOf } from '../../src/store/db.js';

const EXPR = path.join(REPO, 'exprs', 'cmssw', 'release.ts');
const CYCLES = ['13_0', '14_0', '14_1', '14_2'];
const SCALE = ['--arg', 'scale', '0.0001'];

interface Node {
  v: string | null;
  kind: string;
  req: string[];
  breq: string[];
}
type Graph = Record<string, Node>;

const readGraph = (cycle: string) => JSON.parse(fs.readFileSync(path.join(REPO, 'exprs', 'cmssw', 'graphs', `graph-IB_CMSSW_${cycle}_X_master.json`), 'utf8')) as Graph;

/** Runtime and build-only dependencies: self-edges dropped, runtime wins, flit-core bootstraps without wheel. */
function deps(g: Graph, n: string): { req: string[]; breq: string[] } {
  const skip = (d: string) => d === n || (n === 'py3-flit-core' && d === 'py3-wheel');
  const req = [...new Set(g[n].req)].filter((d) => !skip(d));
  return { req, breq: [...new Set(g[n].breq)].filter((d) => !skip(d) && !req.includes(d)) };
}

/** A package's identity: its name, version and kind, and the identities of its dependencies. */
function recipes(g: Graph): Map<string, string> {
  const id = new Map<string, string>();
  const visit = (root: string) => {
    const stack: Array<[string, boolean]> = [[root, false]];
    while (stack.length) {
      const [n, done] = stack.pop()!;
      if (id.has(n)) continue;
      const d = deps(g, n);
      if (!done) {
        stack.push([n, true], ...[...d.req, ...d.breq].filter((x) => !id.has(x)).map((x): [string, boolean] => [x, false]));
        continue;
      }
      const ids = (xs: string[]) => xs.map((x) => id.get(x)!).sort().join(',');
      id.set(n, createHash('sha256').update(JSON.stringify([n, g[n].v, g[n].kind, ids(d.req), ids(d.breq)])).digest('hex'));
    }
  };
  for (const n of Object.keys(g)) visit(n);
  return id;
}

/** The runtime closure of a release's roots, as package names. */
function runtimeClosure(g: Graph): string[] {
  const seen = new Set<string>();
  const stack = ['cmssw-tool-conf', 'cmssw-tools', 'python_tools'].filter((r) => r in g);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...deps(g, n).req);
  }
  return [...seen];
}

const storeName = (g: Graph, n: string) => {
  const v = g[n].v ? g[n].v!.replace(/%\{([^}]*)\}/g, '$1').replace(/[^A-Za-z0-9+._?=-]/g, '_') : '';
  return v ? `${n}-${v}` : n;
};
const baseName = (p: string) => path.basename(p).slice(33);


test('four CMSSW releases: every package built, closures as in the graphs, identical packages shared and stored once', async () => {
  const root = path.join(tmpDir('cmssw-releases'), 'root');
  // This test counts what the releases keep: outputs only, not the .drv files that made them.
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'hepstore.json'), JSON.stringify({ keepDerivations: false }));
  const cli = (args: string[]) => {
    const r = runCli(args, { storeRoot: root });
    assert.is(r.status, 0, `store ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  };
  for (const c of CYCLES) cli(['release', 'add', `CMSSW_${c}_X`, EXPR, '--attr', `CMSSW_${c}_X`, ...SCALE, '--no-sandbox', '-j', '2']);
  // Realizing a release again adds nothing to the store.
  const validCount = () => {
    const s = new LocalStore(root);
    try {
      return s.allValidPaths().length;
    } finally {
      s.close();
    }
  };
  const before = validCount();
  cli(['realize', EXPR, '--attr', 'CMSSW_14_2_X', ...SCALE, '--no-sandbox', '--no-out-link']);
  assert.is(validCount(), before);

  const graphs = new Map(CYCLES.map((c) => [`CMSSW_${c}_X`, readGraph(c)]));
  const ids = new Map([...graphs].map(([name, g]) => [name, recipes(g)]));
  /** Per release, the identities of its runtime closure, from the graph files. */
  const expected = new Map([...graphs].map(([name, g]) => [name, new Set(runtimeClosure(g).map((n) => ids.get(name)!.get(n)!))]));

  const rows = JSON.parse(cli(['release', 'list', '--json']).stdout) as ReleaseRow[];
  assert.equal(rows.map((r) => r.name).sort(), [...graphs.keys()]);
  const store = new LocalStore(root);
  const closures = new Map<string, string[]>();
  try {
    for (const r of rows) {
      const g = graphs.get(r.name)!;
      // Every package of the graph has a derivation in the release's build closure…
      // (besides the stdenv's shell, which builds each of them, and what that was made from).
      const all = store.queryClosure(r.outputs.map((o) => o.drvPath!)).filter((p) => p.endsWith('.drv'));
      const shell = all.find((p) => /-bash-[^/]*\.drv$/.test(p));
      assert.ok(shell, `${r.name}: built by the stdenv's shell`);
      const stdenv = new Set(store.queryClosure([shell!]));
      const drvs = all.filter((p) => !stdenv.has(p));
      assert.is(drvs.length, Object.keys(g).length, `${r.name}: one derivation per package of the graph`);
      assert.equal(new Set(drvs.map((p) => baseName(p).slice(0, -4))), new Set(Object.keys(g).map((n) => storeName(g, n))));
      // …and was built: its output is valid.
      const outputOf = databaseOf(store).prepare('SELECT o.path FROM DerivationOutputs o JOIN ValidPaths d ON d.id = o.drv WHERE d.path = ?').pluck();
      for (const d of drvs) assert.ok(store.isValid(outputOf.get(d) as string), `${d} was built`);
      // The release itself is the runtime closure of its roots.
      const closure = store.queryClosure(r.outputs.map((o) => o.path));
      closures.set(r.name, closure);
      assert.equal(new Set(closure.map(baseName)), new Set(runtimeClosure(g).map((n) => storeName(g, n))), `${r.name}: runtime closure`);
      assert.is(r.closurePaths, runtimeClosure(g).length, `${r.name}: packages in the release`);
    }
  } finally {
    store.close();
  }

  // Sharing: two releases have the same store path for a package exactly when its recipe and inputs are the same.
  const names = [...graphs.keys()];
  for (const a of names) {
    for (const b of names) {
      if (a >= b) continue;
      const same = [...expected.get(a)!].filter((x) => expected.get(b)!.has(x)).length;
      const common = closures.get(a)!.filter((p) => new Set(closures.get(b)!).has(p)).length;
      assert.is(common, same, `${a} and ${b} share ${same} packages`);
      assert.ok(same > 0, `${a} and ${b} share something`);
    }
  }
  const allIds = new Set([...expected.values()].flatMap((s) => [...s]));
  const union = new Set([...closures.values()].flat());
  assert.is(union.size, allIds.size, 'the union of the releases: one path per distinct package');
  assert.ok(union.size < rows.reduce((n, r) => n + r.closurePaths, 0));

  // What only the releases need remains after a collection, each shared path once, on disk as in the database.
  cli(['gc']);
  const after = new LocalStore(root);
  try {
    assert.equal(new Set(after.allValidPaths()), union, 'the store holds exactly the union of the releases');
    assert.equal(new Set(onDisk(after)), union);
    const disk = await diskNarSizes(after);
    const dbSize = (p: string) => after.pathInfo(p).narSize;
    let total = 0;
    for (const p of union) {
      assert.is(disk.get(p), dbSize(p), p);
      total += disk.get(p)!;
    }
    // Bytes actually used: file sizes on disk add up to the union's contents, once each.
    const fileBytes = (ps: Iterable<string>) => [...ps].reduce((n, p) => n + fs.statSync(p).size, 0);
    assert.is(fileBytes(onDisk(after)), fileBytes(union));
    assert.ok(fileBytes(union) < [...closures.values()].reduce((n, c) => n + fileBytes(c), 0));
    // The list's figures, from the files: closure, shared with another release, and unique.
    for (const r of rows) {
      const mine = closures.get(r.name)!;
      const others = new Set(rows.filter((x) => x.name !== r.name).flatMap((x) => closures.get(x.name)!));
      const sum = (ps: string[]) => ps.reduce((n, p) => n + disk.get(p)!, 0);
      assert.is(r.closureBytes, sum(mine), `${r.name}: closure bytes`);
      assert.is(r.sharedPaths, mine.filter((p) => others.has(p)).length, `${r.name}: shared paths`);
      assert.is(r.sharedBytes, sum(mine.filter((p) => others.has(p))), `${r.name}: shared bytes`);
      assert.is(r.uniquePaths, mine.length - r.sharedPaths, `${r.name}: unique paths (no other roots here)`);
      assert.is(r.uniqueBytes, r.closureBytes - r.sharedBytes);
    }
    const text = cli(['release', 'list']).stdout;
    const sumClosures = rows.reduce((n, r) => n + r.closurePaths, 0);
    assert.match(text, `${rows.length} releases: ${union.size} paths, `);
    assert.match(text, `their closures add up to ${sumClosures} paths`);
    assert.ok(total > 0);
  } finally {
    after.close();
  }
  // Optimising the four releases hard-links identical files and breaks nothing.
  const opt = JSON.parse(cli(['optimise', '--json']).stdout) as { paths: number; files: number; linked: number; bytesSaved: number };
  assert.ok(opt.paths > 0 && opt.files > 0, JSON.stringify(opt));
  assert.ok(opt.bytesSaved >= 0 && (opt.linked > 0) === (opt.bytesSaved > 0), JSON.stringify(opt));
  const again = JSON.parse(cli(['optimise', '--json']).stdout) as { linked: number; bytesSaved: number };
  assert.is(again.linked, 0, 'a second optimise finds nothing more to link');
  const verified = cli(['verify', '--check-contents']);
  assert.match(verified.stderr, /0 missing, 0 modified/);
  console.log(`  store optimise on the four releases: ${opt.linked} files linked, ${opt.bytesSaved} bytes saved`);
});

test.run();
