import { setTimeout as delay } from 'node:timers/promises';

/**
 * Small async collection helpers shared by the AWS sources, the Kong client and the reconciler.
 */

/**
 * Maps `items` through `fn` with at most `limit` calls in flight; results keep the order of `items`. The first
 * rejection rejects the whole map and stops new calls from starting (calls already in flight finish unobserved).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`mapLimit: limit must be a positive integer, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** One page of a token-paginated list; `nextToken` is absent (or empty) on the last page. */
export interface Page<T> {
  items: readonly T[] | undefined;
  nextToken: string | undefined;
}

/** Collects every item of a token-paginated list, one page at a time. */
export async function paginate<T>(fetchPage: (token: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  await forEachPage(fetchPage, (items) => {
    all.push(...items);
  });
  return all;
}

/**
 * Hands each page's items to `onPage` as it comes (work on them can start while later pages are read, and no page
 * is kept once handled), following the tokens to the last page.
 */
export async function forEachPage<T>(
  fetchPage: (token: string | undefined) => Promise<Page<T>>,
  onPage: (items: readonly T[]) => void,
): Promise<void> {
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    onPage(page.items ?? []);
    if (page.nextToken && page.nextToken === token) {
      throw new Error(`paginate: the same nextToken came back twice ('${token}'); the list would never end`);
    }
    token = page.nextToken || undefined;
  } while (token);
}

export interface TokenBucketOptions {
  /** Tokens the bucket holds when full (the burst). */
  capacity: number;
  refillPerSecond: number;
  /** The clock and the wait (tests drive both). */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * A token bucket as AWS meters an API's requests (a burst, refilled at a steady rate): `take` resolves once a token
 * is taken, waiters in the order they came. Pacing meshgate's own calls to a documented quota lets a read use the
 * burst without being throttled into retries past it.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The last waiter's turn: a new waiter queues behind it. */
  private queue: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly options: TokenBucketOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    this.tokens = options.capacity;
    this.updatedAt = this.now();
  }

  take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.waiting === 0 && this.refill() >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    this.waiting += 1;
    const turn = this.queue
      .then(() => this.waitForToken(signal))
      .finally(() => {
        this.waiting -= 1;
      });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async waitForToken(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.refill() >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(((1 - this.tokens) / this.options.refillPerSecond) * 1000, signal).catch((error: unknown) => {
        // An abort ends the wait with the signal's own reason, as a request aborted in flight would.
        signal?.throwIfAborted();
        throw error;
      });
    }
  }

  private refill(): number {
    const now = this.now();
    const earned = ((now - this.updatedAt) / 1000) * this.options.refillPerSecond;
    this.tokens = Math.min(this.options.capacity, this.tokens + earned);
    this.updatedAt = now;
    return this.tokens;
  }
}
