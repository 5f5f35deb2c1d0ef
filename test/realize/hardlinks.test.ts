/**
 * Without the sandbox a builder can hard-link any file it can reach into its output.
 * Canonicalising the output (mode 0444/0555, mtime 1) must not change that file: a hard link
 * is given an inode of its own first.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';
import { canonicaliseTree } from '../../src/archive/canonical.js';

const MTIME = new Date('2001-02-03T04:05:06Z');

function hostFile(dir: string, name: string, mode: number, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  fs.chmodSync(f, mode);
  fs.utimesSync(f, MTIME, MTIME);
  return f;
}

function assertUntouched(f: string, mode: number, text: string): void {
  const st = fs.lstatSync(f);
  assert.is((st.mode & 0o7777).toString(8), mode.toString(8), `${f}: mode`);
  assert.is(st.mtime.getTime(), MTIME.getTime(), `${f}: mtime`);
  assert.is(st.nlink, 1, `${f}: no longer linked to the output`);
  assert.is(fs.readFileSync(f, 'utf8'), text);
}

test('canonicaliseTree breaks hard links to files outside the tree (and read-only directories do not stop it)', () => {
  const host = tmpDir('hardlink-host');
  const f = hostFile(host, 'data.txt', 0o640, 'shared data\n');
  const x = hostFile(host, 'tool', 0o750, '#!/bin/sh\n');
  const out = path.join(tmpDir('hardlink-out'), 'out');
  writeTree(out, { sub: {} });
  fs.linkSync(f, path.join(out, 'sub', 'data.txt'));
  fs.linkSync(x, path.join(out, 'tool'));
  fs.symlinkSync('sub/data.txt', path.join(out, 'link'));
  fs.linkSync(path.join(out, 'link'), path.join(out, 'link2')); // a hard link to a symlink
  fs.chmodSync(path.join(out, 'sub'), 0o555);
  canonicaliseTree(out);
  assertUntouched(f, 0o640, 'shared data\n');
  assertUntouched(x, 0o750, '#!/bin/sh\n');
  const copy = fs.lstatSync(path.join(out, 'sub', 'data.txt'));
  assert.is((copy.mode & 0o777).toString(8), '444');
  assert.is(copy.mtimeMs, 1000);
  assert.is((fs.lstatSync(path.join(out, 'tool')).mode & 0o777).toString(8), '555');
  assert.is(fs.lstatSync(path.join(out, 'link')).nlink, 1);
  assert.is(fs.readlinkSync(path.join(out, 'link2')), 'sub/data.txt');
  assert.is((fs.lstatSync(path.join(out, 'sub')).mode & 0o777).toString(8), '555');
  assert.equal(fs.readdirSync(path.join(out, 'sub')), ['data.txt'], 'no temporary copy is left');
});

test('realize --no-sandbox: a build that hard-links a host file into $out leaves its mode and mtime alone', () => {
  const host = tmpDir('hardlink-host');
  const f = hostFile(host, 'input.txt', 0o664, 'host input\n');
  const dir = tmpDir('hardlink-expr');
  writeTree(dir, {
    'default.ts': `import { derivation, host } from 'hepstore';
const ln = host.tool('ln');
const mkdir = host.tool('mkdir');
export const single = derivation({ name: 'single', builder: '/bin/sh', args: ['-c', \`\${ln} ${f} $out\`] });
export const tree = derivation({ name: 'tree', builder: '/bin/sh', args: ['-c', \`\${mkdir} $out; \${ln} ${f} $out/input.txt\`] });
`,
  });
  const root = path.join(dir, 'root');
  for (const attr of ['single', 'tree']) {
    const r = runCli(['realize', 'default.ts', '-A', attr, '--no-sandbox', '--no-out-link'], { storeRoot: root, cwd: dir });
    assert.is(r.status, 0, r.stderr);
    const out = r.stdout.trim();
    const file = attr === 'single' ? out : path.join(out, 'input.txt');
    assert.is(fs.readFileSync(file, 'utf8'), 'host input\n');
    assert.is((fs.lstatSync(file).mode & 0o777).toString(8), '444');
    assertUntouched(f, 0o664, 'host input\n');
  }
  const v = runCli(['verify', '--check-contents'], { storeRoot: root, cwd: dir });
  assert.is(v.status, 0, v.stderr);
});

test.run();
