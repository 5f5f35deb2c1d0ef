/**
 * The physicist's first command, end to end with real Debian binaries: the laptop analysis
 * environment (and a mkDerivation package, the histogram example) realizes from nothing; its
 * Python imports the stack under `env -i` and runs a fit and a plot in a sandbox where only the
 * store is mounted; a second realize builds nothing. Then, as on another machine — hepstore run
 * by another Node.js binary at another path, with other tar, xz, sed and coreutils first on
 * PATH — a fresh store at the same store directory evaluates to the same .drv and output
 * paths and substitutes everything from a binary cache the first store pushed, building
 * nothing; another, fetching from a mirror instead of apt, builds the same paths with the same
 * narHashes; and `realize --check` rebuilds everything bit for bit.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, otherHost, runCliAsync, tmpDir } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { findBwrap } from '../../src/realize/sandbox.js';
import { findChromium, graphPixels, screenshot } from '../chromium.js';

const EXPR = path.join(REPO, 'exprs', 'examples', 'laptop-analysis.ts');
const PKG = path.join(REPO, 'exprs', 'examples', 'histogram.ts');
const SETS = [path.join(REPO, 'exprs', 'debian', 'sets', 'laptop.ts'), path.join(REPO, 'src', 'expr', 'bootstrap', 'set.ts')].map((f) => fs.readFileSync(f, 'utf8')).join('\n');
// The first store fetches with the host's apt (the test run turns it off and points at a mirror of the bootstrap's packages).
const APT = { HEPSTORE_APT_GET: 'apt-get', HEPSTORE_MIRROR_DEBIAN: process.env.HEPSTORE_TEST_DEBIAN_MIRROR ?? '' };
const canFetch = spawnSync('apt-get', ['--version']).status === 0 || Boolean(process.env.HEPSTORE_MIRROR_DEBIAN);

const FIT = `
import os, sys
import numpy as np
from iminuit import Minuit
from iminuit.cost import LeastSquares
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
assert not os.path.exists("/usr") and not os.path.exists("/lib") and not os.path.exists("/etc"), "the host is visible"
rng = np.random.default_rng(7)
x = np.linspace(0, 1, 50)
y = 2.0 * x + 1.0 + rng.normal(0, 0.05, x.size)
m = Minuit(LeastSquares(x, y, 0.05, lambda x, a, b: a * x + b), a=0.5, b=0.0)
m.migrad()
print("fit a=%.3f b=%.3f valid=%s" % (m.values["a"], m.values["b"], m.valid))
plt.hist(rng.normal(91.2, 2.5, 2000), bins=40)
plt.savefig(sys.argv[1])
`;

/** `store realize` of the environment, then of the package; their output paths and stderr. */
async function realizeBoth(flags: string[], o: { storeRoot: string; node?: string; env?: NodeJS.ProcessEnv }): Promise<{ out: string[]; stderr: string }> {
  const out: string[] = [];
  let stderr = '';
  for (const e of [EXPR, PKG]) {
    const r = await runCliAsync(['realize', '-j2', '--no-out-link', ...flags, e], o);
    assert.is(r.status, 0, r.stderr);
    out.push(r.stdout.trim());
    stderr += r.stderr;
  }
  return { out, stderr };
}

function closureHashes(root: string, top: string): Map<string, string> {
  const store = new LocalStore(root);
  try {
    return new Map(store.queryClosure([top]).map((p) => [p, store.pathInfo(p).narHash]));
  } finally {
    store.close();
  }
}

test('the laptop analysis environment: from nothing, pure at run time, reproducible bit for bit', async () => {
  if (!canFetch) {
    console.log('  (skipped: neither apt-get nor HEPSTORE_MIRROR_DEBIAN to fetch Debian packages)');
    return;
  }
  const dir = tmpDir('laptop');
  const root = path.join(dir, 'root');
  const result = path.join(dir, 'result');

  const first = await runCliAsync(['realize', '-j2', '--out-link', result, EXPR], { storeRoot: root, env: APT });
  assert.is(first.status, 0, first.stderr);
  const env = first.stdout.trim();
  const firstPkg = await runCliAsync(['realize', '-j2', '--no-out-link', PKG], { storeRoot: root, env: APT });
  assert.is(firstPkg.status, 0, firstPkg.stderr);
  const pkg = firstPkg.stdout.trim();
  assert.is(fs.readFileSync(path.join(pkg, 'share', 'report.txt'), 'utf8'), 'peak: 90-92 GeV with 283 events\n');
  assert.is(fs.realpathSync(result), env);
  const log = fs.readFileSync(path.join(root, 'var', 'log', fs.readdirSync(path.join(root, 'var', 'log')).find((f) => /-laptop-analysis\.drv\.log$/.test(f))!), 'utf8');
  assert.match(log, /imported xgboost \(python3-xgboost\)/, 'the imports check ran as part of the build');

  // env -i: nothing from the caller's environment.
  const imports = spawnSync('env', ['-i', path.join(result, 'bin', 'python3'), '-c', 'import numpy, scipy, matplotlib, pandas, iminuit, h5py, sklearn, xgboost, os; print(os.path.realpath(numpy.__file__))'], { encoding: 'utf8' });
  assert.is(imports.status, 0, imports.stderr);
  assert.ok(imports.stdout.startsWith(path.join(root, 'store') + '/'), imports.stdout);
  // Even run by root, Python wrote nothing into the store.
  const verify = await runCliAsync(['verify', '--check-contents'], { storeRoot: root });
  assert.is(verify.status, 0, verify.stdout + verify.stderr);

  // Only the store mounted: no host /usr, /lib or /etc.
  const bwrap = findBwrap();
  if (bwrap) {
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'fit.py'), FIT);
    const storeDir = path.join(root, 'store');
    const r = spawnSync(bwrap, ['--unshare-all', '--die-with-parent', '--tmpfs', '/tmp', '--ro-bind', storeDir, storeDir, '--bind', work, '/work', '--proc', '/proc', '--dev', '/dev', '--clearenv', '--setenv', 'HOME', '/tmp', path.join(env, 'bin', 'python3'), '/work/fit.py', '/work/hist.png'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const m = /fit a=([\d.]+) b=([\d.]+) valid=True/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Math.abs(Number(m![1]) - 2) < 0.1 && Math.abs(Number(m![2]) - 1) < 0.1, r.stdout);
    const png = fs.readFileSync(path.join(work, 'hist.png'));
    assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.length > 2000);
  } else console.log('  (bubblewrap is not installed: the store-only run was skipped)');

  // A second realize builds nothing: no build writes a log.
  const logs = () => fs.readdirSync(path.join(root, 'var', 'log')).map((f) => `${f} ${fs.statSync(path.join(root, 'var', 'log', f)).mtimeMs}`).sort();
  const before = logs();
  const again = await runCliAsync(['realize', '--no-out-link', EXPR], { storeRoot: root, env: APT });
  assert.is(again.status, 0, again.stderr);
  assert.is(again.stdout.trim(), env);
  assert.equal(logs(), before);

  // The picture of the environment's closure opens in a browser, its packages as boxes.
  const chromium = findChromium();
  if (chromium) {
    const html = path.join(dir, 'laptop.html');
    const g = await runCliAsync(['graph', env, '--format', 'html', '-o', html], { storeRoot: root });
    assert.is(g.status, 0, g.stderr);
    const png = screenshot(chromium, html, path.join(dir, 'laptop.png'));
    const { frames, rootBox } = graphPixels(png);
    assert.ok(frames > 1500, `${frames} pixels of box frames in the screenshot`);
    assert.ok(rootBox > 500, `${rootBox} pixels of the environment's own box in the screenshot`);
  } else console.log('  (chromium is not installed: the picture of the closure was not opened)');

  // What the first store evaluated to and built, and a binary cache with it.
  const evaluated = async (o: { storeRoot: string; node?: string; env?: NodeJS.ProcessEnv }) => {
    const out: unknown[] = [];
    for (const e of [EXPR, PKG]) {
      const r = await runCliAsync(['eval', '--json', e], o);
      assert.is(r.status, 0, r.stderr);
      out.push(JSON.parse(r.stdout));
    }
    return out;
  };
  const evalA = await evaluated({ storeRoot: root });
  const hashes = new Map([...closureHashes(root, env), ...closureHashes(root, pkg)]);
  const cache = path.join(dir, 'cache');
  const push = await runCliAsync(['push', '--to', `file://${cache}`, '--compression', 'none', env, pkg], { storeRoot: root });
  assert.is(push.status, 0, push.stderr);
  const firstRoot = path.join(dir, 'first-root');
  fs.renameSync(root, firstRoot);

  // Another machine: same .drv and output paths; everything substituted, nothing built.
  const other = otherHost();
  if (!other.busybox) console.log('  (busybox is not installed: the other host differs in its Node.js binary only)');
  const asOther = { storeRoot: root, node: other.node, env: other.env };
  assert.equal(await evaluated(asOther), evalA, 'the same .drv and output paths under another node and other host tools');
  const subst = await realizeBoth(['--substituters', `file://${cache}`, '--no-require-sigs'], asOther);
  assert.equal(subst.out, [env, pkg]);
  assert.match(subst.stderr, /substituted \d+ paths/);
  assert.not.ok(fs.existsSync(path.join(root, 'var', 'log')) && fs.readdirSync(path.join(root, 'var', 'log')).length, 'nothing was built');
  assert.equal(new Map([...closureHashes(root, env), ...closureHashes(root, pkg)]), hashes);
  fs.renameSync(root, path.join(dir, 'second-root'));

  // A mirror with the very .deb files, then a fresh store at the same store directory without
  // apt, on the other host: built from source, the same paths and narHashes.
  const mirror = path.join(dir, 'mirror', 'debian');
  const debs = fs.readdirSync(path.join(firstRoot, 'store')).filter((f) => f.endsWith('.deb'));
  for (const m of SETS.matchAll(/^ {4}"([^"]+)": \{ version: "[^"]+", arch: "[^"]+", filename: "([^"]+)"/gm)) {
    const deb = debs.find((f) => f.slice(33).startsWith(`${m[1]}_`));
    if (!deb) continue; // a package of the bootstrap's set that nothing here needs
    fs.mkdirSync(path.dirname(path.join(mirror, m[2])), { recursive: true });
    fs.copyFileSync(path.join(firstRoot, 'store', deb), path.join(mirror, m[2]));
  }
  const viaMirror = { ...other.env, HEPSTORE_APT_GET: '', HEPSTORE_MIRROR_DEBIAN: `file://${mirror}` };
  const second = await realizeBoth([], { storeRoot: root, node: other.node, env: viaMirror });
  assert.equal(second.out, [env, pkg], 'the same store paths');
  assert.equal(new Map([...closureHashes(root, env), ...closureHashes(root, pkg)]), hashes, 'the same paths and narHashes for the whole closures');

  const check = await realizeBoth(['--check-closure'], { storeRoot: root, node: other.node, env: viaMirror });
  assert.match(check.stderr, /bit for bit[^]*bit for bit/);
});

test.run();
