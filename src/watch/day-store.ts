import { createHash } from 'node:crypto';
import type { ScanStore } from '../activities/types';
import type { RecordLine } from '../rules/selection';
import { type BlobStore, blobStoreOf, withPrefix } from '../store/blob-store';

/**
 * What the watch keeps of a day, beside the findings (so every worker reaches it, never a worker's
 * disk): `watch/<rules hash>/days/<date>/objects/<batch id>.jsonl`, one per round that scanned objects
 * into the day, holding each object (WatchedObject, with how many lines follow it) and then its
 * record lines (src/rules/selection.ts: RecordLine), exactly what the daily scan's partitions select
 * from it; and `.../days/<date>/latency.json`. A batch is written once, whole, named by its objects (a
 * retry writes the same name), so the day's selected set is the union of its batches, and an object's
 * presence in one is the cursor: an object in the day's store is never scanned again.
 * An entry written alone by an earlier version (`<object id>.jsonl`, no `lines`) reads the same way.
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
  /** how many record lines follow it in its batch; absent: all the lines after it (an entry written alone) */
  lines?: number;
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

export interface Entry {
  object: WatchedObject;
  lines: string[];
}

/** An object's lines parsed, kept with its cached entry: a day is correlated again every round, its lines parsed once. */
const parsedLines = new WeakMap<Entry, RecordLine[]>();

export function recordsOf(entry: Entry): RecordLine[] {
  let records = parsedLines.get(entry);
  if (!records) {
    records = entry.lines.map((line) => JSON.parse(line) as RecordLine);
    parsedLines.set(entry, records);
  }
  return records;
}

/** One round's objects of a day, in one write: `objects/<hash of their ids>.jsonl`. */
export async function writeObjects(store: BlobStore, date: string, entries: readonly Entry[]): Promise<void> {
  if (!entries.length) return;
  const ids = entries.map(({ object }) => objectId(object.source, object.key)).sort();
  const name = createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 40);
  const body = entries.flatMap(({ object, lines }) => [JSON.stringify({ ...object, lines: lines.length }), ...lines].map((line) => `${line}\n`)).join('');
  await store.put(`${objectsPrefix(date)}${name}.jsonl`, body);
}

function parseBatch(text: string): Entry[] {
  const lines = text.split('\n').filter((line) => line);
  const entries: Entry[] = [];
  for (let i = 0; i < lines.length;) {
    const object = JSON.parse(lines[i]) as WatchedObject;
    const count = object.lines ?? lines.length - i - 1;
    entries.push({ object, lines: lines.slice(i + 1, i + 1 + count) });
    i += 1 + count;
  }
  return entries;
}

/**
 * Batches already read, per store and day: they never change once written, so a worker reads each
 * once; another worker reads what it lacks. Only the last few days are kept.
 */
const cache = new Map<string, Map<string, Entry[]>>();
const CACHED_DAYS = 4;

/**
 * The day's entries, one per object (a batch written again by a retry that another worker's first
 * attempt also wrote holds the same objects), in the order the daily scan reads the same objects
 * (source order, then key order), which is the order dedup keeps first copies in.
 */
export async function readDay(store: BlobStore, date: string): Promise<Entry[]> {
  const cacheKey = JSON.stringify([store.location, date]);
  const batches = cache.get(cacheKey) ?? new Map<string, Entry[]>();
  cache.delete(cacheKey);
  cache.set(cacheKey, batches);
  while (cache.size > CACHED_DAYS) cache.delete(cache.keys().next().value as string);
  const keys = await store.list(objectsPrefix(date));
  const missing = keys.filter((key) => !batches.has(key));
  for (let i = 0; i < missing.length; i += 16) {
    await Promise.all(
      missing.slice(i, i + 16).map(async (key) => {
        const body = await store.get(key);
        if (body) batches.set(key, parseBatch(body.toString('utf8')));
      }),
    );
  }
  const byObject = new Map<string, Entry>();
  for (const key of keys) {
    for (const entry of batches.get(key) ?? []) {
      const id = objectId(entry.object.source, entry.object.key);
      if (!byObject.has(id)) byObject.set(id, entry);
    }
  }
  return [...byObject.values()].sort((a, b) => a.object.source - b.object.source || (a.object.key < b.object.key ? -1 : a.object.key > b.object.key ? 1 : 0));
}

/** Ids of the objects the day's watch has scanned. */
export async function seenObjects(store: BlobStore, date: string): Promise<Set<string>> {
  return new Set((await readDay(store, date)).map(({ object }) => objectId(object.source, object.key)));
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
