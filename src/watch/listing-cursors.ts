/**
 * What a worker remembers of its polls of an S3 trail, so that a poll lists only the tail of each
 * partition (one request, whatever the open date folders) instead of every folder whole: per partition,
 * the newest file-name time it saw and when it last listed the open folders whole; per source, its
 * partitions and when it found them. Only a cache, never the watch's state: a partition this worker
 * knows nothing of (a fresh worker, a round another worker ran) is listed whole, and so is every
 * partition every FULL_LISTING_POLLS poll intervals, which finds a file that landed out of key order
 * further behind the newest one than LISTING_OVERLAP_MS (CLOUDTRAIL.md sets no bound).
 */

/** A poll lists a partition from this long (in file-name time) before the newest file it saw there. */
export const LISTING_OVERLAP_MS = 60 * 60_000;
/** Partitions are listed whole, and found again, once every this many poll intervals. */
export const FULL_LISTING_POLLS = 10;
/** Partitions remembered at most (every account and region of a large organisation). */
const MAX_PARTITIONS = 20_000;

interface PartitionCursor {
  newestNameMs: number;
  wholeAtMs: number;
}

const cursors = new Map<string, PartitionCursor>();
const partitions = new Map<string, { foundAtMs: number; value: readonly unknown[] }>();

/** From when (file-name time, epoch ms) to list a partition now; undefined: list its open folders whole. */
export function listFrom(partition: string, nowMs: number, pollIntervalMs: number): number | undefined {
  const known = cursors.get(partition);
  if (!known || !Number.isFinite(known.newestNameMs) || nowMs - known.wholeAtMs >= FULL_LISTING_POLLS * pollIntervalMs) return undefined;
  return known.newestNameMs - LISTING_OVERLAP_MS;
}

/** What a listing of a partition saw: the newest file-name time (undefined: none), and whether it listed the open folders whole. */
export function listed(partition: string, nowMs: number, newestNameMs: number | undefined, whole: boolean): void {
  const known = cursors.get(partition);
  if (!known && !whole) return;
  if (!known && cursors.size >= MAX_PARTITIONS) cursors.clear();
  cursors.set(partition, {
    newestNameMs: Math.max(known?.newestNameMs ?? -Infinity, newestNameMs ?? -Infinity),
    wholeAtMs: whole ? nowMs : known!.wholeAtMs,
  });
}

/**
 * A source's partitions, found again once they are FULL_LISTING_POLLS poll intervals old, and at every
 * poll while there are none (a trail that has not delivered yet: its first files count).
 */
export async function cachedPartitions<T>(source: string, nowMs: number, pollIntervalMs: number, find: () => Promise<readonly T[]>): Promise<readonly T[]> {
  const known = partitions.get(source);
  if (known && nowMs - known.foundAtMs < FULL_LISTING_POLLS * pollIntervalMs) return known.value as readonly T[];
  const value = await find();
  if (value.length) partitions.set(source, { foundAtMs: nowMs, value });
  else partitions.delete(source);
  return value;
}

/** Forgets everything (tests). */
export function forgetListings(): void {
  cursors.clear();
  partitions.clear();
}
