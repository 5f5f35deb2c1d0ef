/**
 * The reproduction story: build an environment in store A and push it to a cache served over
 * HTTP; a fresh store B with only the trusted key and the cache realizes the same file to the
 * same paths with zero builds and passes verify --check-contents; a third store C without any
 * cache builds it from source to the same narHashes. A, B and C live at one root in turn.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { LocalStore } from '../../src/store/local-store.js';
import { removeTree } from '../../src/archive/canonical.js';
import { runCliAsync, tmpDir, writeTree } from '../helpers.js';
import { makeKeys, sharedRoot, startServer, writeConfig } from '../cache/helpers.js';

const ENV = `import { derivation, path } from 'hepstore';
const calib = path('./calib.txt');
export const zlib = derivation({ name: 'zlib-1.3', outputs: ['out', 'dev'], builder: '/bin/sh', args: ['-c', 'echo libz > $out; echo "#define ZLIB" > $dev'] });
export const root = derivation({ name: 'root-6.32', builder: '/bin/sh', args: ['-c', \`read z < \${zlib}; echo "root linked to \${zlib} ($z), headers \${zlib.dev}" > $out\`] });
export const analysis = derivation({ name: 'analysis-0.3', builder: '/bin/sh', args: ['-c', \`read c < \${calib}; echo "uses \${root}, calibration $c" > $out\`] });
export default [analysis];
`;

function closure(root: string, out: string): Record<string, string> {
  const s = new LocalStore(root);
  try {
    return Object.fromEntries(s.queryClosure([out]).map((p) => [p, s.pathInfo(p).narHash]));
  } finally {
    s.close();
  }
}

test('build in A, push; B substitutes identical paths with zero builds and verifies; C builds from source to identical narHashes', async () => {
  const dir = tmpDir('e2e');
  writeTree(dir, { 'env.ts': ENV, 'calib.txt': '1.02\n' });
  const keys = makeKeys('release-key-1');
  fs.writeFileSync(path.join(dir, 'release.sec'), keys.secretText);
  const root = sharedRoot();
  const server = await startServer(tmpDir('served'), { allowPut: true });
  const run = async (args: string[]) => {
    const r = await runCliAsync(args, { storeRoot: root, cwd: dir });
    assert.is(r.status, 0, `store ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  try {
    // A: build, sign with the configured key, push.
    writeConfig(root, { secretKeyFiles: [path.join(dir, 'release.sec')] });
    const outA = (await run(['realize', 'env.ts', '--no-out-link'])).stdout.trim();
    const a = closure(root, outA);
    assert.ok(Object.keys(a).length >= 4);
    await run(['push', '--to', `${server.url}/releases`, outA]);
    removeTree(root);

    // B: only the public key and the cache.
    writeConfig(root, { trustedPublicKeys: [keys.publicKey], substituters: [`${server.url}/releases`] });
    const rb = await run(['realize', 'env.ts']);
    assert.is(rb.stdout.trim(), outA);
    assert.equal(closure(root, outA), a);
    assert.not.ok(fs.existsSync(path.join(root, 'var', 'log')) && fs.readdirSync(path.join(root, 'var', 'log')).length, 'B built nothing');
    await run(['verify', '--check-contents']);
    fs.rmSync(path.join(dir, 'result'));
    removeTree(root);

    // C: no cache, from source.
    const rc = await run(['realize', 'env.ts', '--no-out-link']);
    assert.is(rc.stdout.trim(), outA);
    assert.equal(closure(root, outA), a);
  } finally {
    await server.close();
  }
});

test.run();
