import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { nix32Decode, nix32Encode, nix32Length } from '../../src/hash/nix32.js';
import { compressHash, compressedSha256, sha256 } from '../../src/hash/sha256.js';
import { parseSRI, toSRI } from '../../src/hash/sri.js';

test('sha256("abc") encodes to the published nix32 vector', () => {
  assert.is(nix32Encode(sha256('abc')), '1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s');
});

test('nix32 lengths: 20 bytes -> 32 characters, 32 bytes -> 52', () => {
  assert.is(nix32Length(20), 32);
  assert.is(nix32Length(32), 52);
  assert.is(nix32Encode(Buffer.alloc(20)).length, 32);
});

test('compressedSha256 folds the digest of a string as compressHash(sha256(..)) does, non-ASCII text included', () => {
  for (const s of ['', 'abc', 'output:out:sha256:00ff:/nix/store:hello', 'µ-ünïcødé ✓ \u{1F600}', 'x'.repeat(1000)]) {
    for (const size of [20, 32, 7]) assert.equal(Buffer.from(compressedSha256(s, size)), compressHash(sha256(s), size), `${JSON.stringify(s.slice(0, 20))} ${size}`);
  }
});

test('nix32 of a long input (far more characters than one call takes) round-trips', () => {
  const bytes = randomBytes(200000);
  const s = nix32Encode(bytes);
  assert.is(s.length, nix32Length(bytes.length));
  assert.equal(nix32Decode(s, bytes.length), bytes);
});

test('nix32 decode inverts encode', () => {
  for (let i = 0; i < 200; i++) {
    const bytes = randomBytes(i % 2 ? 20 : 32);
    assert.equal(nix32Decode(nix32Encode(bytes), bytes.length), bytes);
  }
});

test('nix32 decode refuses characters outside the alphabet', () => {
  const s = nix32Encode(sha256('abc'));
  assert.throws(() => nix32Decode(s.replace(/.$/, 'e'), 32), /invalid character 'e'/);
  assert.throws(() => nix32Decode(s.slice(1), 32), /length/);
});

test('compressHash folds with XOR', () => {
  const d = Buffer.from([1, 2, 3, 4, 5, 6]);
  assert.equal([...compressHash(d, 4)], [1 ^ 5, 2 ^ 6, 3, 4]);
});

test('SRI strings round-trip and bad ones are refused', () => {
  const d = sha256('abc');
  const sri = toSRI(d);
  assert.is(sri, 'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
  assert.equal(parseSRI(sri), d);
  assert.throws(() => parseSRI('sha256-short'), /SRI|32-byte/);
  assert.throws(() => parseSRI('md5-XrY7u+Ae7tCTyyK7j1rNww=='), /only sha256/);
  assert.throws(() => parseSRI('nonsense'), /not an SRI/);
});

test.run();
