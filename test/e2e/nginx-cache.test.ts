/**
 * nginx with WebDAV as a real binary cache: store A builds a closure and pushes it with PUT;
 * a fresh store B, with only the trusted key and the nginx URL, realizes the same file with
 * zero builds and identical narHashes. Skipped when nginx (with its DAV module) is absent.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { LocalStore } from '../../src/store/local-store.js';
import { removeTree } from '../../src/archive/canonical.js';
import { pseudoRandomBytes, runCliAsync, tmpDir, writeTree } from '../helpers.js';
import { makeKeys, sharedRoot, writeConfig } from '../cache/helpers.js';
import { findNginx, startNginx } from '../cache/nginx.js';

const ENV = `import { derivation, path } from 'hepstore';
const table = path('./table.bin');
export const lib = derivation({ name: 'libcalib-1.0', builder: '/bin/sh', args: ['-c', \`echo "table \${table}" > $out\`] });
export const app = derivation({ name: 'app-2.0', builder: '/bin/sh', args: ['-c', \`read t < \${lib}; echo "app with \${lib}: $t" > $out\`] });
export default app;
`;

function closure(root: string, out: string): Record<string, string> {
  const s = new LocalStore(root);
  try {
    return Object.fromEntries(s.queryClosure([out]).map((p) => [p, s.pathInfo(p).narHash]));
  } finally {
    s.close();
  }
}

function logs(root: string): string[] {
  const dir = path.join(root, 'var', 'log');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

const nginx = findNginx();
if (!nginx) console.log('nginx (with the http_dav_module) is not installed: skipping the nginx binary cache test');

(nginx ? test : test.skip)('nginx WebDAV cache: A pushes a closure with PUT, a fresh B substitutes it with zero builds', async () => {
  const server = await startNginx(nginx!);
  try {
    const dir = tmpDir('e2e-nginx');
    writeTree(dir, { 'env.ts': ENV, 'table.bin': pseudoRandomBytes(3 << 20, 'nginx') });
    const keys = makeKeys('nginx-cache-1');
    fs.writeFileSync(path.join(dir, 'cache.sec'), keys.secretText);
    const root = sharedRoot();
    const cacheUrl = `${server.url}/hep/cache`;
    const run = async (args: string[]) => {
      const r = await runCliAsync(args, { storeRoot: root, cwd: dir });
      assert.is(r.status, 0, `store ${args.join(' ')}: ${r.stderr}`);
      return r;
    };

    // A: build and push (create_full_put_path makes hep/cache/nar/ on the server).
    writeConfig(root, { secretKeyFiles: [path.join(dir, 'cache.sec')] });
    const out = (await run(['realize', 'env.ts', '--no-out-link'])).stdout.trim();
    const a = closure(root, out);
    assert.is(Object.keys(a).length, 3, 'app, libcalib and the table');
    const pushed = JSON.parse((await run(['push', '--to', cacheUrl, out, '--json'])).stdout);
    assert.is(pushed.pushed.length, 3);
    const served = path.join(server.root, 'hep', 'cache');
    assert.ok(fs.existsSync(path.join(served, 'hepstore-cache-info')));
    assert.is(fs.readdirSync(served).filter((f) => f.endsWith('.narinfo')).length, 3);
    assert.is(fs.readdirSync(path.join(served, 'nar')).length, 3);
    const again = JSON.parse((await run(['push', '--to', cacheUrl, out, '--json'])).stdout);
    assert.equal([again.pushed.length, again.skipped.length], [0, 3], 'a second push finds everything there');
    removeTree(root);

    // B: a fresh store that trusts the key and knows the cache.
    writeConfig(root, { trustedPublicKeys: [keys.publicKey], substituters: [cacheUrl] });
    const rb = await run(['realize', 'env.ts', '--no-out-link', '--no-fallback']);
    assert.is(rb.stdout.trim(), out);
    assert.equal(closure(root, out), a);
    assert.equal(logs(root), [], 'B built nothing');
    await run(['verify', '--check-contents']);
  } finally {
    await server.close();
  }
});

test.run();
