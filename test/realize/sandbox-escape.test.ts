/**
 * A store path that is a symlink must not open the host to a sandboxed build: whatever it
 * points to is looked up in the sandbox's own view, where only the input closure exists.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree, type TreeSpec } from '../helpers.js';
import { findBwrap } from '../../src/realize/sandbox.js';

const bwrap = findBwrap();
if (!bwrap) console.log('bubblewrap (bwrap) is not installed: skipping the sandbox escape tests');
const sandboxTest = bwrap ? test : test.skip;

const SECRET = 'the-host-secret-42';

interface Env {
  dir: string;
  root: string;
  storeDir: string;
  /** A host directory holding the file `secret`. */
  secretDir: string;
}

function setup(files: TreeSpec = {}): Env {
  const dir = tmpDir('escape');
  writeTree(dir, files);
  const secretDir = tmpDir('escape-secret');
  fs.writeFileSync(path.join(secretDir, 'secret'), SECRET + '\n');
  const root = path.join(tmpDir('escape-store'), 'root');
  return { dir, root, storeDir: path.join(root, 'store'), secretDir };
}

function realize(env: Env, attr: string, root = env.root) {
  return runCli(['realize', 'default.ts', '-A', attr, '--no-out-link'], { storeRoot: root, cwd: env.dir });
}

function built(env: Env, attr: string, root = env.root): string {
  const r = realize(env, attr, root);
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** The build either fails or writes what it could read, which must not be the secret. */
function assertNotRead(env: Env, attr: string, root = env.root): string {
  const r = realize(env, attr, root);
  const said = r.status === 0 ? fs.readFileSync(r.stdout.trim(), 'utf8') : '';
  assert.not.ok(said.includes(SECRET), `the build read the host file: ${said}`);
  assert.not.ok(r.stderr.includes(SECRET), 'the secret is not in the log either');
  return said;
}

/** `reader` reads `<link>/secret`; `link` comes from `linkExpr`. */
const READER = (linkExpr: string, extra = '') => `import { derivation, path, host } from 'hepstore';
const ln = host.tool('ln');
${extra}
export const link = ${linkExpr};
export const reader = derivation({
  name: 'reader',
  builder: '/bin/sh',
  args: ['-c', \`if read -r l < \${link}/secret; then echo "read: $l"; else echo "read nothing"; fi > $out\`],
});
`;

sandboxTest('a derivation whose output is a symlink to a host directory does not expose it', () => {
  const env = setup();
  fs.writeFileSync(path.join(env.dir, 'default.ts'), READER(`derivation({ name: 'link', builder: '/bin/sh', args: ['-c', \`\${ln} -s ${env.secretDir} $out\`] })`));
  const link = built(env, 'link');
  assert.is(fs.readlinkSync(link), env.secretDir);
  // What the sandbox must stop: outside it, the link leads to the secret.
  assert.ok(fs.readFileSync(path.join(link, 'secret'), 'utf8').includes(SECRET));
  assert.match(assertNotRead(env, 'reader'), /read nothing/);
});

sandboxTest('a path() source that is a symlink to a host directory does not expose it', () => {
  const env = setup();
  fs.symlinkSync(env.secretDir, path.join(env.dir, 'link'));
  fs.writeFileSync(path.join(env.dir, 'default.ts'), READER(`path('./link')`));
  assert.match(assertNotRead(env, 'reader'), /read nothing/);
});

sandboxTest('a symlink path imported from an unsigned bundle does not expose the host', () => {
  const env = setup();
  fs.writeFileSync(path.join(env.dir, 'default.ts'), READER(`derivation({ name: 'link', builder: '/bin/sh', args: ['-c', \`\${ln} -s ${env.secretDir} $out\`] })`));
  // Built, exported, deleted, and imported again without signatures (as from another machine).
  const link = built(env, 'link');
  const bundle = path.join(env.dir, 'link.bundle');
  const ex = runCli(['export', link, '-o', bundle], { storeRoot: env.root });
  assert.is(ex.status, 0, ex.stderr);
  const del = runCli(['delete', link], { storeRoot: env.root });
  assert.is(del.status, 0, del.stderr);
  assert.not.ok(fs.existsSync(link));
  const im = runCli(['import', bundle, '--no-require-sigs'], { storeRoot: env.root });
  assert.is(im.status, 0, im.stderr);
  assert.ok(im.stdout.includes(link), im.stdout);
  assert.match(assertNotRead(env, 'reader'), /read nothing/);
});

sandboxTest('a symlink to the store directory shows only the input closure', () => {
  const env = setup();
  fs.writeFileSync(
    path.join(env.dir, 'default.ts'),
    `import { derivation, host } from 'hepstore';
const ln = host.tool('ln');
export const other = derivation({ name: 'other', builder: '/bin/sh', args: ['-c', 'echo ${SECRET} > $out'] });
export const link = derivation({ name: 'link', builder: '/bin/sh', args: ['-c', \`\${ln} -s $HEPSTORE_STORE $out\`] });
export const reader = derivation({
  name: 'reader',
  builder: '/bin/sh',
  args: ['-c', \`{ for p in \${link}/*; do echo "seen: \\\${p##*/}"; if read -r l < "$p"; then echo "content: $l"; fi; done; } > $out\`],
});
`,
  );
  const other = built(env, 'other');
  const link = built(env, 'link');
  assert.is(fs.readlinkSync(link), env.storeDir);
  const said = assertNotRead(env, 'reader');
  const seen = said.split('\n').filter((l) => l.startsWith('seen: ')).map((l) => l.slice(6));
  assert.ok(seen.includes(path.basename(link)), `the input itself is there: ${said}`);
  assert.not.ok(seen.includes(path.basename(other)), `a path that is not an input is not: ${said}`);
  assert.not.ok(seen.some((p) => p.endsWith('.drv')), `.drv files are not: ${said}`);
});

sandboxTest('a symlink to a store path outside the closure leads nowhere', () => {
  const env = setup();
  // The target is given in two halves, so that `other` is neither an input of the link (a
  // store path in a string is one) nor found among its references.
  const expr = (a: string, b: string) => `import { derivation, host } from 'hepstore';
const ln = host.tool('ln');
const mkdir = host.tool('mkdir');
export const other = derivation({ name: 'other', builder: '/bin/sh', args: ['-c', \`\${mkdir} $out; echo ${SECRET} > $out/secret\`] });
export const link = derivation({ name: 'link', builder: '/bin/sh', args: ['-c', \`\${ln} -s "$HEPSTORE_STORE/$a$b" $out\`], env: { a: '${a}', b: '${b}' } });
export const reader = derivation({
  name: 'reader',
  builder: '/bin/sh',
  args: ['-c', \`if read -r l < \${link}/secret; then echo "read: $l"; else echo "read nothing"; fi > $out\`],
});
`;
  fs.writeFileSync(path.join(env.dir, 'default.ts'), expr('', ''));
  const other = built(env, 'other');
  const name = path.basename(other);
  fs.writeFileSync(path.join(env.dir, 'default.ts'), expr(name.slice(0, 16), name.slice(16)));
  const link = built(env, 'link');
  assert.is(fs.readlinkSync(link), other);
  const info = runCli(['path-info', link, '--json'], { storeRoot: env.root });
  assert.is(info.status, 0, info.stderr);
  assert.not.ok(info.stdout.includes(name), `the link does not refer to it: ${info.stdout}`);
  // Outside the sandbox, the link leads to it.
  assert.ok(fs.readFileSync(path.join(link, 'secret'), 'utf8').includes(SECRET));
  assert.match(assertNotRead(env, 'reader'), /read nothing/);
});

test.run();
