import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { runCli, runCliAsync, tmpDir, writeTree, type TreeSpec } from '../helpers.js';
import { findBwrap } from '../../src/realize/sandbox.js';
import { LocalStore } from '../../src/store/local-store.js';

const bwrap = findBwrap();
if (!bwrap) console.log('bubblewrap (bwrap) is not installed: skipping the sandbox tests');
const sandboxTest = bwrap ? test : test.skip;

interface Env {
  dir: string;
  root: string;
  storeDir: string;
}

function setup(files: TreeSpec): Env {
  const dir = tmpDir('sandbox');
  writeTree(dir, files);
  const root = path.join(tmpDir('sandbox-store'), 'root');
  return { dir, root, storeDir: path.join(root, 'store') };
}

function realize(env: Env, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return runCli(['realize', 'default.ts', '--no-out-link', ...args], { storeRoot: env.root, cwd: env.dir, env: extraEnv });
}

function built(env: Env, args: string[], extraEnv: NodeJS.ProcessEnv = {}): string {
  const r = realize(env, args, extraEnv);
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const sri = (s: string) => 'sha256-' + createHash('sha256').update(s).digest('base64');

const ESCAPES = (outside: string) => `import { derivation } from 'hepstore';
export default derivation({
  name: 'escape',
  builder: '/bin/sh',
  args: ['-c', [
    'echo pwned > ${outside}/escaped && echo "wrote outside" >> $out',
    'echo pwned > $HEPSTORE_STORE/../escaped-root && echo "wrote store root" >> $out',
    'echo pwned > $HEPSTORE_STORE/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-planted && echo "planted" >> $out',
    'echo done >> $out',
  ].join('; ')],
});
`;

sandboxTest('a sandboxed build cannot write outside $out', () => {
  const env = setup({});
  fs.writeFileSync(path.join(env.dir, 'default.ts'), ESCAPES(env.dir));
  const out = built(env, []);
  const said = fs.readFileSync(out, 'utf8');
  assert.ok(said.endsWith('done\n'), said);
  assert.not.match(said, /wrote outside/, 'the expression directory does not exist in the sandbox');
  assert.not.ok(fs.existsSync(path.join(env.dir, 'escaped')));
  assert.not.ok(fs.existsSync(path.join(env.root, 'escaped-root')));
  assert.not.ok(fs.existsSync(path.join(env.storeDir, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-planted')));
  // The same builder without the sandbox does write there (so the check above means something).
  const env2 = setup({});
  fs.writeFileSync(path.join(env2.dir, 'default.ts'), ESCAPES(env2.dir));
  const out2 = built(env2, ['--no-sandbox']);
  assert.match(fs.readFileSync(out2, 'utf8'), /wrote outside/);
  assert.ok(fs.existsSync(path.join(env2.dir, 'escaped')));
});

const LOOK = `import { derivation } from 'hepstore';
export const other = derivation({ name: 'other', builder: '/bin/sh', args: ['-c', 'echo other > $out'] });
export const input = derivation({ name: 'input', builder: '/bin/sh', args: ['-c', 'echo input > $out'] });
export default derivation({
  name: 'look',
  builder: '/bin/sh',
  args: ['-c', '{ ' + [
    'if [ -e /usr/bin/env ]; then echo "env: visible"; else echo "env: hidden"; fi',
    'if [ -e /home ] || [ -e /root/. ]; then echo "home: visible"; else echo "home: hidden"; fi',
    'while IFS= read -r l; do echo "passwd: $l"; done < /etc/passwd',
    'for p in $HEPSTORE_STORE/*; do echo "store: \${p##*/}"; done',
    \`read x < \${input}; echo "input: $x"\`,
  ].join('; ') + '; } > $out'],
});
`;

sandboxTest('host paths are not visible: no /usr/bin/env, a synthetic /etc/passwd, only the input closure in the store', () => {
  const env = setup({ 'default.ts': LOOK });
  const other = built(env, ['-A', 'other']);
  const out = built(env, []);
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.includes('env: hidden'), lines.join('\n'));
  assert.ok(lines.includes('home: hidden'), lines.join('\n'));
  assert.ok(lines.includes('input: input'));
  const passwd = lines.filter((l) => l.startsWith('passwd: ')).map((l) => l.slice(8));
  assert.ok(passwd.some((l) => l.startsWith('builder:')), 'the synthetic passwd');
  for (const hostLine of fs.readFileSync('/etc/passwd', 'utf8').split('\n').filter(Boolean)) {
    assert.not.ok(passwd.includes(hostLine), `host passwd line visible: ${hostLine}`);
  }
  const store = lines.filter((l) => l.startsWith('store: ')).map((l) => l.slice(7));
  assert.ok(store.some((p) => p.endsWith('-input')), `the input is visible: ${store}`);
  assert.not.ok(store.includes(path.basename(other)), 'a valid path that is not an input is not visible');
  assert.not.ok(store.some((p) => p.endsWith('.drv')), '.drv files are not visible');
  // Without the sandbox, the host is there.
  const env2 = setup({ 'default.ts': LOOK });
  const out2 = built(env2, ['--no-sandbox']);
  assert.match(fs.readFileSync(out2, 'utf8'), /env: visible/);
});

const ENV = `import { derivation } from 'hepstore';
export default derivation({
  name: 'env',
  builder: '/bin/sh',
  args: ['-c', 'export -p > $out; echo "cwd=$(pwd)" >> $out'],
  env: { declared: 'yes', multi: 'a b' },
});
`;

/** Parse dash/bash `export -p` output into name → value. */
function exported(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const x = /^(?:export|declare -x) ([A-Za-z_][A-Za-z0-9_]*)(?:="?'?(.*?)'?"?)?$/.exec(line);
    if (x) m.set(x[1], x[2] ?? '');
  }
  return m;
}

const ALLOWED = ['PATH', 'HOME', 'HEPSTORE_STORE', 'HEPSTORE_BUILD_CORES', 'HEPSTORE_BUILD_TOP', 'SOURCE_DATE_EPOCH', 'TZ', 'LC_ALL', 'LANG', 'TMPDIR', 'TEMPDIR', 'TMP', 'TEMP', 'PWD', 'OLDPWD', 'SHLVL', 'out', 'declared', 'multi'];

function checkCleanEnv(env: Env, text: string, buildDir: (v: string) => boolean): void {
  const vars = exported(text);
  assert.is(vars.get('PATH'), '/path-not-set');
  assert.is(vars.get('HOME'), '/homeless-shelter');
  assert.is(vars.get('TZ'), 'UTC');
  assert.is(vars.get('LC_ALL'), 'C');
  assert.match(vars.get('SOURCE_DATE_EPOCH') ?? '', /^\d+$/);
  assert.ok(buildDir(vars.get('TMPDIR')!), `TMPDIR=${vars.get('TMPDIR')}`);
  assert.match(text, new RegExp(`cwd=${vars.get('TMPDIR')}\n`), 'the build runs in TMPDIR');
  assert.is(vars.get('HEPSTORE_STORE'), env.storeDir);
  assert.is(vars.get('declared'), 'yes');
  assert.is(vars.get('multi'), 'a b');
  assert.match(vars.get('out')!, new RegExp(`^${env.storeDir}/[0-9a-z]{32}-env$`));
  for (const k of vars.keys()) assert.ok(ALLOWED.includes(k), `unexpected variable in the build environment: ${k}`);
}

const LEAKY = { USER: 'someone', HEPSTORE_LEAK_CHECK: 'leaked', LD_PRELOAD: '', http_proxy: 'http://proxy.invalid:1' };

sandboxTest('the sandboxed build environment is clean', () => {
  const env = setup({ 'default.ts': ENV });
  const out = built(env, [], LEAKY);
  checkCleanEnv(env, fs.readFileSync(out, 'utf8'), (v) => v === '/build');
});

test('without the sandbox the environment is just as clean (TMPDIR is the build directory)', () => {
  const env = setup({ 'default.ts': ENV });
  const out = built(env, ['--no-sandbox'], LEAKY);
  checkCleanEnv(env, fs.readFileSync(out, 'utf8'), (v) => v.startsWith(path.join(env.root, 'var', 'builds') + '/'));
});

const TREE = `import { derivation, host } from 'hepstore';
const mkdir = host.tool('mkdir');
const chmod = host.tool('chmod');
export default derivation({
  name: 'tree',
  builder: '/bin/sh',
  args: ['-c', \`\${mkdir} -p $out/bin $out/share; echo data > $out/share/data; echo '#!/bin/sh' > $out/bin/run; \${chmod} 755 $out/bin/run; \${chmod} 666 $out/share/data\`],
});
`;

sandboxTest('outputs are canonical: read-only, executables 0555, mtime 1', () => {
  const env = setup({ 'default.ts': TREE });
  const out = built(env, []);
  const modes: Record<string, string> = {};
  const visit = (p: string, rel: string) => {
    const st = fs.lstatSync(p);
    modes[rel] = (st.mode & 0o7777).toString(8);
    assert.is(st.mtimeMs, 1000, `${rel} has mtime 1`);
    if (st.isDirectory()) for (const c of fs.readdirSync(p)) visit(path.join(p, c), rel ? `${rel}/${c}` : c);
  };
  visit(out, '');
  assert.equal(modes, { '': '555', bin: '555', 'bin/run': '555', share: '555', 'share/data': '444' });
});

const CHECK = `import { derivation } from 'hepstore';
export const det = derivation({ name: 'det', builder: '/bin/sh', args: ['-c', 'echo same > $out'] });
export const nondet = derivation({ name: 'nondet', builder: '/bin/sh', args: ['-c', 'read u < /proc/sys/kernel/random/uuid; echo "$u" > $out'] });
export const above = derivation({ name: 'above', builder: '/bin/sh', args: ['-c', 'read u < $nondet; echo "$u" > $out'], env: { nondet } });
`;

sandboxTest('--check passes on a deterministic derivation and exits 104 on one that is not', () => {
  const env = setup({ 'default.ts': CHECK });
  const det = built(env, ['-A', 'det']);
  const nondet = built(env, ['-A', 'nondet']);
  const content = fs.readFileSync(nondet, 'utf8');
  const good = realize(env, ['-A', 'det', '--check']);
  assert.is(good.status, 0, good.stderr);
  assert.is(good.stdout.trim(), det);
  assert.match(good.stderr, /checked 1 derivation:/);
  const bad = realize(env, ['-A', 'nondet', '--check']);
  assert.is(bad.status, 104, bad.stderr);
  assert.match(bad.stderr, /may not be deterministic/);
  assert.ok(bad.stderr.includes(nondet), bad.stderr);
  // The valid output is left as it was.
  assert.is(fs.readFileSync(nondet, 'utf8'), content);
  const store = new LocalStore(env.root);
  try {
    assert.ok(store.isValid(nondet));
  } finally {
    store.close();
  }
  assert.equal(fs.readdirSync(path.join(env.root, 'var', 'builds')), []);

  // --check rebuilds the derivation named, using its valid inputs as they are (as Nix's
  // --check); --check-closure rebuilds its inputs too, and so finds the one that is not deterministic.
  const above = built(env, ['-A', 'above']);
  const named = realize(env, ['-A', 'above', '--check']);
  assert.is(named.status, 0, named.stderr);
  assert.is(named.stdout.trim(), above);
  assert.match(named.stderr, /checked 1 derivation:/);
  const closure = realize(env, ['-A', 'above', '--check-closure']);
  assert.is(closure.status, 104, closure.stderr);
  assert.ok(closure.stderr.includes(nondet), closure.stderr);
  const both = realize(env, ['-A', 'above', '--check', '--check-closure']);
  assert.is(both.status, 1, both.stderr);
});

interface Server {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

async function serve(body: string): Promise<Server> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/data`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const NET = (url: string, hash: string) => `import { derivation, host } from 'hepstore';
const node = host.tool(process.execPath);
const code = \`fetch(${JSON.stringify(url)}).then((r) => r.text()).then(
  (t) => require('fs').writeFileSync(process.env.out, t),
  (e) => { console.error('fetch failed:', e.cause?.code ?? e.message); process.exit(3); })\`;
export const pure = derivation({ name: 'net', builder: node, args: ['-e', code] });
export const fixed = derivation({ name: 'net-fixed', builder: node, args: ['-e', code], outputHash: '${hash}' });
`;

sandboxTest('a sandboxed build has no network; a fixed-output one has, and its output is verified', async () => {
  const body = 'hello from the test server\n';
  const server = await serve(body);
  try {
    const env = setup({ 'default.ts': NET(server.url, sri(body)) });
    const pure = await runCliAsync(['realize', 'default.ts', '-A', 'pure', '--no-out-link'], { storeRoot: env.root, cwd: env.dir });
    assert.is(pure.status, 100, pure.stderr);
    assert.match(pure.stderr, /fetch failed/);
    assert.equal(server.requests, [], 'the server saw nothing from the sandboxed build');
    const fixed = await runCliAsync(['realize', 'default.ts', '-A', 'fixed', '--no-out-link'], { storeRoot: env.root, cwd: env.dir });
    assert.is(fixed.status, 0, fixed.stderr);
    assert.is(fs.readFileSync(fixed.stdout.trim(), 'utf8'), body);
    assert.equal(server.requests, ['/data']);
    // The same fixed-output build with a wrong hash is refused.
    fs.writeFileSync(path.join(env.dir, 'default.ts'), NET(server.url, sri('something else')));
    const wrong = await runCliAsync(['realize', 'default.ts', '-A', 'fixed', '--no-out-link'], { storeRoot: env.root, cwd: env.dir });
    assert.is(wrong.status, 102, wrong.stderr);
    assert.ok(wrong.stderr.includes(`got:    ${sri(body)}`), wrong.stderr);
    // Without the sandbox, the network is reachable (so the failure above is the sandbox's doing).
    const open = await runCliAsync(['realize', 'default.ts', '-A', 'pure', '--no-out-link', '--no-sandbox'], { storeRoot: env.root, cwd: env.dir });
    assert.is(open.status, 0, open.stderr);
    assert.is(fs.readFileSync(open.stdout.trim(), 'utf8'), body);
  } finally {
    await server.close();
  }
});

test('--no-sandbox builds, and --check refuses to run without the sandbox', () => {
  const env = setup({ 'default.ts': CHECK });
  const det = built(env, ['-A', 'det', '--no-sandbox']);
  assert.is(fs.readFileSync(det, 'utf8'), 'same\n');
  const r = realize(env, ['-A', 'det', '--check', '--no-sandbox']);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /without the sandbox/);
  assert.is(fs.readFileSync(det, 'utf8'), 'same\n');
});

test.run();
