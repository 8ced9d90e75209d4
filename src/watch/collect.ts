import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyKey, dayFolder, folderKeyAt, logsBase, parseTrailKey, regionFolder } from '../cloudtrail/keys';
import type { ScanConfig } from '../config/load';
import { DEFAULT_BATCH_WINDOW, DEFAULT_POLL_INTERVAL, type DirectorySource, type S3Source } from '../config/schema';
import { parseIsoDuration } from '../config/duration';
import { tuning } from '../config/tuning';
import { configuredRules } from '../rules/configured-rules';
import { isCorruptObjectError, scanObject } from '../activities/scan-partition';
import { type ScanContext, scanContext } from '../scan/scan-object';
import { sharedScanPool } from '../scan/scan-pool';
import type { ScanPeriod } from '../rules/types';
import { listDirectoryLogObjects } from '../sources/directory';
import type { LogObject, SkippedItem } from '../sources/log-object';
import { createS3Client, discoverS3Partitions, openS3Object } from '../sources/s3';
import { listS3Folder } from '../sources/s3-watch';
import { deleteNotifications, receiveNotifications } from '../sources/sqs';
import { type Entry, type WatchedObject, objectId, seenObjects, watchStore, writeObjects } from './day-store';
import { DAY_MS, EARLY_SLACK_MS, dayStartMs, daysOfDelivery, periodOfDays } from './days';
import { cachedPartitions, listFrom, listed } from './listing-cursors';

export interface CollectInput {
  config: ScanConfig;
  /** the days whose watch is open */
  days: string[];
  /** sources (by index) to list this time: their pollInterval has passed */
  pollSources: number[];
  /** how long to wait for the first notification of each queue (long polling), seconds */
  waitSeconds: number;
  /**
   * once a queue gave a message, how long after that message was sent the round goes on gathering
   * before it scans (ms; undefined: the default `watch.batchWindow`): a round per batch, not per object
   */
  batchWindowMs?: number;
}

export interface CollectResult {
  /** days whose selected set grew: new objects with events some rule selected (only those need correlating) */
  touched: string[];
  /** new objects per day (an object near midnight belongs to two) */
  objectsByDay: Record<string, number>;
  objects: number;
  records: number;
  bytes: number;
  selected: number;
  /** notification messages received and deleted */
  received: number;
  deleted: number;
  /** objects named by notifications and not scanned, by reason: digest, insight, foreign key, outside the open days, ... */
  dropped: Record<string, number>;
  skipped: SkippedItem[];
  skippedCount: number;
}

/** An object found new, with the days it belongs to. */
interface Candidate {
  source: number;
  object: LogObject;
  deliveredMs: number;
  days: string[];
}

/** Messages a tick takes from one queue at most (10 per receive): the tick stays short, the rest wait for the next. */
const MAX_RECEIVES = 20;
/** A received message is invisible to other receivers this long; one not deleted by then (a killed worker) comes back. */
const visibilitySeconds = () => tuning('TRAILWARDEN_WATCH_VISIBILITY_S', 120);

function lateMs(source: S3Source | DirectorySource): number {
  return source.type === 's3' ? parseIsoDuration(source.lateDelivery) : 0;
}

/** Why a notified object is not this source's trail file, or undefined when it is. */
function dropReason(source: S3Source, bucket: string, key: string): string | undefined {
  if (bucket !== source.bucket || !key.startsWith(logsBase(source.prefix))) return 'foreign';
  const kind = classifyKey(key);
  if (kind !== 'trail') return kind === 'other' ? 'foreign' : kind;
  const parsed = parseTrailKey(key)!;
  if (source.organizationId && parsed.organizationId !== source.organizationId) return 'foreign';
  if (source.accounts && !source.accounts.includes(parsed.accountId)) return 'foreign';
  if (source.regions && !source.regions.includes(parsed.region)) return 'foreign';
  return undefined;
}

class Collector {
  readonly result: CollectResult = {
    touched: [],
    objectsByDay: {},
    objects: 0,
    records: 0,
    bytes: 0,
    selected: 0,
    received: 0,
    deleted: 0,
    dropped: {},
    skipped: [],
    skippedCount: 0,
  };
  readonly candidates = new Map<string, Candidate>();
  readonly receipts = new Map<number, string[]>();
  readonly lookbackMs: number;
  readonly batchWindowMs: number;

  constructor(readonly input: CollectInput) {
    this.lookbackMs = Math.max(0, ...configuredRules(input.config.rules).map(({ rule, options }) => rule.lookbackMs(options)));
    this.batchWindowMs = input.batchWindowMs ?? parseIsoDuration(DEFAULT_BATCH_WINDOW);
  }

  drop(reason: string): void {
    this.result.dropped[reason] = (this.result.dropped[reason] ?? 0) + 1;
  }

  /**
   * A found object, unless it belongs to no open day (counted when a notification named it: a listing
   * sees the older objects of its folders every time); a second notice of it keeps the first delivery time.
   */
  offer(source: number, object: LogObject, deliveredMs: number, nameMs: number | undefined, late: number, notified = false): void {
    const days = daysOfDelivery(nameMs, this.input.days, this.lookbackMs, late);
    if (!days.length) {
      if (notified) this.drop('outside the open days');
      return;
    }
    const id = objectId(source, object.key);
    const known = this.candidates.get(id);
    if (!known || deliveredMs < known.deliveredMs) this.candidates.set(id, { source, object, deliveredMs, days });
  }

  /**
   * Every message the queue has ready, long-polling for the first; once one came, the batch window
   * after the earliest one's send time passes before the queue is drained.
   */
  async fromQueue(index: number, source: S3Source): Promise<void> {
    const client = await createS3Client(source);
    const handles: string[] = [];
    let firstSentMs: number | undefined;
    for (let receive = 0; receive < MAX_RECEIVES; receive++) {
      const messages = await receiveNotifications(source, receive === 0 ? this.input.waitSeconds : 0, visibilitySeconds());
      this.result.received += messages.length;
      if (firstSentMs === undefined && messages.length) {
        firstSentMs = Math.min(...messages.map((m) => m.sentMs));
        // never for as long as the received messages stay invisible: they would come back mid-round
        const windowMs = Math.min(this.batchWindowMs, visibilitySeconds() * 500);
        await sleep(Math.min(windowMs, Math.max(0, firstSentMs + windowMs - Date.now())));
      }
      for (const message of messages) {
        handles.push(message.receiptHandle);
        if (message.ignored) this.drop(message.ignored);
        for (const notice of message.objects) {
          const reason = dropReason(source, notice.bucket, notice.key);
          if (reason) {
            this.drop(reason);
            continue;
          }
          const { key } = notice;
          // a notification does not say the size: read it whole, or stream it when it turns out too large
          this.offer(
            index,
            { key, size: 0, open: () => openS3Object(client, source.bucket, key) },
            notice.notifiedMs,
            parseTrailKey(key)!.deliveredMs,
            lateMs(source),
            true,
          );
        }
      }
      // then until the queue has nothing ready (a receive may give fewer than it holds)
      if (!messages.length) break;
    }
    this.receipts.set(index, handles);
  }

  /** The date folders a day's daily scan lists, up to now, for every partition of the trail. */
  async fromS3Listing(index: number, source: S3Source, nowMs: number): Promise<void> {
    const client = await createS3Client(source);
    const late = lateMs(source);
    const dayStarts = new Set<number>();
    for (const day of this.input.days) {
      const start = dayStartMs(day);
      for (let d = Math.floor((start - this.lookbackMs - EARLY_SLACK_MS) / DAY_MS) * DAY_MS; d < start + DAY_MS + late && d <= nowMs; d += DAY_MS)
        dayStarts.add(d);
    }
    // one listing per partition and poll (src/watch/listing-cursors.ts): from the first open date folder
    // when a whole listing is due, else from a little before the newest file this worker saw, which takes
    // in the later date folders too (CloudTrail writes each file into the folder of its delivery day)
    const intervalMs = parseIsoDuration(source.pollInterval ?? DEFAULT_POLL_INTERVAL);
    const sourceId = JSON.stringify(source);
    const folderDays = [...dayStarts].sort((a, b) => a - b);
    if (!folderDays.length) return;
    for (const partition of await cachedPartitions(sourceId, nowMs, intervalMs, () => discoverS3Partitions(client, source))) {
      const { base, accountId, region } = partition;
      const folder = regionFolder(base, accountId, region);
      const cursor = `${sourceId}${folder}`;
      const tailMs = listFrom(cursor, nowMs, intervalMs);
      const fromMs = tailMs === undefined ? undefined : Math.max(tailMs, folderDays[0]);
      const startAfter = fromMs === undefined ? dayFolder(base, accountId, region, folderDays[0]) : folderKeyAt(base, accountId, region, fromMs);
      let newestNameMs: number | undefined;
      for (const item of await listS3Folder(client, source, folder, startAfter)) {
        if (classifyKey(item.key) !== 'trail') continue;
        const { key } = item;
        const nameMs = parseTrailKey(key)!.deliveredMs;
        if (!dayStarts.has(Math.floor(nameMs / DAY_MS) * DAY_MS)) continue;
        newestNameMs = Math.max(newestNameMs ?? nameMs, nameMs);
        this.offer(index, { key, size: item.size, open: () => openS3Object(client, source.bucket, key) }, item.lastModifiedMs, nameMs, late);
      }
      listed(cursor, nowMs, newestNameMs, fromMs === undefined);
    }
  }

  async fromDirectory(index: number, source: DirectorySource): Promise<void> {
    const { objects } = await listDirectoryLogObjects(source);
    for (const object of objects) {
      // a file in the S3 key layout belongs to the days its name says; any other to every open day (the daily scan reads them all)
      this.offer(index, object, statSync(object.path!).mtimeMs, parseTrailKey(object.key)?.deliveredMs, 0);
    }
  }
}

/**
 * One round of the watch's discovery: every source's new objects (from its notification queue, or by
 * listing when its pollInterval has passed), each scanned once with the daily scan's own scanner and
 * written to the store of every open day it belongs to; then the notifications are deleted, only once
 * their objects are durably stored. `beat` is called as it goes (the activity heartbeats).
 */
export async function collect(input: CollectInput, beat: () => void = () => undefined, nowMs = Date.now()): Promise<CollectResult> {
  const collector = new Collector(input);
  const { result } = collector;
  for (const [index, source] of input.config.sources.entries()) {
    if (source.type === 's3' && source.notifications) await collector.fromQueue(index, source);
    else if (source.type === 's3' && input.pollSources.includes(index)) await collector.fromS3Listing(index, source, nowMs);
    else if (source.type === 'directory' && input.pollSources.includes(index)) await collector.fromDirectory(index, source);
    beat();
  }

  const store = watchStore(input.config);
  const seen = new Map<string, Set<string>>();
  for (const day of input.days) seen.set(day, await seenObjects(store, day));
  const todo = [...collector.candidates.entries()]
    .map(([id, candidate]) => ({ ...candidate, days: candidate.days.filter((day) => !seen.get(day)?.has(id)) }))
    .filter((candidate) => candidate.days.length > 0);

  const scanners = new Map<string, ScanContext>();
  const scannerFor = (period: ScanPeriod) => {
    const key = `${period.startMs}-${period.endMs}`;
    if (!scanners.has(key)) scanners.set(key, scanContext({ rules: input.config.rules, period }));
    return { job: { rules: input.config.rules, period }, scanner: scanners.get(key)! };
  };
  const touched = new Set<string>();
  // each day's objects of the round, written once at its end (one store write per round and day)
  const byDay = new Map<string, Entry[]>();
  const width = (sharedScanPool()?.size ?? 0) + 1;
  const queue = [...todo];
  await Promise.all(
    Array.from({ length: Math.min(width, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { job, scanner } = scannerFor(periodOfDays(next.days));
        const watched: WatchedObject = {
          source: next.source,
          key: next.object.key,
          deliveredMs: next.deliveredMs,
          scannedMs: Date.now(),
          records: 0,
          bytes: 0,
          selected: 0,
        };
        let lines: string[] = [];
        try {
          const scan = await scanObject(next.object, job, scanner);
          Object.assign(watched, { records: scan.records, bytes: scan.bytes, selected: scan.selected });
          lines = scan.lines;
          result.records += scan.records;
          result.bytes += scan.bytes;
          result.selected += scan.selected;
        } catch (error) {
          // a corrupt object is reported and never read again; anything else fails the round, which is retried
          if (!isCorruptObjectError(error)) throw error;
          watched.skipped = (error as Error).message;
          result.skippedCount++;
          if (result.skipped.length < 50) result.skipped.push({ source: `source ${next.source}`, key: next.object.key, reason: watched.skipped });
        }
        for (const day of next.days) {
          if (!byDay.has(day)) byDay.set(day, []);
          byDay.get(day)!.push({ object: watched, lines });
          result.objectsByDay[day] = (result.objectsByDay[day] ?? 0) + 1;
          // lines that select nothing only claim their eventIDs, and CloudTrail's copies of a record are identical: the day's findings stay
          if (watched.selected > 0) touched.add(day);
        }
        result.objects++;
        beat();
      }
    }),
  );
  for (const [day, entries] of byDay) {
    await writeObjects(store, day, entries);
    beat();
  }
  // only now that every object they name is stored: a message deleted earlier could be lost with a killed worker
  for (const [index, handles] of collector.receipts) {
    const source = input.config.sources[index];
    if (source.type === 's3' && handles.length) result.deleted += await deleteNotifications(source, handles);
  }
  result.touched = [...touched].sort();
  return result;
}

/**
 * The lines one LookupEvents request window gave (a partition's selection, as the daily scan's
 * lookupEventsPartition makes it), as one object of every open day: correlate keeps each day's own
 * events, and dedup by eventID drops what overlapping windows read twice.
 */
export async function addLookupLines(
  config: ScanConfig,
  days: readonly string[],
  source: number,
  key: string,
  deliveredMs: number,
  lines: readonly string[],
  records: number,
): Promise<string[]> {
  const store = watchStore(config);
  const watched: WatchedObject = { source, key, deliveredMs, scannedMs: Date.now(), records, bytes: 0, selected: lines.length };
  for (const day of days) await writeObjects(store, day, [{ object: watched, lines: [...lines] }]);
  return [...days];
}
