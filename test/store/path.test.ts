import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { expectStoreError, golden } from '../helpers.js';
import { isStoreError } from '../../src/errors.js';
import {
  HASH_PART_LENGTH,
  fingerprint,
  hashPartOf,
  isStorePath,
  makeStorePath,
  parseStorePath,
  typeWithReferences,
  validateName,
} from '../../src/store/path.js';
import { NIX32_ALPHABET } from '../../src/hash/nix32.js';

const STORE = '/hepstore/store';
const HELLO_HEX = createHash('sha256').update('hello').digest('hex');

function throwsCode(fn: () => unknown, code: 'INVALID_NAME' | 'INVALID_PATH' | 'NOT_IN_STORE', message?: RegExp): void {
  const e = expectStoreError(fn, code);
  if (message) assert.match(e.message, message);
}

test('makeStorePath of a fixed fingerprint matches the golden file', () => {
  assert.is(HELLO_HEX, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  const p = makeStorePath('source', HELLO_HEX, STORE, 'hello-1.0');
  assert.is(p, golden('store-path-source-hello.txt', p + '\n').toString().trimEnd());
  assert.match(p, new RegExp(`^/hepstore/store/[${NIX32_ALPHABET}]{32}-hello-1\\.0$`));
});

test('the fingerprint has the documented shape', () => {
  assert.is(fingerprint('source', HELLO_HEX, STORE, 'hello-1.0'), `source:sha256:${HELLO_HEX}:/hepstore/store:hello-1.0`);
});

test('makeStorePath is deterministic', () => {
  assert.is(makeStorePath('source', HELLO_HEX, STORE, 'hello-1.0'), makeStorePath('source', HELLO_HEX, STORE, 'hello-1.0'));
});

test('the store directory, the name, the type and the inner hash each change the hash part', () => {
  const base = makeStorePath('source', HELLO_HEX, STORE, 'hello-1.0');
  const variants = [
    makeStorePath('source', HELLO_HEX, '/other/store', 'hello-1.0'),
    makeStorePath('source', HELLO_HEX, STORE, 'hello-1.1'),
    makeStorePath('text', HELLO_HEX, STORE, 'hello-1.0'),
    makeStorePath('output:out', HELLO_HEX, STORE, 'hello-1.0'),
    makeStorePath('source', createHash('sha256').update('hello!').digest('hex'), STORE, 'hello-1.0'),
    makeStorePath(typeWithReferences('source', [`${STORE}/${'0'.repeat(32)}-dep`]), HELLO_HEX, STORE, 'hello-1.0'),
  ];
  const hashes = new Set([hashPartOf(base), ...variants.map(hashPartOf)]);
  assert.is(hashes.size, variants.length + 1, 'every variant has its own hash part');
  assert.ok(variants[0].startsWith('/other/store/'));
});

test('typeWithReferences sorts references so their order does not matter', () => {
  const a = `${STORE}/${'a'.repeat(32)}-a`;
  const b = `${STORE}/${'b'.repeat(32)}-b`;
  assert.is(typeWithReferences('text', [b, a]), typeWithReferences('text', [a, b]));
  assert.is.not(typeWithReferences('text', [a]), typeWithReferences('text', [a], true));
});

test('valid names are accepted, including every allowed punctuation character and 211 characters', () => {
  for (const name of ['hello', 'a', 'hello-1.0', 'x+y_z?=w', 'A.b-C', '0', 'x'.repeat(211)]) {
    validateName(name);
    assert.ok(makeStorePath('source', HELLO_HEX, STORE, name).endsWith(`-${name}`));
  }
});

test('invalid names are refused with INVALID_NAME', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['x'.repeat(212), /212 characters/],
    ['.hidden', /starts with a dot/],
    ['.', /starts with a dot/],
    ['..', /starts with a dot/],
    ['a/b', /'\/'/],
    ['hello world', /' '/],
    ['héllo', /'é'/],
    ['snow☃', /'☃'/],
    ['emoji😀', /'😀'/],
    ['tab\tname', /not allowed/],
    ['new\nline', /not allowed/],
    ['colon:x', /':'/],
    ['star*', /'\*'/],
  ];
  for (const [name, why] of bad) {
    throwsCode(() => validateName(name), 'INVALID_NAME', why);
    throwsCode(() => makeStorePath('source', HELLO_HEX, STORE, name), 'INVALID_NAME');
  }
});

test('parseStorePath round-trips makeStorePath', () => {
  for (const name of ['hello-1.0', 'a', 'x'.repeat(211), 'python3.11-numpy-1.26']) {
    const p = makeStorePath('source', HELLO_HEX, STORE, name);
    const parsed = parseStorePath(p, STORE);
    assert.is(parsed.path, p);
    assert.is(parsed.name, name);
    assert.is(parsed.hashPart, hashPartOf(p));
    assert.is(parsed.hashPart.length, HASH_PART_LENGTH);
    assert.is(`${STORE}/${parsed.hashPart}-${parsed.name}`, p);
    assert.ok(isStorePath(p, STORE));
  }
});

test('parseStorePath refuses malformed paths', () => {
  const good = makeStorePath('source', HELLO_HEX, STORE, 'hello-1.0');
  const hash = hashPartOf(good);
  const notInStore = [`/other/store/${hash}-hello`, `${STORE}/${hash}-hello/bin/sh`, `${STORE}`, `hepstore/store/${hash}-hello`, `${STORE}//${hash}-hello`];
  for (const p of notInStore) {
    throwsCode(() => parseStorePath(p, STORE), 'NOT_IN_STORE');
    assert.not.ok(isStorePath(p, STORE), p);
  }
  const invalid = [
    `${STORE}/${hash}`, // no name
    `${STORE}/${hash}-`, // empty name
    `${STORE}/${hash.slice(1)}-hello`, // hash too short
    `${STORE}/${hash}xhello`, // no dash after the hash
    `${STORE}/${hash.toUpperCase()}-hello`, // not nix32
    `${STORE}/${'e'.repeat(32)}-hello`, // 'e' is not in the nix32 alphabet
    `${STORE}/${'u'.repeat(32)}-hello`,
    `${STORE}/${hash}-hello/`, // trailing slash
    `${STORE}/${hash}-.hidden`,
    `${STORE}/${hash}-hello world`,
    `${STORE}/short-hello`,
  ];
  for (const p of invalid) {
    assert.not.ok(isStorePath(p, STORE), p);
    let err: unknown;
    try {
      parseStorePath(p, STORE);
    } catch (e) {
      err = e;
    }
    assert.ok(isStoreError(err) && ['INVALID_PATH', 'INVALID_NAME'].includes(err.code), `${p} must be refused: ${String(err)}`);
    assert.ok(err.message.includes(p) || err.message.includes(p.slice(STORE.length + 1 + 33)), `the message names the path: ${err.message}`);
  }
});

test.run();
