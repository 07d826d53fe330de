import { describe, expect, it } from 'vitest';
import { mapLimit, paginate, TokenBucket } from '../../shared/concurrency.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('mapLimit', () => {
  it('keeps the order of the items and never runs more than `limit` calls at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (item) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      for (let i = 0; i < item; i += 1) await tick();
      inFlight -= 1;
      return item * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0, 60]);
    expect(peak).toBe(3);
  });

  it('rejects with the first failure and starts no further calls', async () => {
    const started: number[] = [];
    const run = mapLimit([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      await tick();
      if (item === 1) throw new Error('item 1 failed');
      return item;
    });
    await expect(run).rejects.toThrow('item 1 failed');
    expect(started).toEqual([0, 1, 2]);
  });

  it('maps an empty list without calling fn and refuses a limit below 1', async () => {
    expect(await mapLimit([], 5, async () => 1)).toEqual([]);
    await expect(mapLimit([1], 0, async () => 1)).rejects.toThrow('limit must be a positive integer');
  });
});

describe('paginate', () => {
  it('follows nextToken until the last page', async () => {
    const pages: Record<string, { items: number[]; nextToken?: string }> = {
      start: { items: [1, 2], nextToken: 'b' },
      b: { items: [3], nextToken: 'c' },
      c: { items: [] },
    };
    const tokens: (string | undefined)[] = [];
    const items = await paginate(async (token) => {
      tokens.push(token);
      const page = pages[token ?? 'start'];
      return { items: page?.items, nextToken: page?.nextToken };
    });
    expect(items).toEqual([1, 2, 3]);
    expect(tokens).toEqual([undefined, 'b', 'c']);
  });

  it('fails instead of looping when the service repeats a token', async () => {
    await expect(paginate(async () => ({ items: [1], nextToken: 'same' }))).rejects.toThrow(
      "the same nextToken came back twice ('same')",
    );
  });
});

describe('TokenBucket', () => {
  /** A bucket on a clock that only its own waits move: what matters is when each token was granted. */
  function pacedBucket(capacity: number, refillPerSecond: number) {
    let now = 0;
    const waits: number[] = [];
    const bucket = new TokenBucket({
      capacity,
      refillPerSecond,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    return {
      bucket,
      waits,
      clock: () => now,
      idle: (ms: number) => {
        now += ms;
      },
    };
  }

  it('grants the burst at once, then one token per 1/rate, in the order asked', async () => {
    const { bucket, clock } = pacedBucket(3, 2);
    const granted: [number, number][] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, index) => bucket.take().then(() => granted.push([index, clock()]))),
    );
    expect(granted).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 500],
      [4, 1000],
      [5, 1500],
      [6, 2000],
    ]);
  });

  it('never grants more than capacity + rate × elapsed, however many ask', async () => {
    const { bucket, clock } = pacedBucket(2000, 1000);
    for (let index = 0; index < 5000; index += 1) await bucket.take();
    // 2,000 from the burst, 3,000 more at 1,000 a second.
    expect(clock()).toBe(3000);
  });

  it('refills while idle, up to its capacity only', async () => {
    const { bucket, waits, idle } = pacedBucket(2, 1);
    await bucket.take();
    await bucket.take();
    idle(60_000);
    for (let index = 0; index < 3; index += 1) await bucket.take();
    // A minute idle refills 2 tokens, not 60: the third take waits a second.
    expect(waits).toEqual([1000]);
  });

  it('ends a wait with the reason of the signal when aborted', async () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 0.001 });
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort(new Error('run stopped'));
    await expect(waiting).rejects.toThrow('run stopped');
  });
});
