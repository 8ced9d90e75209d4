/**
 * Inputs and results that cross the workflow/activity boundary. Types only: workflow code imports
 * this file, so it must not import anything that runs.
 */
import type { ScanConfig } from '../config/load';
import type { Source } from '../config/schema';
import type { StoreLocation } from '../store/blob-store';
import type { ScanPeriod } from '../rules/types';
import type { SkippedItem } from '../sources/log-object';
import type { LookupPartition } from '../sources/lookup-events';
import type { S3TrailPartition } from '../sources/s3';

/**
 * JSON lines carried in the payload. A large one is offloaded by the data converter's External
 * Storage (payloadStorage), so histories hold a claim, never a path.
 */
export interface LinesBlob {
  lines: number;
  inline?: string;
  /** when larger than a few KB: the object in the scan's blob store (scans/<scan id>/) that holds the lines */
  key?: string;
}

/** Where a scan keeps its intermediate lines: beside its findings (src/store/blob-store.ts: scanBlobStore). */
export interface ScanStore {
  findingsStore?: StoreLocation;
  findingsDirectory: string;
}

export interface DailyScanInput {
  /** UTC day, YYYY-MM-DD */
  date: string;
  config: ScanConfig;
  /** set the custom search attributes (only when the namespace has them registered) */
  indexed?: boolean;
}

/**
 * One piece of a scan's plan, compact: a directory source, or one account of an S3 trail or a LookupEvents
 * source with its regions (one partition each). An organisation of 500 accounts in 17 regions is 500
 * groups, not 8,500 partitions; the workflows expand them (src/workflows/partitions.ts).
 */
export interface PlanGroup {
  sourceIndex: number;
  directory?: true;
  s3?: { base: string; accountId: string; regions: string[] };
  lookup?: { accountId: string; roleArn?: string; externalId?: string; regions: string[] };
}

interface PartitionBase {
  id: string;
  sourceIndex: number;
  label: string;
}

/** A directory source's one partition. */
export interface DirectoryPartitionSpec extends PartitionBase {
  kind: 'directory';
  s3?: undefined;
  lookup?: undefined;
}

/** One account and region of an S3 trail. */
export interface S3PartitionSpec extends PartitionBase {
  kind: 's3';
  s3: S3TrailPartition;
  lookup?: undefined;
}

/** One account and region of a LookupEvents source. */
export interface LookupPartitionSpec extends PartitionBase {
  kind: 'lookup';
  lookup: LookupPartition;
  s3?: undefined;
}

/** One partition of a scan, read by one activity: its `kind` says which and what it carries. */
export type PartitionSpec = DirectoryPartitionSpec | S3PartitionSpec | LookupPartitionSpec;

/**
 * A partition as a payload may hold it: those recorded before `kind` existed have none, and their
 * `s3` or `lookup` field (or neither) says what they are. src/workflows/partitions.ts: partitionSpec.
 */
export type RecordedPartitionSpec = PartitionSpec | (PartitionBase & { kind?: undefined; s3?: S3TrailPartition; lookup?: LookupPartition });

export interface ScanPartitionInput {
  scanId: string;
  /** kind: absent in runs started before it existed */
  partition: RecordedPartitionSpec;
  source: Source;
  rules: Record<string, unknown>;
  period: ScanPeriod;
  /** absent in runs started before it existed: the lines then travel inline */
  store?: ScanStore;
}

export interface PartitionStats {
  objects: number;
  records: number;
  parsed: number;
  selected: number;
  bytes: number;
  malformedRecords: number;
  /** LookupEvents partitions: API requests, pages, and attempts retried after throttling or server errors */
  requests?: number;
  pages?: number;
  retriedAttempts?: number;
}

export interface PartitionResult {
  partitionId: string;
  label: string;
  selected: LinesBlob;
  stats: PartitionStats;
  /** the first skipped objects and records, with reasons; skippedCount has them all */
  skipped: SkippedItem[];
  skippedCount: number;
  resumedFromCheckpoint: boolean;
}

/** A child workflow's share of a scan: consecutive plan groups, their partitions numbered from firstPartition. */
export interface PartitionBatchInput {
  scanId: string;
  batch: number;
  sources: Source[];
  rules: Record<string, unknown>;
  period: ScanPeriod;
  groups: PlanGroup[];
  /** the groups' slice of a stored plan (groups is then empty), read by the batch itself */
  slice?: BatchPlan['slice'];
  firstPartition: number;
  /** partitions in flight at once in this batch */
  concurrency: number;
  store?: ScanStore;
}

/** What a batch gives back: totals, never a list per partition. */
export interface PartitionBatchResult {
  partitions: number;
  /** per source index: the batch's totals */
  sources: Record<number, PartitionStats & { partitions: number }>;
  failedPartitions: FailedPartition[];
  /** the first skipped objects and records, with reasons; skippedCount has them all */
  skipped: SkippedItem[];
  skippedCount: number;
  /** the batch's record lines, its partitions' in plan order */
  selected: LinesBlob;
}

/**
 * A scan's plan as planScan gives it: each group's partition count, in plan order (batches are cut from
 * the counts), and the groups themselves as JSON lines, inline when small, else in the scan's blob store:
 * a large organisation's plan never rides in one payload.
 */
export interface ScanPlan {
  counts: number[];
  groups: LinesBlob;
}

/** Where planScan keeps a large plan: the scan's blob store. */
export interface PlanScanInput {
  config: DailyScanInput['config'];
  scanId: string;
  store: ScanStore;
}

/** A batch's consecutive groups of a stored plan, for planGroups to read. */
export interface PlanSlice {
  scanId: string;
  store: ScanStore;
  groups: LinesBlob;
  firstGroup: number;
  groupCount: number;
}

/** A batch of a scan's plan: consecutive groups (or where to read them), their partitions numbered from firstPartition. */
export interface BatchPlan {
  /** the groups, when the plan travels inline */
  groups: PlanGroup[];
  /** else the slice of the stored plan that holds them */
  slice?: { firstGroup: number; groupCount: number; groups: LinesBlob };
  firstPartition: number;
  partitions: number;
}

/** A shard of a large scan: consecutive batches, run as children of one ScanShardWorkflow. */
export interface ShardInput {
  scanId: string;
  date: string;
  sources: Source[];
  rules: Record<string, unknown>;
  period: ScanPeriod;
  batches: BatchPlan[];
  /** the first batch's index in the scan, for unique child ids */
  firstBatch: number;
  maxConcurrentPartitions: number;
  store?: ScanStore;
}

export interface GatherInput {
  scanId: string;
  name: string;
  blobs: LinesBlob[];
  store?: ScanStore;
}

export interface CorrelateInput {
  store?: ScanStore;
  scanId: string;
  period: ScanPeriod;
  rules: Record<string, unknown>;
  selected: LinesBlob[];
}

export interface CorrelateResult {
  findings: LinesBlob;
  findingsByRule: Record<string, number>;
  /** ids of this scan's findings, sorted (omitted above MAX_LISTED_FINDING_IDS) */
  findingIds?: string[];
  selectedEvents: number;
  duplicateEvents: number;
}

export const MAX_LISTED_FINDING_IDS = 10_000;

export interface StoreFindingsInput {
  date: string;
  directory: string;
  /** where findings are (absent in runs started before it existed: then `directory`) */
  store?: StoreLocation;
  findings: LinesBlob;
}

export interface StoreFindingsResult {
  file: string;
  stored: number;
  added: number;
  updated: number;
}

export interface FailedPartition {
  label: string;
  error: string;
}

export interface SourceStats extends PartitionStats {
  source: string;
  partitions: number;
}

export interface ScanSummary {
  date: string;
  period: { start: string; end: string };
  partitions: number;
  failedPartitions: FailedPartition[];
  /** counts per configured source */
  sources: SourceStats[];
  objects: number;
  records: number;
  parsedRecords: number;
  bytes: number;
  selectedEvents: number;
  duplicateEvents: number;
  skipped: SkippedItem[];
  skippedCount: number;
  findings: number;
  findingsByRule: Record<string, number>;
  findingIds?: string[];
  store: StoreFindingsResult;
  /** findings handed to incidents: incidents signalled, findings new to them, findings routed by an earlier run */
  incidents?: { incidents: number; newFindings: number; alreadyRouted: number };
}
