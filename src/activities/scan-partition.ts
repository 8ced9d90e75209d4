import { appendFileSync, existsSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { readLogFile } from '../cloudtrail/read-log-file';
import { LogFileFormatError } from '../cloudtrail/record-splitter';
import { readPeriod, selectRecord, selectedEventNames } from '../rules/selection';
import { listDirectoryLogObjects } from '../sources/directory';
import { PermanentSourceError } from '../sources/errors';
import type { LogObject, SkippedItem } from '../sources/log-object';
import { createS3Client, listS3LogObjects } from '../sources/s3';
import { configuredRules } from './configured-rules';
import { blobFromFile, scratchPath } from './scratch';
import type { PartitionResult, PartitionStats, ScanPartitionInput } from './types';

const SKIPPED_KEPT = 50;

/** Heartbeat details: enough to resume after the last finished object. */
interface Checkpoint {
  lastKey: string;
  scratchBytes: number;
  selectedLines: number;
  stats: PartitionStats;
  skipped: SkippedItem[];
  skippedCount: number;
}

/** An object is corrupt (reported, skipped) rather than unreachable (retried) when its bytes are bad. */
function isCorruptObjectError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    error instanceof LogFileFormatError ||
    error instanceof PermanentSourceError ||
    (typeof code === 'string' && code.startsWith('Z_'))
  );
}

async function listObjects(input: ScanPartitionInput): Promise<{ objects: LogObject[]; skipped: SkippedItem[] }> {
  const { source, partition } = input;
  if (source.type === 'directory') return listDirectoryLogObjects(source);
  if (!partition.s3) throw new Error(`partition ${partition.id} has no S3 location`);
  const rules = configuredRules(input.rules);
  const objects = await listS3LogObjects(createS3Client(source), source, partition.s3, readPeriod(rules, input.period));
  return { objects, skipped: [] };
}

/**
 * Reads every log file of one partition, keeps the records the rules select, and returns them
 * (inline or by reference). Heartbeats a checkpoint after each file, so a retry resumes there.
 */
export async function scanPartition(input: ScanPartitionInput): Promise<PartitionResult> {
  const context = Context.current();
  const rules = configuredRules(input.rules);
  const readWindow = readPeriod(rules, input.period);
  const needles = selectedEventNames(rules).map((name) => Buffer.from(name));
  const sourceName = input.partition.label;
  const file = scratchPath(input.scanId, `selected-${input.partition.id}`);

  let listing: { objects: LogObject[]; skipped: SkippedItem[] };
  try {
    listing = await listObjects(input);
  } catch (error) {
    if (error instanceof PermanentSourceError) throw ApplicationFailure.nonRetryable(error.message, error.name);
    throw error;
  }

  const previous = context.info.heartbeatDetails as Checkpoint | undefined;
  const resumable = previous !== undefined && existsSync(file) && statSync(file).size >= previous.scratchBytes;
  const state: Checkpoint = resumable
    ? previous
    : {
        lastKey: '',
        scratchBytes: 0,
        selectedLines: 0,
        stats: { objects: 0, records: 0, parsed: 0, selected: 0, bytes: 0, malformedRecords: 0 },
        skipped: [],
        skippedCount: 0,
      };
  if (resumable) truncateSync(file, state.scratchBytes);
  else {
    writeFileSync(file, '');
    for (const item of listing.skipped) skip(item);
  }

  function skip(item: SkippedItem): void {
    state.skippedCount++;
    if (state.skipped.length < SKIPPED_KEPT) state.skipped.push(item);
  }

  for (const object of listing.objects) {
    if (resumable && object.key <= state.lastKey) continue;
    if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason ?? new Error('cancelled');
    const lines: string[] = [];
    const malformed: string[] = [];
    try {
      const counts = await readLogFile(await object.open(), needles, {
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
      if (lines.length) {
        const text = `${lines.join('\n')}\n`;
        appendFileSync(file, text);
        state.scratchBytes += Buffer.byteLength(text);
        state.selectedLines += lines.length;
        state.stats.selected += lines.length;
      }
      state.stats.malformedRecords += malformed.length;
      for (const reason of malformed) skip({ source: sourceName, key: object.key, reason: `malformed record: ${reason}` });
    } catch (error) {
      if (!isCorruptObjectError(error)) throw error;
      skip({ source: sourceName, key: object.key, reason: (error as Error).message });
    }
    state.lastKey = object.key;
    context.heartbeat(state);
  }

  return {
    partitionId: input.partition.id,
    label: sourceName,
    selected: blobFromFile(file, state.selectedLines),
    stats: state.stats,
    skipped: state.skipped,
    skippedCount: state.skippedCount,
    resumedFromCheckpoint: resumable,
  };
}
