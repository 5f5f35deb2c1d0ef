/**
 * The CMSSW externals built from source (exprs/cmssw/externals.ts), checked by evaluating them
 * (nothing is built; test/e2e/externals.test.ts builds a slice): every package is named as in
 * cmsdist, takes as build inputs exactly the packages of the set that cmsdist's recipe
 * requires, builds from sources that are fixed-output downloads pinned by SHA256 — reachable
 * both through the host's apt and a Debian mirror, and in the tests' local mirror — and a CMSSW
 * release made with `real` refers to these very derivations.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { REPO, tmpDir } from '../helpers.js';
import { evaluateFile } from '../../src/eval/evaluate.js';
import type { Drv } from '../../src/expr/drv.js';

const storeDir = path.join(tmpDir('externals-eval'), 'store');
const EXTERNALS = path.join(REPO, 'exprs', 'cmssw', 'externals.ts');
const graph = (await import(path.join(REPO, 'exprs', 'cmssw', 'graphs', 'graph-IB_CMSSW_14_2_X_master.json'), { with: { type: 'json' } })).default as Record<string, { req: string[] }>;

const roots = await evaluateFile(EXTERNALS, { storeDir });
const byName = new Map(roots.map((r) => [r.attr, r.drv]));
/**
 * The packages built from source: those with a `src`. The others are the Python externals,
 * Debian's binaries relocated into the store (exprs/cmssw/python.ts), whose Debian closure holds
 * what cmsdist's recipes require.
 */
const fromSource = new Map([...byName].filter(([, d]) => d.drv.env.src));
const PYTHON = /^(python3|py3-.*)$/;
/**
 * The requirements externals.ts leaves out, as it says (FastJet's python3 is for its bindings;
 * hwloc's XML support is its own, not libxml2).
 */
const UNUSED: Record<string, string[]> = { fastjet: ['python3'], hwloc: ['libxml2'] };

/** Every derivation in the build closure of `d` (itself included). */
function closure(d: Drv): Drv[] {
  const seen = new Map<string, Drv>();
  const stack = [d];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x.drvPath)) continue;
    seen.set(x.drvPath, x);
    stack.push(...x.inputs.values());
  }
  return [...seen.values()];
}

test('every package of the set is a cmsdist package; one built from source takes the build inputs its recipe requires', () => {
  assert.ok(fromSource.size >= 10, `built from source: ${[...fromSource.keys()].join(', ')}`);
  for (const name of byName.keys()) {
    assert.ok(name in graph, `'${name}' is a package of cmsdist's CMSSW_14_2_X graph`);
    if (!fromSource.has(name)) assert.match(name, PYTHON, `${name} is built from source or is a Python external from Debian`);
  }
  for (const [name, drv] of fromSource) {
    const wanted = graph[name].req.filter((d) => byName.has(d) && d !== name && !UNUSED[name]?.includes(d)).map((d) => byName.get(d)!.outPath).sort();
    const inputs = (drv.drv.env.buildInputs ?? '').split(/\s+/).filter(Boolean);
    for (const w of wanted) assert.ok(inputs.includes(w), `${name} takes ${w} as a build input (cmsdist requires it)`);
    // No package of the set that cmsdist does not require.
    const others = [...byName.entries()].filter(([n]) => n !== name && !graph[name].req.includes(n)).map(([, d]) => d.outPath);
    for (const o of others) assert.not.ok(inputs.includes(o), `${name} takes ${o}, which cmsdist does not require`);
  }
});

test('every source is a fixed-output download pinned by SHA256, from apt and a mirror, in the tests\' mirror', async () => {
  const { sourcePins } = (await import(path.join(REPO, 'test', 'debian-mirror.mjs'))) as { sourcePins: () => Array<{ url: string; sha256: string }> };
  const mirrored = new Set(sourcePins().map((p) => p.sha256));
  const fetches = new Map<string, Drv>();
  for (const drv of byName.values()) {
    // Every download in any package's closure is fixed-output, pinned by SHA256.
    for (const d of closure(drv)) {
      if (d.drv.builder !== 'builtin:fetchurl') continue;
      assert.is(d.drv.outputs.out.hashAlgo, 'sha256', `${d.name} is pinned by SHA256`);
      if (/(^| )apt-source:/.test(d.drv.env.urls ?? '')) fetches.set(d.drvPath, d);
    }
  }
  for (const drv of fromSource.values()) {
    const src = drv.drv.env.src;
    assert.ok(src, `${drv.name} has a source`);
    assert.ok([...closure(drv)].some((d) => d.outPath === src && d.drv.outputs.out.hash), `${drv.name}: its src is a fixed-output download`);
  }
  assert.ok(fetches.size >= fromSource.size, `sources: ${fetches.size}`);
  for (const f of fetches.values()) {
    const out = f.drv.outputs.out;
    assert.is(out.hashAlgo, 'sha256', f.name);
    assert.match(out.hash!, /^[0-9a-f]{64}$/, f.name);
    assert.match(f.drv.env.urls, / mirror:\/\/debian\/pool\//, `${f.name}: also from a Debian mirror`);
    assert.ok(mirrored.has(out.hash!), `${f.name} is in the tests' local mirror (test/debian-mirror.mjs finds its pin)`);
  }
});

test('a CMSSW release with `real` refers to the set\'s derivations; unknown names are refused', async () => {
  const rel = path.join(REPO, 'exprs', 'cmssw', 'release.ts');
  const names = [...byName.keys()];
  const real = await evaluateFile(rel, { storeDir, attr: 'CMSSW_14_2_X', args: { scale: 0, real: true } });
  const synthetic = await evaluateFile(rel, { storeDir, attr: 'CMSSW_14_2_X', args: { scale: 0 } });
  const inClosure = (rs: typeof real) => new Set(rs.flatMap((r) => closure(r.drv)).map((d) => d.drvPath));
  const realSet = inClosure(real);
  const synthSet = inClosure(synthetic);
  const used = names.filter((n) => realSet.has(byName.get(n)!.drvPath));
  // Every package of the set that the release has (by cmsdist's graph) is the real one.
  assert.ok(used.includes('zlib') && used.includes('fastjet'), `real packages in the release: ${used.join(', ')}`);
  for (const n of used) assert.not.ok(synthSet.has(byName.get(n)!.drvPath), `${n} is not in the synthetic release`);
  const one = await evaluateFile(rel, { storeDir, attr: 'CMSSW_14_2_X', args: { scale: 0, real: ['zlib'] } });
  const oneSet = inClosure(one);
  assert.ok(oneSet.has(byName.get('zlib')!.drvPath));
  assert.not.ok(oneSet.has(byName.get('fastjet')!.drvPath), 'only the packages named');
  try {
    await evaluateFile(rel, { storeDir, attr: 'CMSSW_14_2_X', args: { real: ['zlbi'] } });
    assert.unreachable('an unknown name is refused');
  } catch (e) {
    assert.match(String((e as Error).message), /'zlbi', which externals\.ts does not build/);
  }
});

test.run();
