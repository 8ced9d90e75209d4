import type { ActivityOptions, RetryPolicy } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeChild, proxyActivities, sleep } from '@temporalio/workflow';
import type * as activities from '../activities';
import type {
  BatchPlan,
  PlanGroup,
  FailedPartition,
  PartitionBatchInput,
  PartitionBatchResult,
  PartitionResult,
  PartitionSpec,
  ScanPartitionInput,
  ScanPlan,
  ShardInput,
} from '../activities/types';
import { PERMANENT_SOURCE_ERROR, failureMessage } from '../common/failure';
import { inLanes } from '../common/lanes';
import { addStats, partitionCount, partitionSpec, partitionsOf } from './partitions';

const retry: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 };
const { gatherSelected, planGroups } = proxyActivities<typeof activities>({ startToCloseTimeout: '2 minutes', retry });

/** A partition's scan: long, heartbeating, retried through a source's transient faults (and the scan before batches' LookupEvents too). */
export const PARTITION_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 30,
    nonRetryableErrorTypes: [PERMANENT_SOURCE_ERROR],
  },
};

const { scanPartition } = proxyActivities<typeof activities>(PARTITION_ACTIVITY);

const { lookupEventsPartition } = proxyActivities<typeof activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 60,
    nonRetryableErrorTypes: [PERMANENT_SOURCE_ERROR],
  },
});

/** How long a LookupEvents partition waits for another scan's lookup of the same account and region. */
const LOCK_WAIT = '5 seconds';
const LOCK_WAITS = 1440;

/**
 * One LookupEvents partition, as a workflow whose id names its account and region: at most one runs at a
 * time across every scan and worker, so the 2 requests/s budget of an account and region holds however
 * many workers and overlapping scans there are (each worker's limiter spaces that one activity's requests).
 */
export async function LookupEventsPartitionWorkflow(input: ScanPartitionInput): Promise<PartitionResult> {
  return lookupEventsPartition(input);
}

export async function lookupLocked(input: ScanPartitionInput): Promise<PartitionResult> {
  const { accountId, region } = partitionSpec(input.partition).lookup!;
  for (let waited = 0; ; waited++) {
    try {
      return await executeChild<typeof LookupEventsPartitionWorkflow>('LookupEventsPartitionWorkflow', {
        workflowId: `lookup-events-${accountId}-${region}`,
        args: [input],
        staticSummary: `LookupEvents ${accountId}/${region} for ${input.scanId}`,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError) || waited >= LOCK_WAITS) throw error;
      await sleep(LOCK_WAIT);
    }
  }
}

/**
 * A scan's share of partitions, run as a child workflow so that no history grows with the organisation:
 * its partitions with at most `concurrency` in flight, then their record lines gathered into one blob.
 * Returns totals per source, never a list per partition.
 */
export async function ScanBatchWorkflow(input: PartitionBatchInput): Promise<PartitionBatchResult> {
  // a batch of a large plan reads its own groups from the scan's store (none of them is in its input)
  const groups = input.slice && input.store ? await planGroups({ scanId: input.scanId, store: input.store, ...input.slice }) : input.groups;
  const partitions = partitionsOf(groups, input.sources, input.firstPartition);
  const result: PartitionBatchResult = {
    partitions: partitions.length,
    sources: {},
    failedPartitions: [],
    skipped: [],
    skippedCount: 0,
    selected: { lines: 0, inline: '' },
  };
  const failed: FailedPartition[] = [];
  const scanned = await inLanes(partitions, input.concurrency, async (partition: PartitionSpec) => {
    const scan: ScanPartitionInput = {
      scanId: input.scanId,
      partition,
      source: input.sources[partition.sourceIndex],
      rules: input.rules,
      period: input.period,
      store: input.store,
    };
    try {
      return await (partition.kind === 'lookup' ? lookupLocked(scan) : scanPartition(scan));
    } catch (error) {
      failed.push({ label: partition.label, error: failureMessage(error) });
      return undefined;
    }
  });
  for (const [index, partition] of partitions.entries()) {
    const totals = (result.sources[partition.sourceIndex] ??= { partitions: 0, objects: 0, records: 0, parsed: 0, selected: 0, bytes: 0, malformedRecords: 0 });
    totals.partitions++;
    const scan = scanned[index];
    if (!scan) continue;
    addStats(totals, scan.stats);
    result.skipped.push(...scan.skipped.slice(0, Math.max(0, 50 - result.skipped.length)));
    result.skippedCount += scan.skippedCount;
  }
  // in plan order, as the scan's dedup wants them (failures arrive in completion order)
  const order = new Map(partitions.map((p, i) => [p.label, i]));
  result.failedPartitions = failed.sort((a, b) => (order.get(a.label) ?? 0) - (order.get(b.label) ?? 0));
  const blobs = scanned.filter((scan): scan is PartitionResult => scan !== undefined).map((scan) => scan.selected);
  result.selected = await gatherSelected({ scanId: input.scanId, name: `batch-${input.batch}`, blobs, store: input.store });
  return result;
}

/** Partitions per ScanBatchWorkflow: each batch's history stays a few hundred events, whatever the plan. */
export const PARTITIONS_PER_BATCH = 64;
/** Batches per ScanShardWorkflow, when a scan has more: the scan's own history stays small too. */
export const BATCHES_PER_SHARD = 32;

/** Consecutive plan groups cut into batches of at most PARTITIONS_PER_BATCH partitions (a bigger group alone). */
export function batchesOf(groups: readonly PlanGroup[]): BatchPlan[] {
  const batches: BatchPlan[] = [];
  let first = 0;
  for (const group of groups) {
    const count = partitionCount(group);
    const last = batches[batches.length - 1];
    if (last && last.partitions + count <= PARTITIONS_PER_BATCH) {
      last.groups.push(group);
      last.partitions += count;
    } else {
      batches.push({ groups: [group], firstPartition: first, partitions: count });
    }
    first += count;
  }
  return batches;
}

/**
 * planScan's plan cut into batches as batchesOf cuts groups: by the groups' counts; each batch carries its
 * groups when the plan is inline, else the slice of the stored plan it reads them from.
 */
export function batchesOfPlan(plan: ScanPlan): BatchPlan[] {
  const inline =
    plan.groups.key === undefined
      ? (plan.groups.inline ?? '')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as PlanGroup)
      : undefined;
  const batches: (BatchPlan & { firstGroup: number; groupCount: number })[] = [];
  let first = 0;
  for (const [index, count] of plan.counts.entries()) {
    const last = batches[batches.length - 1];
    if (last && last.partitions + count <= PARTITIONS_PER_BATCH) {
      last.partitions += count;
      last.groupCount++;
    } else {
      batches.push({ groups: [], firstPartition: first, partitions: count, firstGroup: index, groupCount: 1 });
    }
    first += count;
  }
  return batches.map(({ firstGroup, groupCount, ...batch }) =>
    inline ? { ...batch, groups: inline.slice(firstGroup, firstGroup + groupCount) } : { ...batch, slice: { firstGroup, groupCount, groups: plan.groups } },
  );
}

export interface BatchRun {
  scanId: string;
  date: string;
  sources: ShardInput['sources'];
  rules: Record<string, unknown>;
  period: ShardInput['period'];
  maxConcurrentPartitions: number;
  store?: ShardInput['store'];
}

/**
 * Runs batches as ScanBatchWorkflow children, maxConcurrentPartitions / PARTITIONS_PER_BATCH at a time;
 * `onDone` sees each as it ends. A batch that fails as a whole is one failed entry for its partitions.
 */
export async function runBatches(
  run: BatchRun,
  batches: readonly BatchPlan[],
  firstBatch: number,
  onDone: (batch: BatchPlan, result: PartitionBatchResult | undefined) => void = () => undefined,
): Promise<{ scanned: PartitionBatchResult[]; failedPartitions: FailedPartition[] }> {
  const failedPartitions: FailedPartition[] = [];
  const lanes = Math.max(1, Math.floor(run.maxConcurrentPartitions / PARTITIONS_PER_BATCH));
  const results = await inLanes(batches, lanes, async (batch, index) => {
    let result: PartitionBatchResult | undefined;
    try {
      result = await executeChild<typeof ScanBatchWorkflow>('ScanBatchWorkflow', {
        workflowId: `${run.scanId}-batch-${firstBatch + index}`,
        args: [
          {
            scanId: run.scanId,
            batch: firstBatch + index,
            sources: run.sources,
            rules: run.rules,
            period: run.period,
            groups: batch.groups,
            ...(batch.slice ? { slice: batch.slice } : {}),
            firstPartition: batch.firstPartition,
            concurrency: Math.min(PARTITIONS_PER_BATCH, run.maxConcurrentPartitions),
            store: run.store,
          },
        ],
        staticSummary: `Partitions ${batch.firstPartition + 1}-${batch.firstPartition + batch.partitions} of ${run.date}`,
      });
      failedPartitions.push(...result.failedPartitions);
    } catch (error) {
      failedPartitions.push({ label: `partitions ${batch.firstPartition + 1}-${batch.firstPartition + batch.partitions}`, error: failureMessage(error) });
    }
    onDone(batch, result);
    return result;
  });
  return { scanned: results.filter((result): result is PartitionBatchResult => result !== undefined), failedPartitions };
}

/** Batches' results as one: totals summed, failures and skipped items kept in order, lines gathered into one blob. */
export async function mergeBatches(
  run: Pick<BatchRun, 'scanId' | 'store'>,
  name: string,
  scanned: readonly PartitionBatchResult[],
  failedPartitions: FailedPartition[],
): Promise<PartitionBatchResult> {
  const merged: PartitionBatchResult = { partitions: 0, sources: {}, failedPartitions, skipped: [], skippedCount: 0, selected: { lines: 0, inline: '' } };
  for (const result of scanned) {
    merged.partitions += result.partitions;
    for (const [index, totals] of Object.entries(result.sources)) {
      const sum = (merged.sources[Number(index)] ??= { partitions: 0, objects: 0, records: 0, parsed: 0, selected: 0, bytes: 0, malformedRecords: 0 });
      addStats(sum, totals);
    }
    merged.skipped.push(...result.skipped.slice(0, Math.max(0, 50 - merged.skipped.length)));
    merged.skippedCount += result.skippedCount;
  }
  merged.selected = await gatherSelected({ scanId: run.scanId, name, blobs: scanned.map((result) => result.selected), store: run.store });
  return merged;
}

/**
 * A shard of a scan of more than BATCHES_PER_SHARD batches (an organisation of thousands of partitions):
 * its batches as children, their results merged into one, so the scan itself sees a few shards.
 */
export async function ScanShardWorkflow(input: ShardInput): Promise<PartitionBatchResult> {
  const { scanned, failedPartitions } = await runBatches(input, input.batches, input.firstBatch);
  return mergeBatches(input, `shard-${input.firstBatch}`, scanned, failedPartitions);
}
