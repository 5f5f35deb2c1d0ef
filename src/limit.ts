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

/** A counting semaphore: at most `n` holders at once, served in arrival order. */
export class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private available: number) {}

  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available++;
  }

  async with<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
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
