import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectStoreError } from '../helpers.js';
import { BUILDENV, BUILTINS, builtinFor, BUILTIN_VERSION_VAR, FETCHURL, UNPACK_DEB } from '../../src/derivation/builtins.js';
import { beginEvaluation } from '../../src/expr/context.js';
import { buildEnv, derivation, fetchurl, unpackDeb, writeText } from '../../src/expr/index.js';

const STORE = '/hepstore/store';
const WHAT = "derivation '/hepstore/store/x-y.drv'";

test('every builtin the expression side makes records the version the build side implements', () => {
  beginEvaluation({ storeDir: STORE });
  const fetched = fetchurl({ url: 'https://example.org/pkg_1.0_amd64.deb', integrity: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' });
  const env = buildEnv({ name: 'env', paths: [writeText('a', 'a')] });
  const unpacked = unpackDeb({ name: 'pkg', debs: [fetched] });
  const made = [fetched, env, unpacked].map((d) => d.drv);
  assert.equal(made.map((d) => d.builder), ['builtin:fetchurl', 'builtin:buildenv', 'builtin:unpack-deb']);
  for (const d of made) {
    const b = BUILTINS.get(d.builder)!;
    assert.is(d.env[BUILTIN_VERSION_VAR], String(b.version), d.builder);
    assert.is(builtinFor(d, WHAT), b);
  }
  assert.equal([...BUILTINS.values()], [FETCHURL, BUILDENV, UNPACK_DEB]);
  // The version is part of the derivation, so another version is another output path.
  const same = derivation({ name: 'pkg', builder: 'builtin:unpack-deb', env: { debs: [fetched], builtinVersion: UNPACK_DEB.version } });
  const other = derivation({ name: 'pkg', builder: 'builtin:unpack-deb', env: { debs: [fetched], builtinVersion: UNPACK_DEB.version + 1 } });
  assert.is(String(same), String(unpacked));
  assert.is.not(String(other), String(unpacked));
});

test('a program is no builtin; an unknown builtin is refused, naming the ones this hepstore has', () => {
  assert.is(builtinFor({ builder: '/bin/sh', env: {} }, WHAT), undefined);
  const e = expectStoreError(() => builtinFor({ builder: 'builtin:unpack-rpm', env: { builtinVersion: '1' } }, WHAT), 'BUILD_FAILED');
  assert.match(e.message, /derivation '\/hepstore\/store\/x-y\.drv' is built by 'builtin:unpack-rpm', which this hepstore does not have \(it has builtin:fetchurl, builtin:buildenv, builtin:unpack-deb\)/);
  assert.is(e.hint, 'update hepstore');
});

test('a derivation made for another version of a builtin is refused: newer asks for an update, older for a new evaluation', () => {
  const newer = expectStoreError(() => builtinFor({ builder: 'builtin:unpack-deb', env: { builtinVersion: String(UNPACK_DEB.version + 1) } }, WHAT), 'BUILD_FAILED');
  assert.is(newer.message, `${WHAT} was made for builtin:unpack-deb version ${UNPACK_DEB.version + 1}; this hepstore implements version ${UNPACK_DEB.version}`);
  assert.is(newer.hint, 'update hepstore');
  const older = expectStoreError(() => builtinFor({ builder: 'builtin:buildenv', env: { builtinVersion: '0' } }, WHAT), 'BUILD_FAILED');
  assert.match(older.message, /was made for builtin:buildenv version 0; this hepstore implements version 1/);
  assert.match(older.hint!, /evaluate the expression again/);
  expectStoreError(() => builtinFor({ builder: 'builtin:fetchurl', env: { builtinVersion: '1.0' } }, WHAT), 'BUILD_FAILED');
  expectStoreError(() => builtinFor({ builder: 'builtin:fetchurl', env: { builtinVersion: '' } }, WHAT), 'BUILD_FAILED');
});

test('a derivation that records no version is taken as made for the version before versioning, where there was one', () => {
  // fetchurl and buildenv derivations made before builtins were versioned have version 1's semantics.
  assert.is(builtinFor({ builder: 'builtin:fetchurl', env: { url: 'https://example.org/x' } }, WHAT), FETCHURL);
  assert.is(builtinFor({ builder: 'builtin:buildenv', env: {} }, WHAT), BUILDENV);
  // unpack-deb was versioned from the start.
  const e = expectStoreError(() => builtinFor({ builder: 'builtin:unpack-deb', env: { debs: '' } }, WHAT), 'BUILD_FAILED');
  assert.match(e.message, /records no version of builtin:unpack-deb \(env\.builtinVersion\); this hepstore implements version 1/);
});

test.run();
