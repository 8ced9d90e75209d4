import { FULL_LISTING_POLLS, LISTING_OVERLAP_MS, cachedPartitions, forgetListings, listFrom, listed } from '../../src/watch/listing-cursors';

const MINUTE = 60_000;
const T = Date.parse('2026-11-25T10:00:00Z');

describe("the watch's listing cursors", () => {
  beforeEach(() => forgetListings());

  test('a partition is listed whole until a whole listing of it was seen, then from a little before its newest file', () => {
    expect(listFrom('f/', T, MINUTE)).toBeUndefined();
    // a partial listing of an unknown partition teaches nothing: what it did not list is not known to be seen
    listed('f/', T, T - 5 * MINUTE, false);
    expect(listFrom('f/', T, MINUTE)).toBeUndefined();
    listed('f/', T, T - 5 * MINUTE, true);
    expect(listFrom('f/', T + MINUTE, MINUTE)).toBe(T - 5 * MINUTE - LISTING_OVERLAP_MS);
    // a later tail moves the start on; an older file seen again does not move it back
    listed('f/', T + MINUTE, T, false);
    listed('f/', T + 2 * MINUTE, T - 90 * MINUTE, false);
    expect(listFrom('f/', T + 3 * MINUTE, MINUTE)).toBe(T - LISTING_OVERLAP_MS);
    expect(listFrom('g/', T + 3 * MINUTE, MINUTE)).toBeUndefined();
  });

  test('every FULL_LISTING_POLLS poll intervals after its last whole listing, a partition is listed whole again', () => {
    listed('f/', T, T, true);
    expect(listFrom('f/', T + (FULL_LISTING_POLLS * MINUTE - 1), MINUTE)).toBe(T - LISTING_OVERLAP_MS);
    expect(listFrom('f/', T + FULL_LISTING_POLLS * MINUTE, MINUTE)).toBeUndefined();
    listed('f/', T + FULL_LISTING_POLLS * MINUTE, T + MINUTE, true);
    expect(listFrom('f/', T + FULL_LISTING_POLLS * MINUTE + 1, MINUTE)).toBe(T + MINUTE - LISTING_OVERLAP_MS);
  });

  test('a partition with no file yet is listed whole (there is no newest file to start from)', () => {
    listed('f/', T, undefined, true);
    expect(listFrom('f/', T + 1, MINUTE)).toBeUndefined();
  });

  test("a source's partitions are found once per FULL_LISTING_POLLS poll intervals, and at every poll while it has none", async () => {
    let finds = 0;
    const found: string[][] = [[], ['p1'], ['p1', 'p2'], ['p1', 'p2', 'p3'], ['q']];
    const find = async () => found[finds++];
    expect(await cachedPartitions('s', T, MINUTE, find)).toEqual([]);
    expect(await cachedPartitions('s', T + 1, MINUTE, find)).toEqual(['p1']);
    expect(await cachedPartitions('s', T + FULL_LISTING_POLLS * MINUTE, MINUTE, find)).toEqual(['p1']);
    expect(await cachedPartitions('s', T + 1 + FULL_LISTING_POLLS * MINUTE, MINUTE, find)).toEqual(['p1', 'p2']);
    expect(await cachedPartitions('other', T, MINUTE, find)).toEqual(['p1', 'p2', 'p3']);
    expect(finds).toBe(4);
  });
});
