/**
 * The store's C/C++ toolchain: a C library and a C++ program compiled and linked in the
 * sandbox by mkDerivation's default stdenv (stdenv.cc), a program linking the library as a
 * build input; the programs run with nothing but the store; their interpreter and run paths are
 * in the store, and only the runtime libraries (not the compiler) are in their closure; no host
 * path is in them; the compiler searched no host directory; a host-only header does not
 * compile; and `realize --check` rebuilds the whole graph bit for bit.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, runCliAsync, tmpDir, writeTree } from '../helpers.js';
import { findBwrap } from '../../src/realize/sandbox.js';

const canFetch = Boolean(process.env.HEPSTORE_MIRROR_DEBIAN) || spawnSync('apt-get', ['--version']).status === 0;

const EXPR = `import { mkDerivation, path, stdenv } from 'hepstore';
import { makeZlib } from ${JSON.stringify(path.join(REPO, 'exprs', 'source', 'zlib.ts'))};

export const cc = stdenv.cc;

/** A shared library with a header: include/ and lib/ for the programs that take it as an input. */
export const greet = mkDerivation({
  pname: 'greet', version: '1.0', src: path('./greet'),
  buildPhase: 'cc -O2 -fPIC -c greet.c -o greet.o && cc -shared -Wl,-soname,libgreet.so.1 greet.o -o libgreet.so.1 && ar rcs libgreet.a greet.o',
  installPhase: 'mkdir -p $out/lib $out/include && cp libgreet.so.1 libgreet.a $out/lib/ && ln -s libgreet.so.1 $out/lib/libgreet.so && cp greet.h $out/include/',
});

export const hello = mkDerivation({
  pname: 'hello', version: '1.0', src: path('./hello'), buildInputs: [greet],
  buildPhase: [
    'cc -v -O2 -Wl,--verbose hello.c -lgreet -lm -o hello-c',
    'c++ -v -O2 -std=c++17 hello.cc -o hello-cc',
    './hello-c && ./hello-cc',
  ].join('\\n'),
  installPhase: 'mkdir -p $out/bin && cp hello-c hello-cc $out/bin/',
});

/** zlib from Debian's upstream tarball (./configure && make && make check && make install), and a program using it. */
export const zlib = makeZlib();
export const useZlib = mkDerivation({
  pname: 'use-zlib', version: '1.0', src: path('./use-zlib'), buildInputs: [zlib],
  buildPhase: 'c++ -O2 main.cc -lz -o use-zlib && ./use-zlib',
  installPhase: 'mkdir -p $out/bin && cp use-zlib $out/bin/',
});

export const all = [hello, useZlib];

/** A header only the host has: it must not be found. */
export const hostHeader = mkDerivation({
  pname: 'host-header', version: '1.0', src: path('./host-header'),
  buildPhase: 'cc -c uses-host.c -o uses-host.o',
  installPhase: 'mkdir -p $out && cp uses-host.o $out/',
});
`;

const TREE = {
  'default.ts': EXPR,
  greet: {
    'greet.h': 'const char *greeting(void);\n',
    'greet.c': '#include "greet.h"\nconst char *greeting(void) { return "hello from a library"; }\n',
  },
  hello: {
    'hello.c': '#include <stdio.h>\n#include <math.h>\n#include <greet.h>\nint main(int argc, char **argv) { (void)argv; printf("%s, sqrt(%d) = %.3f\\n", greeting(), argc + 1, sqrt(argc + 1.0)); return 0; }\n',
    'hello.cc': '#include <iostream>\n#include <map>\n#include <string>\n#include <vector>\nint main() {\n  std::map<std::string, std::vector<int>> m{{"hello from C++", {1, 2, 3}}};\n  for (auto &[k, v] : m) std::cout << k << " " << v.size() << std::endl;\n}\n',
  },
  'use-zlib': {
    'main.cc': '#include <zlib.h>\n#include <iostream>\n#include <string>\nint main() {\n  std::string s(1000, \'x\');\n  unsigned char buf[1024];\n  uLongf n = sizeof buf;\n  if (compress(buf, &n, (const Bytef *)s.data(), s.size()) != Z_OK) return 1;\n  std::cout << "zlib " << zlibVersion() << " compressed 1000 bytes to " << n << std::endl;\n}\n',
  },
  'host-header': {
    'uses-host.c': '#include <zlib.h>\nint main(void) { return zlibVersion()[0] == 0; }\n',
  },
};

/** Strings of a file that name a path of the host: /usr, /lib, /lib64, /build outside store paths. */
function hostPaths(file: string, storeDir: string): string[] {
  const esc = storeDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const text = fs.readFileSync(file).toString('latin1').replace(new RegExp(`${esc}/[0-9a-z]{32}-[\\x21-\\x39\\x3b-\\x7e]*`, 'g'), '');
  return [...new Set(text.match(/\/(usr|lib|lib64|build)\/[\x21-\x7e]*/g) ?? [])];
}

// One store for the file: the toolchain is built once.
const dir = tmpDir('toolchain');
writeTree(dir, TREE);
const root = path.join(dir, 'root');
const storeDir = path.join(root, 'store');
const file = path.join(dir, 'default.ts');
const bwrap = findBwrap();

/** Run a program with the store alone: no /usr, no /lib, an empty environment. */
function runIsolated(p: string) {
  return spawnSync(bwrap!, ['--unshare-all', '--die-with-parent', '--ro-bind', storeDir, storeDir, '--proc', '/proc', '--dev', '/dev', '--clearenv', p], { encoding: 'utf8' });
}

function runpathOf(p: string): string[] {
  const d = spawnSync('readelf', ['-d', p], { encoding: 'utf8' });
  return ((d.stdout.match(/\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]/) ?? [])[1] ?? '').split(':').filter(Boolean);
}

test('C and C++ compiled with the store toolchain, run with only the store', async () => {
  if (!canFetch) {
    console.log('  (skipped: neither apt-get nor HEPSTORE_MIRROR_DEBIAN to fetch Debian packages)');
    return;
  }

  const t0 = Date.now();
  const r = await runCliAsync(['realize', '-j2', '--no-out-link', '--attr', 'hello', file], { storeRoot: root });
  assert.is(r.status, 0, r.stderr);
  const hello = r.stdout.trim();
  console.log(`  toolchain and hello from a cold store: ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  // What the compiler searched, from -v and -Wl,--verbose in the build log: only the store.
  const logged = await runCliAsync(['log', hello], { storeRoot: root });
  assert.is(logged.status, 0, logged.stderr);
  const log = logged.stdout;
  const includes = [...log.matchAll(/#include <\.\.\.> search starts here:\n([\s\S]*?)End of search list\./g)].flatMap((m) => m[1].trim().split('\n').map((l) => l.trim()));
  assert.ok(includes.length >= 4, `the compilers listed their header search: ${includes.join(' ')}`);
  for (const d of includes) assert.ok(d.startsWith(storeDir + '/'), `header directory outside the store: ${d}`);
  assert.ok(includes.some((d) => d.includes('/include/c++/12')), 'c++ searches the C++ library headers');
  const libraryPath = (log.match(/^LIBRARY_PATH=(.*)$/m) ?? [])[1] ?? '';
  assert.ok(libraryPath, 'the driver printed its LIBRARY_PATH');
  for (const d of libraryPath.split(':')) assert.ok(d.startsWith(storeDir + '/'), `library directory outside the store: ${d}`);
  const opened = [...log.matchAll(/^attempt to open (\S+) (?:succeeded|failed)$/gm)].map((m) => m[1]);
  assert.ok(opened.length > 0, 'the linker printed what it opened');
  // (and the build directory, /build in the sandbox, where the compiler leaves its objects)
  for (const f of opened) assert.ok(f.startsWith(storeDir + '/') || f.startsWith('/build/') || !f.startsWith('/'), `the linker looked outside the store: ${f}`);
  assert.not.match(log, /SEARCH_DIR\("\/(usr|lib)/, 'the linker has no host search directory');

  // Interpreter and run paths in the store; the compiler is not in the programs' closure.
  const progs = ['hello-c', 'hello-cc'].map((p) => path.join(hello, 'bin', p));
  for (const p of progs) {
    const l = spawnSync('readelf', ['-l', p], { encoding: 'utf8' });
    const interp = (l.stdout.match(/Requesting program interpreter: ([^\]]+)\]/) ?? [])[1];
    assert.ok(interp?.startsWith(storeDir + '/') && interp.endsWith('/ld-linux-x86-64.so.2'), `${p}: interpreter ${interp}`);
    const runpath = runpathOf(p);
    assert.ok(runpath.length, `${p} has a run path`);
    for (const e of runpath) {
      assert.ok(e.startsWith(storeDir + '/'), `${p}: run path entry outside the store: ${e}`);
      assert.not.match(e, /gcc-wrapper|-gcc-12-|-dev-/, `${p}: run path names the toolchain: ${e}`);
    }
    assert.equal(hostPaths(p, storeDir), [], `${p} names host paths`);
  }
  const info = await runCliAsync(['path-info', '-r', '--json', hello], { storeRoot: root });
  assert.is(info.status, 0, info.stderr);
  const closure = (JSON.parse(info.stdout) as Array<{ path: string; narSize: number }>).map((x) => path.basename(x.path).slice(33)).sort();
  assert.equal(closure.map((n) => n.replace(/-[0-9].*$/, '')), ['greet', 'hello', 'libc6+libgcc-s1', 'libstdc++6'], `the programs' closure is the runtime libraries they link, not the toolchain: ${closure.join(' ')}`);

  // They run with the store alone: no /usr, no /lib, an empty environment.
  if (bwrap) {
    for (const [p, want] of [[progs[0], /^hello from a library, sqrt\(2\) = 1\.414$/m], [progs[1], /^hello from C\+\+ 3$/m]] as const) {
      const run = runIsolated(p);
      assert.is(run.status, 0, `${p}: ${run.stderr}`);
      assert.match(run.stdout, want);
    }
  }

  // A header only the host has is not found, even without the sandbox (where /usr/include is there).
  const bad = await runCliAsync(['realize', '--no-out-link', '--no-sandbox', '--attr', 'hostHeader', file], { storeRoot: root });
  assert.is(bad.status, 100, bad.stderr);
  assert.match(bad.stderr, /zlib\.h: No such file or directory/);

});

test('zlib from its Debian source tarball: configure, make, make check, make install; a C++ program links it', async () => {
  if (!canFetch) return;
  const r = await runCliAsync(['realize', '-j2', '--no-out-link', '--attr', 'useZlib', file], { storeRoot: root });
  assert.is(r.status, 0, r.stderr);
  const use = r.stdout.trim();
  const zlib = (await runCliAsync(['realize', '--no-out-link', '--attr', 'zlib', file], { storeRoot: root })).stdout.trim();
  assert.match(zlib, /-zlib-1\.2\.13$/);
  const log = await runCliAsync(['log', zlib], { storeRoot: root });
  assert.match(log.stdout, /\*\*\* zlib shared test OK \*\*\*/);
  for (const f of ['include/zlib.h', 'lib/libz.a', 'lib/libz.so.1.2.13', 'lib/pkgconfig/zlib.pc']) assert.ok(fs.existsSync(path.join(zlib, f)), `zlib has ${f}`);
  const prog = path.join(use, 'bin', 'use-zlib');
  assert.ok(runpathOf(prog).includes(path.join(zlib, 'lib')), `the program's run path has zlib's lib/: ${runpathOf(prog).join(':')}`);
  for (const p of [prog, path.join(zlib, 'lib', 'libz.so.1.2.13')]) assert.equal(hostPaths(p, storeDir), [], `${p} names host paths`);
  if (bwrap) {
    const run = runIsolated(prog);
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stdout, /^zlib 1\.2\.13 compressed 1000 bytes to \d+$/m);
  }
});

test('realize --check: bootstrap, toolchain, libraries and programs rebuilt bit for bit', async () => {
  if (!canFetch) return;
  // Every derivation of the graph — bootstrap, toolchain, library, programs — rebuilt and compared.
  const t1 = Date.now();
  const check = await runCliAsync(['realize', '-j2', '--check-closure', '--no-out-link', '--attr', 'all', file], { storeRoot: root });
  assert.is(check.status, 0, check.stderr);
  assert.match(check.stderr, /checked \d+ derivations: every rebuilt output is bit for bit the same/);
  console.log(`  realize --check of the whole graph: ${((Date.now() - t1) / 1000).toFixed(0)} s`);
});

test.run();
