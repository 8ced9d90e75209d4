import { readFile } from 'node:fs/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { LogFileFormatError } from '../scan/records-reader';
import type { DirectorySource, S3Source } from '../config/schema';
import { tuning } from '../config/tuning';
import { listDirectoryLogObjects } from '../sources/directory';
import { PermanentSourceError } from '../sources/errors';
import type { LogObject, SkippedItem } from '../sources/log-object';
import { createS3Client, listS3LogObjects } from '../sources/s3';
import { type ProgressCheckpoint, PartitionProgress } from './partition-progress';
import type { ScanPeriod } from '../rules/types';
import { DocumentTooLarge, type ObjectScan, type ScanContext, type ScanJob, scanContext, scanObjectBytes, scanObjectStream } from '../scan/scan-object';
import { sharedScanPool } from '../scan/scan-pool';
import type { PartitionResult, ScanPartitionInput } from './types';
import { partitionSpec } from '../workflows/partitions';
import { activityError } from './permanent';

/** Objects up to this size (compressed) are read whole and scanned in memory; larger ones stream. */
const MAX_WHOLE_OBJECT_BYTES = 8 * 1024 * 1024;

/** An object is corrupt (reported, skipped) rather than unreachable (retried) when its bytes are bad. */
export function isCorruptObjectError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return error instanceof LogFileFormatError || error instanceof PermanentSourceError || (typeof code === 'string' && code.startsWith('Z_'));
}

async function listObjects(
  input: ScanPartitionInput,
  source: S3Source | DirectorySource,
  readWindow: ScanPeriod,
): Promise<{ objects: LogObject[]; skipped: SkippedItem[] }> {
  if (source.type === 'directory') return listDirectoryLogObjects(source);
  const partition = partitionSpec(input.partition);
  if (partition.kind !== 's3') throw new Error(`partition ${partition.id} has no S3 location`);
  const objects = await listS3LogObjects(await createS3Client(source), source, partition.s3, readWindow);
  return { objects, skipped: [] };
}

/**
 * A transient error (a reset connection, S3 SlowDown after the SDK's own retries) fails the attempt and
 * Temporal retries it from the checkpoint. An attempt that got somewhere asks for a quick retry: the
 * retry policy's growing backoff is for a source that keeps failing, not for a long partition that
 * meets a few independent faults.
 */
function retryAfterProgress(error: unknown, readThisAttempt: number, key: string): unknown {
  if (readThisAttempt === 0 || !(error instanceof Error)) return error;
  return ApplicationFailure.create({
    message: `reading ${key}: ${error.message}`,
    type: error.name,
    nextRetryDelay: '1 second',
    cause: error,
  });
}

/** A small object's whole body: a local file at once, else its chunks joined. */
async function readWhole(object: LogObject): Promise<Buffer> {
  if (object.path) return readFile(object.path);
  const parts: Uint8Array[] = [];
  for await (const part of await object.open()) parts.push(part);
  return parts.length === 1 ? Buffer.from(parts[0].buffer, parts[0].byteOffset, parts[0].byteLength) : Buffer.concat(parts);
}

/** Reads one log file whole (a small object) or as a stream, on a scan thread when there is a pool. */
export async function scanObject(object: LogObject, job: ScanJob, context: ScanContext): Promise<ObjectScan> {
  if (object.size <= MAX_WHOLE_OBJECT_BYTES) {
    const pool = sharedScanPool();
    try {
      // a scan thread reads a local file itself
      if (pool) return await pool.scan(object.path ?? (await readWhole(object)), job);
      return scanObjectBytes(await readWhole(object), context);
    } catch (error) {
      if (!(error instanceof DocumentTooLarge)) throw error;
    }
  }
  return scanObjectStream(await object.open(), context);
}

/**
 * Reads every log file of one S3 or directory partition, keeps the records the rules select, and
 * returns them (inline or by reference). Several files are read ahead and scanned on the scan threads
 * at once; their results are taken in key order, and the checkpoint after the latest is heartbeated
 * (at most every 100 ms), so a retry resumes there.
 */
export async function scanPartition(input: ScanPartitionInput): Promise<PartitionResult> {
  const { source } = input;
  if (source.type === 'lookupEvents') throw ApplicationFailure.nonRetryable('scanPartition does not read lookupEvents sources', 'InvalidInput');
  const context = Context.current();
  const job: ScanJob = { rules: input.rules, period: input.period };
  const scanning = scanContext(job);

  let listing: { objects: LogObject[]; skipped: SkippedItem[] };
  try {
    listing = await listObjects(input, source, scanning.readWindow);
  } catch (error) {
    throw activityError(error);
  }

  const previous = context.info.heartbeatDetails as ProgressCheckpoint<{ lastKey: string }> | undefined;
  const progress = new PartitionProgress(input.scanId, input.partition, { lastKey: '' }, previous);
  const { state } = progress;
  if (!progress.resumed) for (const item of listing.skipped) progress.skip(item);

  const todo = listing.objects.filter((object) => !progress.resumed || object.key > state.position.lastKey);
  const readAhead = (sharedScanPool()?.capacity ?? 0) + 1;
  const inFlight: { object: LogObject; scan: Promise<ObjectScan> }[] = [];
  try {
    let next = 0;
    let readThisAttempt = 0;
    let lastHeartbeatMs = 0;
    const heartbeatEveryMs = tuning('TRAILWARDEN_HEARTBEAT_MS', 100);
    while (next < todo.length || inFlight.length) {
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason ?? new Error('cancelled');
      while (inFlight.length < readAhead && next < todo.length) {
        const object = todo[next++];
        const scan = scanObject(object, job, scanning);
        scan.catch(() => undefined); // awaited in order below; an attempt that fails earlier abandons it
        inFlight.push({ object, scan });
      }
      const { object, scan } = inFlight.shift()!;
      try {
        const result = await scan;
        state.stats.records += result.records;
        state.stats.parsed += result.parsed;
        state.stats.bytes += result.bytes;
        state.stats.objects++;
        progress.append(result.lines, result.selected);
        state.stats.malformedRecords += result.malformed.length;
        for (const reason of [...result.malformed, ...result.warnings]) progress.skip({ source: input.partition.label, key: object.key, reason });
      } catch (error) {
        if (!isCorruptObjectError(error)) {
          context.heartbeat(state); // the latest checkpoint, for the retry
          throw retryAfterProgress(error, readThisAttempt, object.key);
        }
        progress.skip({ source: input.partition.label, key: object.key, reason: (error as Error).message });
      }
      readThisAttempt++;
      state.position = { lastKey: object.key };
      // each heartbeat is encoded and handed to Temporal's core: at most every heartbeatEveryMs, not per
      // small file (core sends the latest to the server at most every second anyway)
      if (Date.now() - lastHeartbeatMs >= heartbeatEveryMs) {
        context.heartbeat(state);
        lastHeartbeatMs = Date.now();
      }
    }
    return await progress.finish(input.store);
  } finally {
    progress.close();
  }
}
