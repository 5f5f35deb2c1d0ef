/**
 * A build whose builder is a store path and that declares no host tool sees nothing of the
 * host; `sandboxPaths` entries "PATH=SOURCE" map store files into every sandbox. The builder
 * here is made of store paths: the host's /bin/sh with its loader and C library, copied into a
 * source tree and run through that loader.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir } from '../helpers.js';
import { findBwrap } from '../../src/realize/sandbox.js';
import { sharedLibraries } from '../../src/host/libraries.js';

const bwrap = findBwrap();
const shell = fs.existsSync('/bin/sh') ? fs.realpathSync('/bin/sh') : undefined;
/** The libraries as the loader looks for them (ldd's names; without /usr/ where merged), and their files. */
const allNames = shell ? sharedLibraries(shell) : [];
const libNames = allNames.some((n) => !n.startsWith('/usr/')) ? allNames.filter((n) => !n.startsWith('/usr/')) : allNames;
const libFiles = [...new Set(libNames.map((n) => fs.realpathSync(n)))];
const loaderName = libNames.find((l) => /\/ld-linux[^/]*\.so/.test(l));
const loader = loaderName ? fs.realpathSync(loaderName) : undefined;
const why = !bwrap ? 'bubblewrap (bwrap) is not installed' : !loader ? 'no dynamic loader found for /bin/sh (ldd)' : undefined;
if (why) console.log(`${why}: skipping the hermetic sandbox tests`);
const hermeticTest = why ? test.skip : test;

/** A tree with bin/sh and lib/ (the loader and the libraries), as the store will hold it. */
function shellTree(dir: string): string {
  const tree = path.join(dir, 'shell');
  fs.mkdirSync(path.join(tree, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(tree, 'lib'));
  fs.copyFileSync(shell!, path.join(tree, 'bin', 'sh'));
  fs.chmodSync(path.join(tree, 'bin', 'sh'), 0o755);
  for (const l of libFiles) {
    fs.copyFileSync(l, path.join(tree, 'lib', path.basename(l)));
    fs.chmodSync(path.join(tree, 'lib', path.basename(l)), 0o755);
  }
  return tree;
}

const LOOK = [
  'for p in /usr /bin /lib /lib64 /sbin /etc/shadow /etc/os-release /home /root /var; do if [ -e $p ]; then echo "$p: visible"; else echo "$p: hidden"; fi; done',
  'for p in /* /etc/* /bin/*; do if [ -e "$p" ]; then echo "entry: $p"; fi; done',
].join('; ');

const EXPR = `import { derivation, path } from 'hepstore';
const shell = path('./shell');
const ld = \`\${shell}/lib/${loader ? path.basename(loader) : ''}\`;
const sh = (script: string) => ({ builder: ld, args: ['--library-path', \`\${shell}/lib\`, \`\${shell}/bin/sh\`, '-c', script] });
export const hermetic = derivation({ name: 'hermetic', ...sh('{ ${LOOK}; } > $out') });
export const hostShell = derivation({ name: 'host-shell', builder: '/bin/sh', args: ['-c', '{ ${LOOK}; } > $out'] });
export const usesBinSh = derivation({ name: 'uses-bin-sh', ...sh('/bin/sh -c "echo mapped sh ran" > $out || exit 3; { ${LOOK}; } >> $out') });
`;

function setup() {
  const dir = tmpDir('hermetic');
  shellTree(dir);
  fs.writeFileSync(path.join(dir, 'default.ts'), EXPR);
  const root = path.join(tmpDir('hermetic-store'), 'root');
  return { dir, root };
}

function realize(env: { dir: string; root: string }, attr: string) {
  return runCli(['realize', 'default.ts', '-A', attr, '--no-out-link'], { storeRoot: env.root, cwd: env.dir });
}

function lines(env: { dir: string; root: string }, attr: string): string[] {
  const r = realize(env, attr);
  assert.is(r.status, 0, r.stderr);
  return fs.readFileSync(r.stdout.trim(), 'utf8').split('\n').filter(Boolean);
}

hermeticTest('a builder from the store without host tools sees no host path at all', () => {
  const env = setup();
  const said = lines(env, 'hermetic');
  for (const p of ['/usr', '/bin', '/lib', '/lib64', '/sbin', '/etc/shadow', '/etc/os-release', '/home', '/root', '/var']) assert.ok(said.includes(`${p}: hidden`), said.join('\n'));
  const entries = said.filter((l) => l.startsWith('entry: ')).map((l) => l.slice(7));
  const top = new Set(entries.filter((e) => !e.startsWith('/etc/')).map((e) => e.split('/')[1]));
  const storeTop = env.root.split('/')[1];
  assert.equal([...top].sort(), [...new Set(['build', 'dev', 'etc', 'proc', 'tmp', storeTop])].sort(), entries.join('\n'));
  assert.equal(entries.filter((e) => e.startsWith('/etc/')).sort(), ['/etc/group', '/etc/hosts', '/etc/passwd']);
});

hermeticTest("a builder that is not a store path ('/bin/sh') still gets the host's /bin/sh and its libraries", () => {
  const env = setup();
  const said = lines(env, 'hostShell');
  assert.equal(said.filter((l) => l.startsWith('entry: /bin/')), ['entry: /bin/sh'], said.join('\n'));
  assert.ok(said.includes('/etc/shadow: hidden'), said.join('\n'));
  assert.ok(said.includes('/sbin: hidden'), said.join('\n'));
});

hermeticTest('sandboxPaths "PATH=SOURCE" maps a store file, with its closure, into every sandbox', () => {
  const env = setup();
  // Without the mapping, a hermetic build has no /bin/sh to run.
  const r = realize(env, 'usesBinSh');
  assert.is.not(r.status, 0, 'no /bin/sh without the mapping');
  const add = runCli(['add', path.join(env.dir, 'shell')], { storeRoot: env.root });
  assert.is(add.status, 0, add.stderr);
  const shellPath = add.stdout.trim().split('\n').pop()!;
  // The host's /bin/sh is dynamically linked: its loader and libraries are mapped from the store too.
  const config = { sandboxPaths: [`/bin/sh=${shellPath}/bin/sh`, ...libNames.map((l) => `${l}=${shellPath}/lib/${path.basename(fs.realpathSync(l))}`)] };
  fs.mkdirSync(path.join(env.root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(env.root, 'etc', 'hepstore.json'), JSON.stringify(config));
  const said = lines(env, 'usesBinSh');
  assert.is(said[0], 'mapped sh ran');
  if (!libNames.some((l) => l.startsWith('/usr/'))) assert.ok(said.includes('/usr: hidden'), said.join('\n'));
  assert.ok(said.includes('/etc/shadow: hidden'), said.join('\n'));
  assert.equal(said.filter((l) => l.startsWith('entry: /bin/')), ['entry: /bin/sh'], 'the host /bin is not there, only the mapped /bin/sh');
  // A builder that is not a store path gets the mapping instead of the host's /bin/sh.
  const host = lines(env, 'hostShell');
  assert.equal(host.filter((l) => l.startsWith('entry: /bin/')), ['entry: /bin/sh'], host.join('\n'));
  // A mapping to a path that is not in a valid store path is refused.
  fs.writeFileSync(path.join(env.root, 'etc', 'hepstore.json'), JSON.stringify({ sandboxPaths: [`/bin/sh=${path.dirname(shellPath)}/${'0'.repeat(32)}-missing/bin/sh`] }));
  fs.writeFileSync(path.join(env.dir, 'default.ts'), EXPR.replace("'mapped sh ran'", "'mapped sh ran again'").replace('echo mapped sh ran', 'echo mapped sh ran again'));
  const bad = realize(env, 'usesBinSh');
  assert.is(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /sandboxPaths/);
});

test.run();
