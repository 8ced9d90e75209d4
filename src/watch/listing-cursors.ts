/**
 * What a worker remembers of its polls of an S3 trail, so that a poll lists only the tail of each date
 * folder instead of the whole day's files: per folder, the newest file-name time it saw there and when it
 * last listed the folder whole; per source, its partitions and when it found them. Only a cache, never
 * the watch's state: a folder this worker knows nothing of (a fresh worker, a round another worker ran)
 * is listed whole, and so is every folder every FULL_LISTING_POLLS poll intervals, which finds a file that
 * landed out of key order further behind the newest one than LISTING_OVERLAP_MS (CLOUDTRAIL.md sets no bound).
 */

/** A poll lists a folder from this long (in file-name time) before the newest file it saw there. */
export const LISTING_OVERLAP_MS = 60 * 60_000;
/** Folders are listed whole, and partitions found again, once every this many poll intervals. */
export const FULL_LISTING_POLLS = 10;
/** Folders remembered at most (a day's folders of every partition of a large organisation, a few days over). */
const MAX_FOLDERS = 20_000;

interface FolderCursor {
  newestNameMs: number;
  wholeAtMs: number;
}

const folders = new Map<string, FolderCursor>();
const partitions = new Map<string, { foundAtMs: number; value: readonly unknown[] }>();

/** From when (file-name time, epoch ms) to list a folder now; undefined: list it whole. */
export function listFrom(folder: string, nowMs: number, pollIntervalMs: number): number | undefined {
  const known = folders.get(folder);
  if (!known || !Number.isFinite(known.newestNameMs) || nowMs - known.wholeAtMs >= FULL_LISTING_POLLS * pollIntervalMs) return undefined;
  return known.newestNameMs - LISTING_OVERLAP_MS;
}

/** What a listing of a folder saw: the newest file-name time in it (undefined: none), and whether it listed the folder whole. */
export function listed(folder: string, nowMs: number, newestNameMs: number | undefined, whole: boolean): void {
  const known = folders.get(folder);
  if (!known && !whole) return;
  if (!known && folders.size >= MAX_FOLDERS) folders.clear();
  folders.set(folder, {
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
  folders.clear();
  partitions.clear();
}
