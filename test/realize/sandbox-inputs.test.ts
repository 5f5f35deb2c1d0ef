/**
 * How the input closure appears in the sandbox: every input and nothing else, read-only even
 * to a builder whose user maps to the store's owner, and no capability left to the builder.
 * Each check runs with hepstore-sandbox-init (with an overlay, and without) and with the
 * inputs bound by bwrap (HEPSTORE_SANDBOX_INIT=0).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tmpDir } from '../helpers.js';
import { findBwrap } from '../../src/realize/sandbox.js';

const bwrap = findBwrap();
if (!bwrap) console.log('bubblewrap (bwrap) is not installed: skipping the sandbox input tests');
const sandboxTest = bwrap ? test : test.skip;
const INIT = fileURLToPath(new URL('../../src/realize/hepstore-sandbox-init', import.meta.url));
if (bwrap && !fs.existsSync(INIT)) console.log('hepstore-sandbox-init was not built (no C compiler?): only the bwrap binds are tested');
const MODES: Array<[string, NodeJS.ProcessEnv]> = [
  ...(fs.existsSync(INIT)
    ? ([
        ['hepstore-sandbox-init', { HEPSTORE_SANDBOX_INIT: '' }],
        ['hepstore-sandbox-init, no overlay', { HEPSTORE_SANDBOX_INIT: 'direct' }],
      ] as Array<[string, NodeJS.ProcessEnv]>)
    : []),
  ['bwrap binds', { HEPSTORE_SANDBOX_INIT: '0' }],
];

function realize(dir: string, root: string, attr: string, env: NodeJS.ProcessEnv): string {
  const r = runCli(['realize', 'default.ts', '-A', attr, '--no-out-link'], { storeRoot: root, cwd: dir, env });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const READ_ONLY = `import { derivation, host } from 'hepstore';
const mkdir = host.tool('mkdir');
const chmod = host.tool('chmod');
const rm = host.tool('rm');
export const input = derivation({ name: 'input', builder: '/bin/sh', args: ['-c', \`\${mkdir} $out; echo original > $out/file\`] });
export const tamper = derivation({
  name: 'tamper',
  builder: '/bin/sh',
  args: ['-c', '{ ' + [
    \`if echo changed > \${input}/file; then echo "write: yes"; else echo "write: no"; fi\`,
    \`if \${chmod} u+w \${input}/file \${input}; then echo "chmod: yes"; else echo "chmod: no"; fi\`,
    \`if echo new > \${input}/new; then echo "create: yes"; else echo "create: no"; fi\`,
    \`if \${rm} -rf \${input}; then echo "remove: yes"; else echo "remove: no"; fi\`,
    'while IFS= read -r l; do case "$l" in Cap*) echo "$l";; esac; done < /proc/self/status',
  ].join('; ') + '; } > $out 2>&1'],
});
`;

for (const [mode, env] of MODES) {
  sandboxTest(`${mode}: inputs are read-only, even when the builder's user is the store's owner, and the builder has no capabilities`, () => {
    const dir = tmpDir('inputs');
    fs.writeFileSync(path.join(dir, 'default.ts'), READ_ONLY);
    const root = path.join(tmpDir('inputs-store'), 'root');
    const input = realize(dir, root, 'input', env);
    const out = realize(dir, root, 'tamper', env);
    const said = fs.readFileSync(out, 'utf8');
    for (const what of ['write', 'chmod', 'create', 'remove']) assert.match(said, new RegExp(`^${what}: no$`, 'm'), said);
    assert.is(fs.readFileSync(path.join(input, 'file'), 'utf8'), 'original\n');
    assert.is((fs.statSync(path.join(input, 'file')).mode & 0o777).toString(8), '444');
    assert.not.ok(fs.existsSync(path.join(input, 'new')));
    // bwrap leaves the bounding set full (nothing in it can be gained: no_new_privs, not root);
    // hepstore-sandbox-init empties it too.
    const caps = ['CapInh', 'CapPrm', 'CapEff', 'CapAmb', ...(env.HEPSTORE_SANDBOX_INIT === '0' ? [] : ['CapBnd'])];
    for (const cap of caps) assert.match(said, new RegExp(`^${cap}:\\s+0+$`, 'm'), said);
  });

  sandboxTest(`${mode}: a closure of 300 paths is all there, and nothing else`, () => {
    const dir = tmpDir('inputs');
    fs.writeFileSync(
      path.join(dir, 'default.ts'),
      `import { derivation, writeText } from 'hepstore';
const texts = Array.from({ length: 300 }, (_, i) => writeText(\`text-\${i}\`, \`text \${i}\\n\`));
export const other = derivation({ name: 'other', builder: '/bin/sh', args: ['-c', 'echo other > $out'] });
export const count = derivation({
  name: 'count',
  builder: '/bin/sh',
  args: ['-c', \`n=0; for p in $HEPSTORE_STORE/*; do n=$((n+1)); done; read a < \${texts[0]}; read b < \${texts[299]}; echo "$n $a/$b" > $out\`],
  env: { texts: texts.join(' ') },
});
`,
    );
    const root = path.join(tmpDir('inputs-store'), 'root');
    realize(dir, root, 'other', env);
    const out = realize(dir, root, 'count', env);
    assert.is(fs.readFileSync(out, 'utf8'), '300 text 0/text 299\n');
  });
}

test.run();
