import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReferenceScanner } from '../../src/realize/scan.js';
import { makeStorePath } from '../../src/store/path.js';
import { sha256Hex } from '../../src/hash/sha256.js';

const STORE = '/hepstore/store';
const path = (name: string) => makeStorePath('source', sha256Hex(name), STORE, name);
const hashOf = (p: string) => p.slice(STORE.length + 1, STORE.length + 33);

const A = path('alpha');
const B = path('beta');
const C = path('gamma');
const NOT_A_CANDIDATE = path('delta');

function scan(candidates: string[], chunks: Buffer[]): string[] {
  const s = new ReferenceScanner(candidates);
  for (const c of chunks) s.update(c);
  return [...s.found].sort();
}

/** Split `buf` at the given offsets. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    out.push(buf.subarray(at, c));
    at = c;
  }
  return out;
}

test('a hash part split across two chunks is found at every offset', () => {
  const prefix = 'binary\u0000junk ';
  const text = Buffer.from(`${prefix}${A}/bin/tool\n`, 'latin1');
  const start = text.indexOf(hashOf(A));
  assert.ok(start > 0);
  for (let cut = 0; cut <= text.length; cut++) {
    assert.equal(scan([A, B], split(text, [cut])), [A], `cut at ${cut}`);
  }
  // and when split into three pieces around and inside the hash
  for (let i = start - 2; i <= start + 33; i++) {
    for (let j = i; j <= start + 34; j++) {
      assert.equal(scan([A, B], split(text, [i, j])), [A], `cuts at ${i}, ${j}`);
    }
  }
});

test('one byte at a time, and hashes that touch each other or the chunk edges', () => {
  const text = Buffer.from(`${hashOf(A)}${hashOf(B)}:${C}`, 'latin1');
  const bytes = [...text].map((b) => Buffer.from([b]));
  assert.equal(scan([A, B, C], bytes), [A, B, C].sort());
  assert.equal(scan([A, B, C], [text]), [A, B, C].sort());
  // empty chunks change nothing
  assert.equal(scan([A], [Buffer.alloc(0), Buffer.from(hashOf(A).slice(0, 10)), Buffer.alloc(0), Buffer.from(hashOf(A).slice(10))]), [A]);
});

test('a hash inside a longer run of nix32 characters is still found', () => {
  const text = Buffer.from(`0000${hashOf(A)}zzzz`);
  for (let cut = 0; cut <= text.length; cut++) assert.equal(scan([A], split(text, [cut])), [A], `cut at ${cut}`);
});

test('non-candidates are not reported, and broken or partial hashes do not count', () => {
  const partial = hashOf(A).slice(0, 31);
  const broken = hashOf(B).slice(0, 16) + 'e' + hashOf(B).slice(17); // 'e' is not in the nix32 alphabet
  const text = Buffer.from(`${NOT_A_CANDIDATE} ${partial} ${broken} ${hashOf(C).toUpperCase()}`);
  for (let cut = 0; cut <= text.length; cut += 7) assert.equal(scan([A, B, C], split(text, [cut])), [], `cut at ${cut}`);
  // A partial hash in one chunk followed by a break in the next must not join with a later run.
  const h = hashOf(A);
  assert.equal(scan([A], [Buffer.from(h.slice(0, 20)), Buffer.from('-'), Buffer.from(h.slice(20))]), []);
  assert.equal(scan([A], [Buffer.from(h.slice(0, 20)), Buffer.from(h.slice(20))]), [A]);
});

test('no candidates: nothing found, whatever the input', () => {
  assert.equal(scan([], [Buffer.from(`${A} ${B}`)]), []);
});

test('chunks that are views into a larger buffer are read at their own offset', () => {
  const big = Buffer.from(`xxxxxxxxxx${hashOf(B)}yyyyyyyyyy`);
  const view = new Uint8Array(big.buffer, big.byteOffset + 5, big.length - 10);
  const s = new ReferenceScanner([A, B]);
  s.update(view.subarray(0, 20));
  s.update(view.subarray(20));
  assert.equal([...s.found], [B]);
});

test.run();
