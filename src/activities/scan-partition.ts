import { ApplicationFailure, Context } from '@temporalio/activity';
import { readLogFile } from '../cloudtrail/read-log-file';
import { LogFileFormatError } from '../cloudtrail/record-splitter';
import type { DirectorySource, S3Source } from '../config/schema';
import { readPeriod, selectRecord, selectedEventNames } from '../rules/selection';
import { listDirectoryLogObjects } from '../sources/directory';
import { PermanentSourceError } from '../sources/errors';
import type { LogObject, SkippedItem } from '../sources/log-object';
import { createS3Client, listS3LogObjects } from '../sources/s3';
import { configuredRules } from './configured-rules';
import { type ProgressCheckpoint, PartitionProgress } from './partition-progress';
import type { ScanPeriod } from '../rules/types';
import type { PartitionResult, ScanPartitionInput } from './types';

/** An object is corrupt (reported, skipped) rather than unreachable (retried) when its bytes are bad. */
function isCorruptObjectError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    error instanceof LogFileFormatError ||
    error instanceof PermanentSourceError ||
    (typeof code === 'string' && code.startsWith('Z_'))
  );
}

async function listObjects(input: ScanPartitionInput, source: S3Source | DirectorySource, readWindow: ScanPeriod): Promise<{ objects: LogObject[]; skipped: SkippedItem[] }> {
  if (source.type === 'directory') return listDirectoryLogObjects(source);
  if (!input.partition.s3) throw new Error(`partition ${input.partition.id} has no S3 location`);
  const objects = await listS3LogObjects(createS3Client(source), source, input.partition.s3, readWindow);
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

/**
 * Reads every log file of one S3 or directory partition, keeps the records the rules select, and
 * returns them (inline or by reference). Heartbeats a checkpoint after each file, so a retry resumes there.
 */
export async function scanPartition(input: ScanPartitionInput): Promise<PartitionResult> {
  const { source } = input;
  if (source.type === 'lookupEvents') throw ApplicationFailure.nonRetryable('scanPartition does not read lookupEvents sources', 'InvalidInput');
  const context = Context.current();
  const rules = configuredRules(input.rules);
  const readWindow = readPeriod(rules, input.period);
  const needles = selectedEventNames(rules).map((name) => Buffer.from(name));

  let listing: { objects: LogObject[]; skipped: SkippedItem[] };
  try {
    listing = await listObjects(input, source, readWindow);
  } catch (error) {
    if (error instanceof PermanentSourceError) throw ApplicationFailure.nonRetryable(error.message, error.name);
    throw error;
  }

  const previous = context.info.heartbeatDetails as ProgressCheckpoint<{ lastKey: string }> | undefined;
  const progress = new PartitionProgress(input.scanId, input.partition, { lastKey: '' }, previous);
  const { state } = progress;
  if (!progress.resumed) for (const item of listing.skipped) progress.skip(item);

  let readThisAttempt = 0;
  for (const object of listing.objects) {
    if (progress.resumed && object.key <= state.position.lastKey) continue;
    if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason ?? new Error('cancelled');
    const lines: string[] = [];
    const malformed: string[] = [];
    try {
      const counts = await readLogFile(() => object.open(), needles, {
        onRecord(record) {
          for (const line of selectRecord(rules, record, readWindow)) lines.push(JSON.stringify(line));
        },
        onMalformedRecord(reason) {
          malformed.push(reason);
        },
      });
      state.stats.records += counts.records;
      state.stats.parsed += counts.parsed;
      state.stats.bytes += counts.bytes;
      state.stats.objects++;
      progress.append(lines);
      state.stats.malformedRecords += malformed.length;
      for (const reason of malformed) progress.skip({ source: input.partition.label, key: object.key, reason: `malformed record: ${reason}` });
    } catch (error) {
      if (!isCorruptObjectError(error)) throw retryAfterProgress(error, readThisAttempt, object.key);
      progress.skip({ source: input.partition.label, key: object.key, reason: (error as Error).message });
    }
    readThisAttempt++;
    state.position = { lastKey: object.key };
    context.heartbeat(state);
  }
  return progress.result();
}
