import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { golden } from '../helpers.js';
import { parseDerivation, unparseDerivation, isFixedOutput, type Derivation } from '../../src/derivation/derivation.js';
import { assignOutputPaths, derivationPath, derivationReferences, hashDerivationModulo } from '../../src/derivation/paths.js';
import { makeStorePath, typeWithReferences, parseStorePath } from '../../src/store/path.js';
import { sha256, sha256Hex } from '../../src/hash/sha256.js';

const STORE = '/hepstore/store';
const SRC = `${STORE}/0c3kxnm5dn7yqf3hm5gfm7v4cfqw1qhq-hello-src`;

/** A fixed-output fetcher, an input-addressed dependency with two outputs, and a user of both. */
function fixture(order: 'forward' | 'reverse' = 'forward') {
  const rev = <T>(o: Record<string, T>): Record<string, T> => (order === 'forward' ? o : Object.fromEntries(Object.entries(o).reverse()));
  const hashes = new Map<string, string>();
  const inputHash = (p: string) => {
    const h = hashes.get(p);
    if (!h) throw new Error(`no hash modulo for ${p}`);
    return h;
  };
  const finish = (d: Derivation): string => {
    assignOutputPaths(d, STORE, inputHash);
    const p = derivationPath(d, STORE);
    hashes.set(p, hashDerivationModulo(d, inputHash));
    return p;
  };
  const fetch: Derivation = {
    name: 'hello-2.12.tar.gz',
    outputs: { out: { path: '', hashAlgo: 'sha256', hash: sha256('tarball bytes').toString('hex') } },
    inputDrvs: {},
    inputSrcs: [],
    system: 'x86_64-linux',
    builder: 'builtin:fetchurl',
    args: [],
    env: rev({ url: 'https://example.org/hello-2.12.tar.gz', executable: '', builtinVersion: '1' }),
  };
  const fetchPath = finish(fetch);
  const lib: Derivation = {
    name: 'libgreet-1.0',
    outputs: rev({ out: { path: '', hashAlgo: '', hash: '' }, dev: { path: '', hashAlgo: '', hash: '' } }),
    inputDrvs: {},
    inputSrcs: [],
    system: 'x86_64-linux',
    builder: '/bin/sh',
    args: ['-c', 'echo lib > $out; echo dev > $dev'],
    env: {},
  };
  const libPath = finish(lib);
  const hello: Derivation = {
    name: 'hello-2.12',
    outputs: rev({ out: { path: '', hashAlgo: '', hash: '' }, doc: { path: '', hashAlgo: '', hash: '' } }),
    inputDrvs: rev({ [fetchPath]: ['out'], [libPath]: order === 'forward' ? ['dev', 'out'] : ['out', 'dev'] }),
    inputSrcs: [SRC],
    system: 'x86_64-linux',
    builder: '/bin/sh',
    args: ['-e', `${SRC}/builder.sh`, 'quote " backslash \\ end'],
    env: rev({
      src: `${fetch.outputs.out.path}`,
      lib: `${lib.outputs.dev.path}`,
      message: 'say "hi"\\there\nnew line\ttab\rcr',
      empty: '',
      Z_last: 'z',
      A_first: 'a',
    }),
  };
  const helloPath = finish(hello);
  return { fetch, fetchPath, lib, libPath, hello, helloPath, hashes };
}

test('golden: the ATerm of a derivation with inputDrvs, inputSrcs and escapes', () => {
  const { hello } = fixture();
  const text = unparseDerivation(hello);
  assert.is(text, golden('derivation-hello-2.12.drv', text).toString('utf8'));
  // The escapes are the documented ones, not JSON's or a shell's.
  assert.ok(text.includes(String.raw`"say \"hi\"\\there\nnew line\ttab\rcr"`), text);
  assert.ok(text.includes(String.raw`"quote \" backslash \\ end"`), text);
  assert.not.match(text, /[\n\r\t]/, 'no raw control characters');
  assert.ok(text.startsWith('Derive([("doc",'), 'outputs sorted by name');
});

test('golden: output paths and .drv paths for storeDir /hepstore/store', () => {
  const f = fixture();
  const record = {
    fetchDrv: f.fetchPath,
    fetchOut: f.fetch.outputs.out.path,
    libDrv: f.libPath,
    libOut: f.lib.outputs.out.path,
    libDev: f.lib.outputs.dev.path,
    helloDrv: f.helloPath,
    helloOut: f.hello.outputs.out.path,
    helloDoc: f.hello.outputs.doc.path,
  };
  const text = JSON.stringify(record, null, 2) + '\n';
  assert.is(text, golden('derivation-hello-2.12.paths.json', text).toString('utf8'));
  for (const p of Object.values(record)) parseStorePath(p, STORE);
  assert.match(f.helloPath, /-hello-2\.12\.drv$/);
  assert.match(f.hello.outputs.doc.path, /-hello-2\.12-doc$/);
  // Output paths are also in the environment, under the output's name.
  assert.is(f.hello.env.out, f.hello.outputs.out.path);
  assert.is(f.hello.env.doc, f.hello.outputs.doc.path);
});

test('output paths follow Invariant 3: hash of the ATerm with blank outputs and inputs replaced by their hash modulo', () => {
  const f = fixture();
  const blank: Derivation = structuredClone(f.hello);
  for (const o of Object.values(blank.outputs)) o.path = '';
  for (const o of Object.keys(blank.outputs)) blank.env[o] = '';
  const inputDrvs: Record<string, string[]> = {};
  for (const [p, outs] of Object.entries(blank.inputDrvs)) inputDrvs[f.hashes.get(p)!] = outs;
  const masked = unparseDerivation(blank, { inputDrvs });
  assert.not.ok(masked.includes(f.fetchPath), 'input .drv paths are replaced');
  const inner = sha256Hex(masked);
  assert.is(f.hello.outputs.out.path, makeStorePath('output:out', inner, STORE, 'hello-2.12'));
  assert.is(f.hello.outputs.doc.path, makeStorePath('output:doc', inner, STORE, 'hello-2.12-doc'));
  // The .drv is a text object whose references are its inputs.
  assert.equal(derivationReferences(f.hello), [SRC, f.fetchPath, f.libPath].sort());
  assert.is(f.helloPath, makeStorePath(typeWithReferences('text', [SRC, f.fetchPath, f.libPath]), sha256Hex(unparseDerivation(f.hello)), STORE, 'hello-2.12.drv'));
  // A fixed-output derivation's hash modulo is only its declared content hash.
  assert.ok(isFixedOutput(f.fetch));
  assert.is(f.hashes.get(f.fetchPath), sha256Hex(`fixed:out:sha256:${f.fetch.outputs.out.hash}:${f.fetch.outputs.out.path}`));
});

test('parseDerivation(unparseDerivation(d)) gives d back', () => {
  const f = fixture();
  for (const [d, p] of [[f.fetch, f.fetchPath], [f.lib, f.libPath], [f.hello, f.helloPath]] as const) {
    const text = unparseDerivation(d);
    const back = parseDerivation(text, p.slice(STORE.length + 1 + 33));
    assert.is(back.name, d.name);
    assert.equal(back.env, d.env);
    assert.equal(back.args, d.args);
    assert.equal(back.outputs, d.outputs);
    assert.equal(back.inputSrcs, d.inputSrcs);
    assert.is(back.builder, d.builder);
    assert.is(back.system, d.system);
    assert.equal(Object.keys(back.inputDrvs).sort(), Object.keys(d.inputDrvs).sort());
    for (const k of Object.keys(d.inputDrvs)) assert.equal([...back.inputDrvs[k]].sort(), [...d.inputDrvs[k]].sort());
    assert.is(unparseDerivation(back), text, 'and serialises to the same bytes');
    assert.is(derivationPath(back, STORE), p);
  }
});

test('parseDerivation refuses malformed text and trailing garbage', () => {
  const text = unparseDerivation(fixture().hello);
  assert.throws(() => parseDerivation(text + ' ', 'x.drv'), /malformed derivation/);
  assert.throws(() => parseDerivation(text.slice(0, -5), 'x.drv'), /malformed derivation/);
  assert.throws(() => parseDerivation(text.replace('Derive(', 'Derive ('), 'x.drv'), /malformed derivation/);
});

test('serialisation is canonical: the order of env, outputs, inputDrvs and their output lists does not matter', () => {
  const a = fixture('forward');
  const b = fixture('reverse');
  assert.is.not(Object.keys(a.hello.env).join(), Object.keys(b.hello.env).join(), 'the two fixtures really differ in key order');
  assert.is(unparseDerivation(b.hello), unparseDerivation(a.hello));
  assert.is(b.helloPath, a.helloPath);
  assert.is(b.hello.outputs.out.path, a.hello.outputs.out.path);
  assert.is(b.libPath, a.libPath);
  assert.is(b.fetchPath, a.fetchPath);
});

test('args order matters (it is a list, not a set), as does every env value', () => {
  const base = fixture().hello;
  const swapped: Derivation = structuredClone(base);
  swapped.args = [...swapped.args].reverse();
  assert.is.not(unparseDerivation(swapped), unparseDerivation(base));
  const changed: Derivation = structuredClone(base);
  changed.env.empty = ' ';
  assert.is.not(unparseDerivation(changed), unparseDerivation(base));
});

test('the store directory is part of every path', () => {
  const f = fixture();
  const other: Derivation = structuredClone(f.lib);
  assignOutputPaths(other, '/other/store', () => '');
  assert.is.not(other.outputs.out.path.slice(-40), f.lib.outputs.out.path.slice(-40));
  assert.is.not(derivationPath(other, '/other/store').split('/').pop(), f.libPath.split('/').pop());
});

test.run();
