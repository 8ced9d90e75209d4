import type { RetryPolicy } from '@temporalio/common';
import {
  ApplicationFailure,
  defineQuery,
  executeChild,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import type {
  BatchPlan,
  DailyScanInput,
  FailedPartition,
  PartitionBatchResult,
  RecordedPartitionSpec,
  ScanStore,
  ScanSummary,
  SourceStats,
} from '../activities/types';
import type { Source } from '../config/schema';
import { DAY_MS } from '../common/days';
import { failureMessage } from '../common/failure';
import { inLanes } from '../common/lanes';
import { addStats, partitionSpec } from './partitions';
import { BATCHES_PER_SHARD, PARTITION_ACTIVITY, type ScanShardWorkflow, batchesOf, batchesOfPlan, runBatches } from './scan-batch';
import { FindingCount, RuleIds, keywordList, ScanDate, ScanStatus, SkippedObjects, Sources } from './search-attributes';

// Short activities get short timeouts: a worker that dies in one of them is only noticed when it times out.
const retry: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 };
// planning heartbeats: a killed worker's plan is retried after 30 s, not after its 5-minute timeout
const { planPartitions, planScan } = proxyActivities<typeof activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds', retry });
const { correlate, storeFindings, cleanupScratch, findingsTable } = proxyActivities<typeof activities>({ startToCloseTimeout: '2 minutes', retry });
const { routeFindings } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '1 minute', retry });

export interface ScanProgress {
  phase: 'planning' | 'scanning' | 'correlating' | 'storing' | 'routing' | 'done';
  partitions: number;
  partitionsDone: number;
  objects: number;
  records: number;
}

export const progressQuery = defineQuery<ScanProgress>('progress');

export function scanPeriod(date: string): { startMs: number; endMs: number } {
  const startMs = Date.parse(`${date}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(startMs)) {
    throw ApplicationFailure.nonRetryable(`invalid scan date "${date}" (expected YYYY-MM-DD)`, 'InvalidInput');
  }
  return { startMs, endMs: startMs + DAY_MS };
}

function sourceName(source: Source): string {
  if (source.type === 's3') return `s3://${source.bucket}/${source.prefix}`;
  if (source.type === 'directory') return `directory ${source.path}`;
  return `lookupEvents ${source.regions?.join(',') ?? 'all enabled regions'}`;
}

function statsBySource(sources: Source[], batches: PartitionBatchResult[]): SourceStats[] {
  const bySource = sources.map((source): SourceStats => ({
    source: sourceName(source),
    partitions: 0,
    objects: 0,
    records: 0,
    parsed: 0,
    selected: 0,
    bytes: 0,
    malformedRecords: 0,
  }));
  for (const batch of batches) {
    for (const [index, totals] of Object.entries(batch.sources)) {
      const total = bySource[Number(index)];
      addStats(total, totals);
    }
  }
  return bySource;
}

/**
 * Scans one UTC day: plan partitions, scan them in batches of child workflows (ScanBatchWorkflow) whose
 * activities return only the rule-selected events, correlate them once, store the findings.
 * Workflow id: scan-<date>.
 */
export async function DailyScanWorkflow(input: DailyScanInput): Promise<ScanSummary> {
  const period = scanPeriod(input.date);
  const progress: ScanProgress = { phase: 'planning', partitions: 0, partitionsDone: 0, objects: 0, records: 0 };
  setHandler(progressQuery, () => progress);
  if (input.indexed) {
    upsertSearchAttributes([
      { key: ScanDate, value: new Date(period.startMs) },
      { key: RuleIds, value: keywordList(Object.keys(input.config.rules)) },
      { key: Sources, value: [...new Set(input.config.sources.map((s) => s.type))].sort() },
      { key: ScanStatus, value: 'Running' },
    ]);
  }
  try {
    const { summary, table } = await scanDay(input, period, progress);
    const status = summary.failedPartitions.length ? 'Partial' : 'Completed';
    if (input.indexed) {
      upsertSearchAttributes([
        { key: ScanStatus, value: status },
        { key: FindingCount, value: summary.findings },
        { key: SkippedObjects, value: summary.skippedCount },
      ]);
    }
    upsertMemo({
      summary: {
        status,
        findings: summary.findings,
        findingsByRule: summary.findingsByRule,
        objects: summary.objects,
        records: summary.records,
        skipped: summary.skippedCount,
        failedPartitions: summary.failedPartitions.length,
      },
    });
    setCurrentDetails(
      `**${status}**: ${summary.findings} finding(s) from ${summary.records} record(s) in ${summary.objects} object(s); ` +
        `${summary.skippedCount} skipped, ${summary.failedPartitions.length} failed partition(s)` +
        (summary.failedPartitions.length ? `\n\n${summary.failedPartitions.map((f) => `- failed: ${f.label}: ${f.error}`).join('\n')}` : '') +
        (table ? `\n\n${table}` : ''),
    );
    return summary;
  } catch (error) {
    if (input.indexed) upsertSearchAttributes([{ key: ScanStatus, value: 'Failed' }]);
    throw error;
  }
}

/** Scans started before batches scanned their partitions as activities of their own (scanBeforeBatches). */
const SCAN_IN_BATCHES = 'scan-in-batches';
/** Scans started before it got their plan's groups in one activity result (planPartitions), not from planScan. */
const PLAN_IN_STORE = 'plan-in-store';

const { scanPartition, lookupEventsPartition } = proxyActivities<typeof activities>(PARTITION_ACTIVITY);

/**
 * The scan as it ran before batches, kept so that scans started by an earlier version replay (remove once
 * none is open): its plan was a list of partitions, each an activity of this workflow, and correlate read
 * every partition's blob.
 */
async function scanBeforeBatches(
  scanId: string,
  input: DailyScanInput,
  period: { startMs: number; endMs: number },
  partitions: RecordedPartitionSpec[],
  progress: ScanProgress,
): Promise<{ scanned: PartitionBatchResult[]; failedPartitions: FailedPartition[] }> {
  progress.phase = 'scanning';
  progress.partitions = partitions.length;
  const failedPartitions: FailedPartition[] = [];
  const inPlanOrder = await Promise.all(
    partitions.map(async (partition) => {
      try {
        const read = partitionSpec(partition).kind === 'lookup' ? lookupEventsPartition : scanPartition;
        return await read({ scanId, partition, source: input.config.sources[partition.sourceIndex], rules: input.config.rules, period });
      } catch (error) {
        failedPartitions.push({ label: partition.label, error: failureMessage(error) });
        return undefined;
      } finally {
        progress.partitionsDone++;
      }
    }),
  );
  const scanned = inPlanOrder.flatMap((result, index): PartitionBatchResult[] => {
    if (!result) return [];
    const { sourceIndex } = partitions[index];
    return [
      {
        partitions: 1,
        sources: { [sourceIndex]: { partitions: 1, ...result.stats } },
        failedPartitions: [],
        skipped: result.skipped,
        skippedCount: result.skippedCount,
        selected: result.selected,
      },
    ];
  });
  return { scanned, failedPartitions };
}

const DEFAULT_MAX_CONCURRENT_PARTITIONS = 128;

/** Where the scan's partitions keep their lines for the batches and correlate to read: beside its findings. */
function scanStoreOf(input: DailyScanInput): ScanStore {
  return { findingsStore: input.config.findingsStore, findingsDirectory: input.config.findingsDirectory };
}

async function scanDay(input: DailyScanInput, period: { startMs: number; endMs: number }, progress: ScanProgress): Promise<ScannedDay> {
  const { workflowId, runId } = workflowInfo();
  const scanId = `${workflowId}-${runId}`;
  let batches: BatchPlan[];
  if (patched(PLAN_IN_STORE)) batches = batchesOfPlan(await planScan({ config: input.config, scanId, store: scanStoreOf(input) }));
  else {
    const groups = await planPartitions(input.config);
    if (!patched(SCAN_IN_BATCHES))
      return finishScan(
        input,
        period,
        progress,
        await scanBeforeBatches(scanId, input, period, groups as unknown as RecordedPartitionSpec[], progress),
        groups.length,
      );
    batches = batchesOf(groups);
  }
  const partitions = batches.reduce((n, batch) => n + batch.partitions, 0);
  progress.phase = 'scanning';
  progress.partitions = partitions;
  setCurrentDetails(`scanning ${partitions} partition(s)`);

  // at most maxConcurrentPartitions partitions in flight: whole batches, each with its share
  const run = {
    scanId,
    date: input.date,
    sources: input.config.sources,
    rules: input.config.rules,
    period,
    maxConcurrentPartitions: input.config.maxConcurrentPartitions ?? DEFAULT_MAX_CONCURRENT_PARTITIONS,
    store: scanStoreOf(input),
  };
  const done = (counted: number, result: PartitionBatchResult | undefined) => {
    for (const totals of Object.values(result?.sources ?? {})) {
      progress.objects += totals.objects;
      progress.records += totals.records;
    }
    progress.partitionsDone += counted;
    setCurrentDetails(`scanned ${progress.partitionsDone} of ${partitions} partition(s), ${progress.objects} object(s)`);
  };
  let scanned: PartitionBatchResult[];
  let failedPartitions: FailedPartition[];
  if (batches.length <= BATCHES_PER_SHARD) {
    ({ scanned, failedPartitions } = await runBatches(run, batches, 0, (batch, result) => done(batch.partitions, result)));
  } else {
    // a large organisation: shards of batches, one at a time (each runs its batches' lanes)
    const shards = Array.from({ length: Math.ceil(batches.length / BATCHES_PER_SHARD) }, (_, i) => i * BATCHES_PER_SHARD);
    failedPartitions = [];
    const results = await inLanes(shards, 1, async (firstBatch) => {
      const shardBatches = batches.slice(firstBatch, firstBatch + BATCHES_PER_SHARD);
      const count = shardBatches.reduce((n, batch) => n + batch.partitions, 0);
      try {
        const result = await executeChild<typeof ScanShardWorkflow>('ScanShardWorkflow', {
          workflowId: `${scanId}-shard-${firstBatch}`,
          args: [{ ...run, batches: shardBatches, firstBatch }],
          staticSummary: `Batches ${firstBatch + 1}-${firstBatch + shardBatches.length} of ${input.date}`,
        });
        failedPartitions.push(...result.failedPartitions);
        done(count, result);
        return result;
      } catch (error) {
        failedPartitions.push({
          label: `partitions ${shardBatches[0].firstPartition + 1}-${shardBatches[0].firstPartition + count}`,
          error: failureMessage(error),
        });
        done(count, undefined);
        return undefined;
      }
    });
    scanned = results.filter((result): result is PartitionBatchResult => result !== undefined);
  }
  return finishScan(input, period, progress, { scanned, failedPartitions }, partitions);
}

/** A scanned day: its summary, and its findings as a Markdown table for the run's details. */
interface ScannedDay {
  summary: ScanSummary;
  table: string;
}

/** Correlates, stores and routes what the partitions selected, and sums up the scan. */
async function finishScan(
  input: DailyScanInput,
  period: { startMs: number; endMs: number },
  progress: ScanProgress,
  { scanned, failedPartitions }: { scanned: PartitionBatchResult[]; failedPartitions: FailedPartition[] },
  partitions: number,
): Promise<ScannedDay> {
  const { workflowId, runId } = workflowInfo();
  const scanId = `${workflowId}-${runId}`;
  progress.phase = 'correlating';
  const correlated = await correlate({
    store: scanStoreOf(input),
    scanId,
    period,
    rules: input.config.rules,
    selected: scanned.map((r) => r.selected),
  });
  progress.phase = 'storing';
  const store = await storeFindings({
    date: input.date,
    directory: input.config.findingsDirectory,
    store: input.config.findingsStore,
    findings: correlated.findings,
  });
  // the run's details in the Web UI show its findings (runs recorded before this have no table)
  const table = correlated.findings.lines > 0 && patched('findings-table') ? await findingsTable({ findings: correlated.findings }) : '';
  let incidents: ScanSummary['incidents'];
  if (input.config.incidents?.enabled && correlated.findings.lines > 0) {
    progress.phase = 'routing';
    const routed = await routeFindings({
      date: input.date,
      findingsDirectory: input.config.findingsDirectory,
      store: input.config.findingsStore,
      findings: correlated.findings,
      rules: input.config.rules,
      incidents: input.config.incidents,
      scan: { workflowId, runId },
      indexed: input.indexed,
    });
    incidents = { incidents: routed.incidents.length, newFindings: routed.routed, alreadyRouted: routed.alreadyRouted };
  }
  await cleanupScratch(scanId, scanStoreOf(input));
  progress.phase = 'done';

  const sources = statsBySource(input.config.sources, scanned);
  const sum = (key: 'objects' | 'records' | 'parsed' | 'bytes') => sources.reduce((total, source) => total + source[key], 0);
  const summary: ScanSummary = {
    date: input.date,
    period: { start: new Date(period.startMs).toISOString(), end: new Date(period.endMs).toISOString() },
    partitions,
    failedPartitions,
    sources,
    objects: sum('objects'),
    records: sum('records'),
    parsedRecords: sum('parsed'),
    bytes: sum('bytes'),
    selectedEvents: correlated.selectedEvents,
    duplicateEvents: correlated.duplicateEvents,
    skipped: scanned.flatMap((r) => r.skipped).slice(0, 50),
    skippedCount: scanned.reduce((total, r) => total + r.skippedCount, 0),
    findings: correlated.findings.lines,
    findingsByRule: correlated.findingsByRule,
    findingIds: correlated.findingIds,
    store,
    incidents,
  };
  return { summary, table };
}
