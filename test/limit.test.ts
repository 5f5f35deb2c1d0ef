/** Bounded concurrency (src/limit.ts): the semaphore's bound and order, mapLimit's order and failures. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Semaphore, mapLimit } from '../src/limit.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

test('a semaphore lets at most n hold it, served in arrival order', async () => {
  const sem = new Semaphore(2);
  let holding = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all([0, 1, 2, 3, 4].map((i) => sem.with(async () => {
    order.push(i);
    most = Math.max(most, ++holding);
    await tick();
    holding--;
  })));
  assert.is(most, 2);
  assert.equal(order, [0, 1, 2, 3, 4]);
});

test('waiters with a priority go first, higher before lower, in arrival order among equals', async () => {
  const sem = new Semaphore(1);
  await sem.acquire();
  const order: string[] = [];
  const waiters = ([['a', 0], ['b', 5], ['c', 1], ['d', 5], ['e', 0]] as const).map(([name, priority]) => sem.with(async () => {
    order.push(name);
    await tick();
  }, priority));
  await tick();
  sem.release();
  await Promise.all(waiters);
  assert.equal(order, ['b', 'd', 'c', 'a', 'e']);
});

test('mapLimit: results in input order, at most `limit` at once', async () => {
  let running = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3], 3, async (x, i) => {
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, x));
    running--;
    return x * 10 + i;
  });
  assert.equal(out, [50, 11, 42, 23, 34]);
  assert.is(most, 3);
  assert.equal(await mapLimit([], 4, async () => 1), []);
});

test('mapLimit: the first error is thrown, and nothing new starts after it', async () => {
  const started: number[] = [];
  try {
    await mapLimit([0, 1, 2, 3, 4, 5], 2, async (x) => {
      started.push(x);
      await tick();
      if (x === 1) throw new Error('item 1 failed');
      return x;
    });
    assert.unreachable('it throws');
  } catch (e) {
    assert.is((e as Error).message, 'item 1 failed');
  }
  assert.ok(started.length <= 3, `started after the failure: ${started.join(',')}`);
});

test.run();
