/**
 * Bounded concurrency, one way for the whole code: a counting semaphore (build slots, download
 * slots), a parallel map over it (push, substitution lookups), and the backoff of everything
 * that waits for a lock another process holds (store/locks.ts, the build scheduler).
 */

/** How long to wait before the n-th try (from 0) of a lock someone else holds: a short backoff. */
export function lockPollDelay(tries: number): number {
  const steps = [20, 50, 100, 200, 250];
  return steps[Math.min(tries, steps.length - 1)];
}

/**
 * A counting semaphore: at most `n` holders at once. Waiters are served by priority (higher
 * first; 0 unless given), and in arrival order among equals.
 */
export class Semaphore {
  private waiting: Array<{ priority: number; resolve: () => void }> = [];
  constructor(private available: number) {}

  async acquire(priority = 0): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => {
      let i = this.waiting.length;
      while (i > 0 && this.waiting[i - 1].priority < priority) i--;
      this.waiting.splice(i, 0, { priority, resolve });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next.resolve();
    else this.available++;
  }

  async with<T>(fn: () => Promise<T>, priority = 0): Promise<T> {
    await this.acquire(priority);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

/**
 * Run `fn` over `items` with at most `limit` at once; results in input order. After a failure
 * no new item is started, and the first error is thrown.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const slots = new Semaphore(Math.max(1, limit));
  let failed = false;
  const skipped = Symbol('skipped');
  const results = await Promise.allSettled(items.map((x, i) => slots.with(async () => {
    if (failed) throw skipped;
    try {
      return await fn(x, i);
    } catch (e) {
      failed = true;
      throw e;
    }
  })));
  const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason !== skipped);
  if (first) throw first.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}
