import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { pseudoRandomBytes, runCli, runCliAsync, tmpDir, writeTree } from '../helpers.js';
import { hashPath } from '../../src/archive/dump.js';
import { makeStorePath } from '../../src/store/path.js';
import { LocalStore } from '../../src/store/local-store.js';

const CHILDREN = 4;
const ROUNDS = 3;

async function expectedPath(storeDir: string, src: string): Promise<string> {
  return makeStorePath('source', (await hashPath(src)).digest.toString('hex'), storeDir, path.basename(src));
}

test(`${CHILDREN} processes adding the same and different trees to one fresh store all succeed and agree`, async () => {
  const srcBase = tmpDir('conc-src');
  const shared = writeTree(path.join(srcBase, 'shared'), { a: 'shared\n', d: { e: { exec: 'e' } }, l: { link: 'a' } });
  const big = path.join(srcBase, 'big-file');
  fs.writeFileSync(big, pseudoRandomBytes(1536 * 1024, 'conc'));
  const own = Array.from({ length: CHILDREN }, (_, i) =>
    writeTree(path.join(srcBase, `own-${i}`), { [`f${i}`]: `child ${i}\n`, sub: { x: 'x'.repeat(1000 * (i + 1)) } }),
  );
  for (let round = 0; round < ROUNDS; round++) {
    // The store does not exist yet: the children also race to create it and its database.
    const root = path.join(tmpDir('conc-store'), 'root');
    const storeDir = path.join(root, 'store');
    const argLists = own.map((mine, i) => {
      const list = [shared, mine, big];
      return [...list.slice(i % 3), ...list.slice(0, i % 3)];
    });
    const results = await Promise.all(argLists.map((list) => runCliAsync(['add', ...list], { storeRoot: root })));
    const expected = new Map<string, string>();
    for (const src of [shared, big, ...own]) expected.set(src, await expectedPath(storeDir, src));
    results.forEach((res, i) => {
      assert.is(res.status, 0, `round ${round}, child ${i}: ${res.stderr}`);
      assert.not.match(res.stderr, /locked|busy/i);
      assert.is(res.stderr, '', `round ${round}, child ${i} wrote to stderr`);
      assert.equal(res.stdout.trim().split('\n'), argLists[i].map((src) => expected.get(src)), `round ${round}, child ${i} printed the expected paths`);
    });
    const verify = runCli(['verify', '--check-contents', '--json'], { storeRoot: root });
    assert.is(verify.status, 0, verify.stderr);
    assert.equal(JSON.parse(verify.stdout), { ok: true, checked: 2 + CHILDREN, missing: [], modified: [] });
    const store = new LocalStore(root);
    try {
      assert.equal(store.allValidPaths(), [...expected.values()].sort());
      assert.equal(store.strayTemporaries(), []);
      assert.equal(fs.readdirSync(storeDir).sort(), [...expected.values()].map((p) => path.basename(p)).sort());
    } finally {
      store.close();
    }
  }
});

test('stores opened concurrently in one process serialise their writes', async () => {
  const root = path.join(tmpDir('conc-inproc'), 'root');
  const stores = Array.from({ length: 3 }, () => new LocalStore(root));
  try {
    const srcs = Array.from({ length: 6 }, (_, i) => writeTree(path.join(tmpDir('conc-inproc-src'), `t${i % 3}`), { f: `tree ${i % 3}\n` }));
    const paths = await Promise.all(srcs.map((s, i) => stores[i % 3].addToStore(s)));
    assert.is(new Set(paths).size, 3);
    assert.is(paths[0], paths[3]);
    assert.equal(stores[0].allValidPaths(), [...new Set(paths)].sort());
    assert.equal((await stores[1].verify({ checkContents: true })).modified, []);
  } finally {
    for (const s of stores) s.close();
  }
});

test.run();
