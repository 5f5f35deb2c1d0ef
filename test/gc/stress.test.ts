/**
 * GC under concurrency: realize loops against collector loops, and collectors killed with
 * SIGKILL at arbitrary moments. Invariant 6: nothing a root (or a running realize) needs is
 * ever deleted; the store stays consistent whatever happens.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, REPO, runCli, runCliAsync, tmpDir, writeTree, type CliResult } from '../helpers.js';
import { LocalStore, type NewPathInfo } from '../../src/store/local-store.js';
import { makeStorePath } from '../../src/store/path.js';
import { sha256Hex } from '../../src/hash/sha256.js';
import { hashPath } from '../../src/archive/dump.js';
import { assertClean, gcroot } from './helpers.js';
import { databaseOf } from '../../src/store/db.js';

/** Three expression files over one shared sub-graph; each also uses a build-only tool. */
function graphFile(tag: string): string {
  return `import { derivation, type Drv } from 'hepstore';
const mk = (name: string, deps: Drv[], buildOnly: Drv[] = []) =>
  derivation({ name, builder: '/bin/sh', args: ['-c', \`\${buildOnly.map((b) => \`read x < \${b}; \`).join('')}echo "\${name} \${deps.join(' ')}" > $out\`] });
const common: Drv[] = [];
for (let i = 0; i < 8; i++) common.push(mk(\`common-\${i}\`, common.slice(Math.max(0, i - 2))));
const tool = mk('build-tool-${tag}', [common[0]]);
const own: Drv[] = [];
for (let i = 0; i < 6; i++) own.push(mk(\`${tag}-\${i}\`, [common[(i * 3) % 8], ...own.slice(-1)], [tool]));
export default own.slice(-2);
`;
}

/** Every path of the closure of each root target exists on disk (read in this process). */
function checkRootClosures(root: string, links: string[]): string[] {
  const problems: string[] = [];
  const store = new LocalStore(root);
  try {
    for (const link of links) {
      let target: string;
      try {
        target = fs.readlinkSync(link);
      } catch {
        continue;
      }
      // A root's closure is stable while the root exists: read it and check the files.
      for (const p of store.queryClosure([target])) {
        const info = store.pathInfo(p);
        if (!fs.existsSync(p)) problems.push(`${link}: ${p} is missing`);
        else if (fs.lstatSync(p).isFile() && info.narSize < 128) problems.push(`${p} too small`);
      }
    }
  } finally {
    store.close();
  }
  return problems;
}

test('realize, gc (twice) and verify loops at the same time: no build fails, no root loses a file, verify stays clean', async () => {
  const dir = tmpDir('gc-stress');
  writeTree(dir, { 'g0.ts': graphFile('g0'), 'g1.ts': graphFile('g1'), 'g2.ts': graphFile('g2') });
  const root = path.join(tmpDir('gc-stress-store'), 'root');
  // The paths checked below are outputs only, not the .drv files that made them.
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'hepstore.json'), JSON.stringify({ keepDerivations: false }));
  const ROUNDS = 9;
  const links = ['r-a', 'r-b'].map((l) => path.join(dir, l));
  const allLinks = links.flatMap((l) => [l, `${l}-2`]); // two outputs each: r-a and r-a-2
  let done = false;
  const failures: string[] = [];
  const check = (what: string, r: CliResult) => {
    if (r.status !== 0) failures.push(`${what} exited ${r.status} (${r.signal}): ${r.stderr}`);
  };
  let realizes = 0;
  const realizer = (async () => {
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate graphs and out-links: each new result replaces a root, leaving garbage behind.
        const r = await runCliAsync(['realize', `g${round % 3}.ts`, '--out-link', links[round % 2], '--no-sandbox', '-j', '2'], { storeRoot: root, cwd: dir });
        check(`realize round ${round}`, r);
        realizes++;
        failures.push(...checkRootClosures(root, allLinks));
      }
    } finally {
      done = true;
    }
  })();
  let collections = 0;
  let deleted = 0;
  const collector = async (n: number) => {
    while (!done) {
      const r = await runCliAsync(['gc'], { storeRoot: root, cwd: dir });
      check(`gc loop ${n}`, r);
      deleted += Number(/deleted (\d+) paths/.exec(r.stdout)?.[1] ?? 0);
      collections++;
    }
  };
  // `store verify` alongside: a path collected while it looks is gone, not missing.
  let verifications = 0;
  const verifier = async () => {
    while (!done) {
      check('verify loop', await runCliAsync(['verify', '--check-contents'], { storeRoot: root, cwd: dir }));
      verifications++;
    }
  };
  // Let the first realize create the store before the collectors open it.
  await new Promise((r) => setTimeout(r, 200));
  await Promise.all([realizer, collector(1), collector(2), verifier()]);
  assert.equal(failures, []);
  assert.is(realizes, ROUNDS);
  assert.ok(collections >= 4, `only ${collections} collections ran`);
  assert.ok(deleted > 50, `the collectors deleted only ${deleted} paths while the builds ran`);
  assert.ok(verifications >= 2);
  const verify = runCli(['verify', '--check-contents'], { storeRoot: root });
  assert.is(verify.status, 0, verify.stderr);
  // One more collection leaves exactly the roots' closures.
  assert.is(runCli(['gc'], { storeRoot: root }).status, 0);
  const store = new LocalStore(root);
  try {
    const live = store.queryClosure(allLinks.map((l) => fs.readlinkSync(l)));
    assert.equal(store.allValidPaths(), live);
    assertClean(store);
  } finally {
    store.close();
  }
});

/** A store with a rooted chain and many dead paths, registered directly (fast). */
async function bigStore(root: string, dead: number): Promise<{ rooted: string[] }> {
  const store = new LocalStore(root);
  try {
    const infos: NewPathInfo[] = [];
    const mk = async (name: string, refs: string[]) => {
      const p = makeStorePath('output:out', sha256Hex(name), store.storeDir, name);
      if (name.endsWith('-dir')) {
        fs.mkdirSync(path.join(p, 'sub'), { recursive: true });
        fs.writeFileSync(path.join(p, 'sub', 'f'), `${name} ${refs.join(' ')}\n`);
        fs.chmodSync(path.join(p, 'sub', 'f'), 0o444);
        fs.chmodSync(path.join(p, 'sub'), 0o555);
        fs.chmodSync(p, 0o555);
      } else fs.writeFileSync(p, `${name} ${refs.join(' ')}\n`, { mode: 0o444 });
      const nar = await hashPath(p);
      infos.push({ path: p, narHash: nar.narHash, narSize: nar.narSize, references: refs });
      return p;
    };
    const rooted: string[] = [];
    for (let i = 0; i < 20; i++) rooted.push(await mk(`live-${i}`, rooted.slice(-2)));
    let prev: string[] = [];
    for (let i = 0; i < dead; i++) {
      const p = await mk(`dead-${i}${i % 5 === 0 ? '-dir' : ''}`, [...prev.slice(-2), rooted[i % 20]]);
      prev.push(p);
      if (prev.length > 50) prev = prev.slice(-2);
    }
    store.registerValidPaths(infos);
    gcroot(store, 'live', rooted[19]);
    return { rooted };
  } finally {
    store.close();
  }
}

/**
 * Start `store gc` and kill it with SIGKILL: `after` ms after it starts, or once it has deleted
 * `deleted` entries of the store directory (so that the kill lands mid-way whatever the speed of
 * the machine). True if it was killed before it finished.
 */
async function killGc(env: NodeJS.ProcessEnv, storeDir: string, when: { after: number } | { deleted: number }): Promise<boolean> {
  const entries = () => fs.readdirSync(storeDir).length;
  const start = entries();
  const child = spawn(process.execPath, [CLI, 'gc'], { env, cwd: REPO, stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  const timer =
    'after' in when
      ? setTimeout(() => child.kill('SIGKILL'), when.after)
      : setInterval(() => {
          if (start - entries() >= when.deleted) child.kill('SIGKILL');
        }, 2);
  const { signal } = await exited;
  clearTimeout(timer);
  clearInterval(timer);
  return signal === 'SIGKILL';
}

test('a collection killed with SIGKILL at any moment leaves a consistent store, and the next one finishes the job', async () => {
  const root = path.join(tmpDir('gc-kill'), 'root');
  const { rooted } = await bigStore(root, 1500);
  const env = { ...process.env, STORE_ROOT: root, HEPSTORE_GC_BATCH: '7' };
  const storeDir = path.join(root, 'store');
  // Early (while it starts, reads the graph, takes its lock), then mid-way through deleting.
  const moments = [{ after: 60 }, { after: 150 }, { deleted: 1 }, { deleted: 20 }, { deleted: 100 }, { deleted: 250 }, { deleted: 400 }];
  let killed = 0;
  for (const when of moments) {
    if (await killGc(env, storeDir, when)) killed++;
    const verify = runCli(['verify', '--check-contents', '--json'], { storeRoot: root });
    assert.is(verify.status, 0, `after a kill at ${JSON.stringify(when)}: ${verify.stdout} ${verify.stderr}`);
    const store = new LocalStore(root);
    try {
      for (const p of rooted) assert.ok(store.isValid(p) && fs.existsSync(p), p);
      const dangling = databaseOf(store).prepare('SELECT count(*) AS n FROM Refs r LEFT JOIN ValidPaths v ON v.id = r.reference WHERE v.id IS NULL').get() as { n: number };
      assert.is(dangling.n, 0);
    } finally {
      store.close();
    }
  }
  assert.ok(killed >= 5, `only ${killed} collections were killed mid-way`);
  const last = runCli(['gc', '--json'], { storeRoot: root });
  assert.is(last.status, 0, last.stderr);
  const store = new LocalStore(root);
  try {
    assert.equal(store.allValidPaths(), [...rooted].sort());
    assertClean(store, 'after the final collection');
    assert.equal(store.strayTemporaries(), []);
  } finally {
    store.close();
  }
});

test.run();
