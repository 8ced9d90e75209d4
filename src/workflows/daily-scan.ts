import type { RetryPolicy } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';
import type { DailyScanInput, FailedPartition, PartitionResult, PartitionSpec, ScanSummary, SourceStats } from '../activities/types';
import type { Source } from '../config/schema';
import { FindingCount, RuleIds, ScanDate, ScanStatus, SkippedObjects, Sources } from './search-attributes';

const DAY_MS = 86_400_000;

// Short activities get short timeouts: a worker that dies in one of them is only noticed when it times out.
const retry: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 };
// planning heartbeats: a killed worker's plan is retried after 30 s, not after its 5-minute timeout
const { planPartitions } = proxyActivities<typeof activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds', retry });
const { correlate, storeFindings, cleanupScratch } = proxyActivities<typeof activities>({ startToCloseTimeout: '2 minutes', retry });
const { routeFindings } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '1 minute', retry });

const { scanPartition } = proxyActivities<typeof activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 30,
    nonRetryableErrorTypes: ['PermanentSourceError'],
  },
});

const { lookupEventsPartition } = proxyActivities<typeof activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 60,
    nonRetryableErrorTypes: ['PermanentSourceError'],
  },
});

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

function statsBySource(sources: Source[], partitions: PartitionSpec[], results: PartitionResult[]): SourceStats[] {
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
  const indexOf = new Map(partitions.map((p) => [p.id, p.sourceIndex]));
  for (const partition of partitions) bySource[partition.sourceIndex].partitions++;
  for (const result of results) {
    const total = bySource[indexOf.get(result.partitionId) ?? 0];
    for (const [key, value] of Object.entries(result.stats) as [keyof typeof result.stats, number | undefined][]) {
      if (value !== undefined) total[key] = (total[key] ?? 0) + value;
    }
  }
  return bySource;
}

function failureMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Scans one UTC day: plan partitions, scan them in parallel activities that return only the
 * rule-selected events, correlate them once, store the findings. Workflow id: scan-<date>.
 */
export async function DailyScanWorkflow(input: DailyScanInput): Promise<ScanSummary> {
  const period = scanPeriod(input.date);
  const progress: ScanProgress = { phase: 'planning', partitions: 0, partitionsDone: 0, objects: 0, records: 0 };
  setHandler(progressQuery, () => progress);
  if (input.indexed) {
    upsertSearchAttributes([
      { key: ScanDate, value: new Date(period.startMs) },
      { key: RuleIds, value: Object.keys(input.config.rules).sort() },
      { key: Sources, value: [...new Set(input.config.sources.map((s) => s.type))].sort() },
      { key: ScanStatus, value: 'Running' },
    ]);
  }
  try {
    const summary = await scanDay(input, period, progress);
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
        `${summary.skippedCount} skipped, ${summary.failedPartitions.length} failed partition(s)`,
    );
    return summary;
  } catch (error) {
    if (input.indexed) upsertSearchAttributes([{ key: ScanStatus, value: 'Failed' }]);
    throw error;
  }
}

async function scanDay(input: DailyScanInput, period: { startMs: number; endMs: number }, progress: ScanProgress): Promise<ScanSummary> {
  const { workflowId, runId } = workflowInfo();
  const scanId = `${workflowId}-${runId}`;
  const partitions = await planPartitions(input.config);
  progress.phase = 'scanning';
  progress.partitions = partitions.length;
  setCurrentDetails(`scanning ${partitions.length} partition(s)`);

  const failedPartitions: FailedPartition[] = [];
  // in plan order (source order, then key order): dedup keeps the first copy of an eventID
  const inPlanOrder: (PartitionResult | undefined)[] = partitions.map(() => undefined);
  await Promise.all(
    partitions.map(async (partition, index) => {
      try {
        const read = partition.lookup ? lookupEventsPartition : scanPartition;
        const result = await read({
          scanId,
          partition,
          source: input.config.sources[partition.sourceIndex],
          rules: input.config.rules,
          period,
        });
        inPlanOrder[index] = result;
        progress.objects += result.stats.objects;
        progress.records += result.stats.records;
      } catch (error) {
        failedPartitions.push({ label: partition.label, error: failureMessage(error) });
      } finally {
        progress.partitionsDone++;
        setCurrentDetails(`scanned ${progress.partitionsDone} of ${partitions.length} partition(s), ${progress.objects} object(s)`);
      }
    }),
  );
  const results = inPlanOrder.filter((result): result is PartitionResult => result !== undefined);

  progress.phase = 'correlating';
  const correlated = await correlate({
    scanId,
    period,
    rules: input.config.rules,
    selected: results.map((r) => r.selected),
  });
  progress.phase = 'storing';
  const store = await storeFindings({
    date: input.date,
    directory: input.config.findingsDirectory,
    store: input.config.findingsStore,
    findings: correlated.findings,
  });
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
  await cleanupScratch(scanId);
  progress.phase = 'done';

  const sum = (pick: (r: PartitionResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  return {
    date: input.date,
    period: { start: new Date(period.startMs).toISOString(), end: new Date(period.endMs).toISOString() },
    partitions: partitions.length,
    failedPartitions,
    sources: statsBySource(input.config.sources, partitions, results),
    objects: sum((r) => r.stats.objects),
    records: sum((r) => r.stats.records),
    parsedRecords: sum((r) => r.stats.parsed),
    bytes: sum((r) => r.stats.bytes),
    selectedEvents: correlated.selectedEvents,
    duplicateEvents: correlated.duplicateEvents,
    skipped: results.flatMap((r) => r.skipped).slice(0, 50),
    skippedCount: sum((r) => r.skippedCount),
    findings: correlated.findings.lines,
    findingsByRule: correlated.findingsByRule,
    findingIds: correlated.findingIds,
    store,
    incidents,
  };
}
