/**
 * Nothing of the host in the shipped package sets: every expression file in exprs/ evaluates
 * with no host tool and no host-path builder in the closure of any root, and passes --pure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, runCli, tmpDir } from '../helpers.js';

const EXPRS = path.join(REPO, 'exprs');
/** Files of exprs/ that are modules for the expressions, not expressions themselves. */
const MODULES = new Set(['debian/lib.ts', 'debian/python.ts', 'debian/sets/laptop.ts', 'cmssw/graph.ts', 'cmssw/sizes.ts', 'cmssw/python.ts', 'cmssw/numpy.ts', 'cmssw/sets/python-build.ts', 'cmssw/sets/tcl-build.ts']);

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.[cm]?[jt]s$/.test(e.name) ? [path.join(dir, e.name)] : []));
}

test('every expression in exprs/ is free of host tools (store eval --json) and passes --pure', () => {
  const root = path.join(tmpDir('hermetic'), 'root');
  const exprs = files(EXPRS).filter((f) => !MODULES.has(path.relative(EXPRS, f)));
  assert.ok(exprs.length >= 3, `expressions found: ${exprs.join(', ')}`);
  for (const f of exprs) {
    const r = runCli(['eval', '--json', '--pure', f], { storeRoot: root });
    assert.is(r.status, 0, `${path.relative(REPO, f)}: ${r.stderr}`);
    const roots = JSON.parse(r.stdout) as Array<{ attr: string; hostTools: unknown[] }>;
    assert.ok(roots.length > 0, `${f} has roots`);
    for (const x of roots) assert.equal(x.hostTools, [], `${path.relative(REPO, f)} ${x.attr}: host tools in its closure`);
  }
});

test('a module of exprs/ listed as not an expression still exists (the list stays true)', () => {
  for (const m of MODULES) assert.ok(fs.existsSync(path.join(EXPRS, m)), m);
});

test.run();
