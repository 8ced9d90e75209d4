import { createHash } from 'node:crypto';
import type { ScanStore } from '../activities/types';
import { type BlobStore, blobStoreOf, withPrefix } from '../store/blob-store';

/**
 * What the watch keeps of a day, beside the findings (so every worker reaches it, never a worker's
 * disk): `watch/<rules hash>/days/<date>/objects/<object id>.jsonl`, one per object scanned, its first line the
 * object (WatchedObject) and then its record lines (src/rules/selection.ts: RecordLine), exactly what
 * the daily scan's partitions select from it; and `.../days/<date>/latency.json`.
 * An object's entry is written once, whole (a retry writes the same bytes), so the day's selected set
 * is the union of its entries, and an entry's existence is the cursor: an object with one is never scanned again.
 */
export interface WatchedObject {
  source: number;
  key: string;
  /** when it was delivered: the notification's time, the object's LastModified or the file's mtime (epoch ms) */
  deliveredMs: number;
  scannedMs: number;
  records: number;
  bytes: number;
  selected: number;
  /** why its records were not used: a corrupt object */
  skipped?: string;
}

/**
 * The watch's store for a configuration: under a hash of its rules, because an object's lines are what
 * those rules select; a watch started with other rules scans its days' objects again.
 */
export function watchStore(config: ScanStore & { rules: Record<string, unknown> }): BlobStore {
  const rules = createHash('sha256').update(JSON.stringify(config.rules)).digest('hex').slice(0, 12);
  return withPrefix(blobStoreOf(config.findingsStore ?? { directory: config.findingsDirectory }), `watch/${rules}/`);
}

/** An object's id in the day's store: its source and key, hashed (keys are longer than file names may be). */
export function objectId(source: number, key: string): string {
  return createHash('sha256')
    .update(JSON.stringify([source, key]))
    .digest('hex')
    .slice(0, 40);
}

const objectsPrefix = (date: string) => `days/${date}/objects/`;

/** Ids of the objects the day's watch has scanned (one listing). */
export async function seenObjects(store: BlobStore, date: string): Promise<Set<string>> {
  const prefix = objectsPrefix(date);
  return new Set((await store.list(prefix)).map((key) => key.slice(prefix.length, -'.jsonl'.length)));
}

export async function writeObject(store: BlobStore, date: string, object: WatchedObject, lines: readonly string[]): Promise<void> {
  const body = [JSON.stringify(object), ...lines].map((line) => `${line}\n`).join('');
  await store.put(`${objectsPrefix(date)}${objectId(object.source, object.key)}.jsonl`, body);
}

interface Entry {
  object: WatchedObject;
  lines: string[];
}

/**
 * Entries already read, per store and day: they never change once written, so a worker reads each
 * once; another worker reads what it lacks. Only the last few days are kept.
 */
const cache = new Map<string, Map<string, Entry>>();
const CACHED_DAYS = 4;

function parseEntry(text: string): Entry {
  const lines = text.split('\n').filter((line) => line);
  return { object: JSON.parse(lines[0]) as WatchedObject, lines: lines.slice(1) };
}

/**
 * The day's entries in the order the daily scan reads the same objects (source order, then key order),
 * which is the order dedup keeps first copies in.
 */
export async function readDay(store: BlobStore, date: string): Promise<Entry[]> {
  const cacheKey = JSON.stringify([store.location, date]);
  const entries = cache.get(cacheKey) ?? new Map<string, Entry>();
  cache.delete(cacheKey);
  cache.set(cacheKey, entries);
  while (cache.size > CACHED_DAYS) cache.delete(cache.keys().next().value as string);
  const keys = await store.list(objectsPrefix(date));
  const missing = keys.filter((key) => !entries.has(key));
  for (let i = 0; i < missing.length; i += 16) {
    await Promise.all(
      missing.slice(i, i + 16).map(async (key) => {
        const body = await store.get(key);
        if (body) entries.set(key, parseEntry(body.toString('utf8')));
      }),
    );
  }
  return [...entries.values()].sort((a, b) => a.object.source - b.object.source || (a.object.key < b.object.key ? -1 : a.object.key > b.object.key ? 1 : 0));
}

/**
 * How fast the watch found a finding of a day, and notified it (ISO-8601 UTC times). Delivery ->
 * detection and delivery -> notification are those of its first version, the one that was notified.
 */
export interface FindingLatency {
  /** when the last evidence of its first version was delivered (its object's notification time or LastModified) */
  deliveredAt: string;
  /** when the watch first found it */
  detectedAt: string;
  /** its count when last found: a later version (more events in its window) is found again, same id */
  count: number;
  lastEvidenceDeliveredAt: string;
  updatedAt: string;
  routedAt?: string;
  incidentId?: string;
  /**
   * 'opened': it opened its incident, whose first notification was accepted at notificationAcceptedAt;
   * 'failed': it opened it and every notification failed; 'joined': an open incident took it,
   * unnotified; 'none': no channel is configured
   */
  notification?: 'opened' | 'failed' | 'joined' | 'none';
  notificationAcceptedAt?: string;
}

const latencyKey = (date: string) => `days/${date}/latency.json`;

export async function readLatency(store: BlobStore, date: string): Promise<Record<string, FindingLatency>> {
  const body = await store.get(latencyKey(date));
  return body ? (JSON.parse(body.toString('utf8')) as Record<string, FindingLatency>) : {};
}

export async function writeLatency(store: BlobStore, date: string, latency: Record<string, FindingLatency>): Promise<void> {
  await store.put(latencyKey(date), JSON.stringify(latency));
}
