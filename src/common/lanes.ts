/**
 * The one bounded-concurrency pool: runs `run` over the items with at most `concurrency` in flight,
 * taking them in order; the results come back in item order. Pure and deterministic, so workflow code
 * bounds its children and activities in flight with it (the order it starts them in is part of their
 * replayed histories: keep it), and activities and stores their requests.
 */
export async function inLanes<T, R>(items: readonly T[], concurrency: number, run: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return results;
}
