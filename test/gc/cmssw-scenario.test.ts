/**
 * A software librarian's day: four CMSSW release cycles (real cmsdist dependency graphs,
 * synthetic payloads) side by side in one store; 13_0 and 14_0 are retired and collected.
 * Exactly what no remaining release needs must go, and the bytes reported must be the bytes
 * freed on disk.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, runCli, tmpDir } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { diskNarSizes, onDisk, assertClean } from './helpers.js';

const EXPR = path.join(REPO, 'exprs', 'cmssw', 'release.ts');
/** Tiny payloads: one line per package. */
const SCALE = ['--arg', 'scale', '0'];
const CYCLES = ['13_0', '14_0', '14_1', '14_2'];

interface GraphNode {
  v: string | null;
  req: string[];
  breq: string[];
}

/** name-version of everything in a release's runtime closure, computed from the graph file alone. */
function runtimeNames(cycle: string): Set<string> {
  const g = JSON.parse(fs.readFileSync(path.join(REPO, 'exprs', 'cmssw', 'graphs', `graph-IB_CMSSW_${cycle}_X_master.json`), 'utf8')) as Record<string, GraphNode>;
  const seen = new Set<string>();
  const stack = ['cmssw-tool-conf', 'cmssw-tools', 'python_tools'].filter((r) => r in g);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...g[n].req);
  }
  const version = (v: string | null) => (v ? v.replace(/%\{([^}]*)\}/g, '$1').replace(/[^A-Za-z0-9+._?=-]/g, '_') : '');
  return new Set([...seen].map((n) => (g[n].v ? `${n}-${version(g[n].v)}` : n)));
}

test('CMSSW 13_0, 14_0, 14_1, 14_2 as releases; retiring 13_0 and 14_0 frees exactly what 14_1 and 14_2 do not need', async () => {
  const root = path.join(tmpDir('cmssw'), 'root');
  // The paths checked below are outputs only, not the .drv files that made them.
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'hepstore.json'), JSON.stringify({ keepDerivations: false }));
  const cli = (args: string[]) => {
    const r = runCli(args, { storeRoot: root });
    assert.is(r.status, 0, `store ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  for (const c of CYCLES) cli(['release', 'add', `CMSSW_${c}_X`, EXPR, '--attr', `CMSSW_${c}_X`, ...SCALE, '--no-sandbox', '-j', '2']);
  const releases = JSON.parse(cli(['release', 'list', '--json'])) as Array<{ name: string; outputs: Array<{ path: string }>; uniqueBytes: number; closureBytes: number }>;
  assert.equal(releases.map((r) => r.name).sort(), CYCLES.map((c) => `CMSSW_${c}_X`));
  for (const r of releases) assert.ok(r.closureBytes > r.uniqueBytes && r.uniqueBytes > 0, r.name);

  // What must stay: the runtime closures of the remaining releases, from the store…
  let store = new LocalStore(root);
  let keep: string[];
  let before: string[];
  try {
    const outs = (name: string) => releases.find((r) => r.name === name)!.outputs.map((o) => o.path);
    keep = store.queryClosure([...outs('CMSSW_14_1_X'), ...outs('CMSSW_14_2_X')]);
    before = store.allValidPaths();
    // …and, independently, from the graph files: the same package names and versions.
    const names = new Set(keep.map((p) => path.basename(p).slice(33)));
    assert.equal(names, new Set([...runtimeNames('14_1'), ...runtimeNames('14_2')]));
    // The py3-flit-core / py3-wheel cycle was broken: both are there.
    assert.ok([...names].some((n) => n.startsWith('py3-flit-core-')) && [...names].some((n) => n.startsWith('py3-wheel-')));
  } finally {
    store.close();
  }
  const keepSet = new Set(keep);
  const expectedGone = before.filter((p) => !keepSet.has(p));
  assert.ok(expectedGone.length > 1000, `${expectedGone.length} paths to free`);

  const diskBefore = await diskNarSizes({ storeDir: path.join(root, 'store') });
  cli(['release', 'rm', 'CMSSW_13_0_X']);
  cli(['release', 'rm', 'CMSSW_14_0_X']);
  const dry = JSON.parse(cli(['gc', '--dry-run', '--json'])) as { deleted: Array<{ path: string }>; bytesFreed: number };
  const gc = JSON.parse(cli(['gc', '--json'])) as { deleted: Array<{ path: string; narSize: number }>; bytesFreed: number; junk: unknown[] };
  assert.equal(gc.deleted.map((d) => d.path).sort(), expectedGone.sort(), 'exactly the paths no remaining release needs');
  assert.equal(dry.deleted.map((d) => d.path).sort(), expectedGone, 'the dry run said so beforehand');
  assert.is(dry.bytesFreed, gc.bytesFreed);
  assert.equal(gc.junk, []);

  store = new LocalStore(root);
  try {
    assert.equal(store.allValidPaths(), keep);
    assert.equal(onDisk(store), keep);
    assertClean(store);
    // Bytes reported == bytes freed on disk, both measured as narSize (the canonical archive
    // size of each store entry, re-measured from the files, not read from the database).
    const diskAfter = await diskNarSizes(store);
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    assert.is(sum(diskBefore) - sum(diskAfter), gc.bytesFreed);
    assert.is(expectedGone.reduce((n, p) => n + diskBefore.get(p)!, 0), gc.bytesFreed);
  } finally {
    store.close();
  }
  const verify = runCli(['verify', '--check-contents'], { storeRoot: root });
  assert.is(verify.status, 0, verify.stderr);
  // The remaining releases are still complete and still roots; nothing more to collect.
  assert.is(JSON.parse(cli(['gc', '--json'])).paths, 0);
});

test.run();
