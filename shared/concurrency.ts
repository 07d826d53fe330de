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
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    all.push(...(page.items ?? []));
    if (page.nextToken && page.nextToken === token) {
      throw new Error(`paginate: the same nextToken came back twice ('${token}'); the list would never end`);
    }
    token = page.nextToken || undefined;
  } while (token);
  return all;
}
