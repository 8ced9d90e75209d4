import { SingleBar } from 'cli-progress';
import type { Client } from '@temporalio/client';
import type { ScanSummary } from '../activities/types';
import type { LoadedConfig, ScanConfig } from '../config/load';
import { UsageError, checkChannelEnvironment } from '../config/load';
import { startDevServer } from '../local/dev-server';
import type { Finding } from '../rules/types';
import { findingsStoreOf } from '../store/findings-store';
import { payloadStorageFor } from '../codec/payload-storage';
import { type DailyScanWorkflow, progressQuery } from '../workflows/daily-scan';
import { type RangeScanResult, type RangeScanWorkflow, rangeProgressQuery, rangeWorkflowId } from '../workflows/range-scan';
import { daysBetween } from '../workflows/scan-days';
import { createWorker } from '../workers/worker';
import { connectClient, type TemporalTarget } from './temporal';
import { searchAttributesRegistered } from './visibility';

export interface ScanOutcome {
  summary: ScanSummary;
  findings: Finding[];
  workflowId: string;
  runId: string;
}

export function scanConfigOf(config: LoadedConfig): ScanConfig {
  if (config.sources.length === 0) {
    throw new UsageError(
      `no sources configured${config.file ? ` in ${config.file}` : ''}: add an s3 or directory source to "sources" ` +
        '(see README), or pass --config FILE',
    );
  }
  checkChannelEnvironment(config.incidents?.channels ?? []);
  return { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory, findingsStore: config.findingsStore, incidents: config.incidents };
}

/** Findings come from the store the config names (never this machine's disk unless it is a folder). */
export function storeOf(config: ScanConfig) {
  return findingsStoreOf(config.findingsStore ?? { directory: config.findingsDirectory });
}

/** Thrown when the CLI is stopped while it waits: the workflow keeps running on the service. */
export class StoppedWaiting extends Error {
  override name = 'StoppedWaiting';
}

/**
 * Waits for `wait()`, or stops at SIGINT/SIGTERM: the calls in flight are cancelled, and the scan keeps
 * running in Temporal (the message says so, with its workflow id) unless this process hosts the server.
 */
async function untilStopped<T>(client: Client, target: TemporalTarget, workflowId: string, wait: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy = signal;
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await client.withAbortSignal(controller.signal, wait);
  } catch (error) {
    if (!stoppedBy) throw error;
    throw new StoppedWaiting(
      target.embedded
        ? `stopped (${stoppedBy}); the embedded Temporal server stops too, so workflow ${workflowId} is abandoned`
        : `stopped waiting (${stoppedBy}); the scan keeps running in Temporal as workflow ${workflowId}`,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Polls `query` every 500 ms while `done` is pending, one query at a time, and waits for the last one
 * before returning, so that no query is still in flight when the caller closes the connection.
 */
async function whilePolling<P, T>(query: () => Promise<P>, onProgress: (progress: P) => void, done: Promise<T>): Promise<T> {
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    inFlight ??= query().then(onProgress, () => undefined).finally(() => (inFlight = undefined));
  }, 500);
  try {
    return await done;
  } finally {
    clearInterval(timer);
    await inFlight;
  }
}

async function showProgress<T>(handle: { query: (q: typeof progressQuery) => Promise<{ partitions: number; partitionsDone: number; objects: number }> }, done: Promise<T>): Promise<T> {
  if (!process.stderr.isTTY) return done;
  const bar = new SingleBar({
    format: 'scanning |{bar}| {value}/{total} partitions | {objects} objects | {duration_formatted}',
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(1, 0, { objects: 0 });
  try {
    return await whilePolling(
      () => handle.query(progressQuery),
      (p) => {
        bar.setTotal(Math.max(1, p.partitions));
        bar.update(p.partitionsDone, { objects: p.objects });
      },
      done,
    );
  } finally {
    bar.stop();
  }
}

/** Starts (or joins, when one is running) the day's scan workflow and waits for its result. */
export async function runDailyScan(client: Client, target: TemporalTarget, date: string, config: ScanConfig): Promise<ScanOutcome> {
  const indexed = await searchAttributesRegistered(client, target.namespace);
  const handle = await client.workflow.start<typeof DailyScanWorkflow>('DailyScanWorkflow', {
    taskQueue: target.taskQueue,
    workflowId: `scan-${date}`,
    args: [{ date, config, indexed }],
    staticSummary: `Daily scan of ${date}`,
    staticDetails: `Sources: ${config.sources.map((s) => s.type).join(', ')}; rules: ${Object.keys(config.rules).join(', ')}`,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  const summary = await untilStopped(client, target, handle.workflowId, () => showProgress(handle, handle.result()));
  const wanted = summary.findingIds ? new Set(summary.findingIds) : undefined;
  const findings = (await storeOf(config).read(date)).filter((f) => !wanted || wanted.has(f.id));
  return { summary, findings, workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
}

export interface RangeOutcome {
  result: RangeScanResult;
  findings: Finding[];
  workflowId: string;
}

/** Shows days done, findings so far, elapsed and remaining time on stderr while a range runs. */
async function showRangeProgress(
  handle: { query: (q: typeof rangeProgressQuery) => Promise<{ daysTotal: number; daysDone: number; findings: number }> },
  total: number,
  done: Promise<RangeScanResult>,
): Promise<RangeScanResult> {
  const bar = new SingleBar({
    format: 'days |{bar}| {value}/{total} | {findings} finding(s) | elapsed {duration_formatted} | remaining {eta_formatted}',
    stream: process.stderr,
    hideCursor: true,
    etaBuffer: 5,
    noTTYOutput: !process.stderr.isTTY,
    notTTYSchedule: 10_000,
  });
  bar.start(total, 0, { findings: 0 });
  try {
    const result = await whilePolling(() => handle.query(rangeProgressQuery), (p) => bar.update(p.daysDone, { findings: p.findings }), done);
    // from the result, not a query: querying a closed workflow replays it, which can take many seconds
    bar.update(result.days.length, { findings: result.findings });
    return result;
  } finally {
    bar.stop();
  }
}

/** Re-runs an inclusive range of days, a bounded number at a time, and returns the stored findings of those days. */
export async function runRangeScan(
  client: Client,
  target: TemporalTarget,
  range: { from: string; to: string; concurrency: number; daysPerRun?: number },
  config: ScanConfig,
): Promise<RangeOutcome> {
  const indexed = await searchAttributesRegistered(client, target.namespace);
  const workflowId = rangeWorkflowId(range.from, range.to);
  const handle = await client.workflow.start<typeof RangeScanWorkflow>('RangeScanWorkflow', {
    taskQueue: target.taskQueue,
    workflowId,
    args: [{ from: range.from, to: range.to, config, concurrency: range.concurrency, indexed, daysPerRun: range.daysPerRun }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: `Re-run of ${range.from} .. ${range.to}`,
  });
  const days = daysBetween(range.from, range.to);
  const result = await untilStopped(client, target, workflowId, () => showRangeProgress(handle, days.length, handle.result()));
  const store = storeOf(config);
  const findings = (await Promise.all(days.map((day) => store.read(day)))).flat();
  return { result, findings, workflowId };
}

/** Runs `work` against a Temporal service: a private dev server and worker with --embedded, else $TEMPORAL_ADDRESS. */
export async function withTemporal<T>(
  target: TemporalTarget,
  embedded: boolean,
  work: (client: Client, target: TemporalTarget) => Promise<T>,
): Promise<T> {
  if (!embedded) {
    const { client, close } = await connectClient(target);
    try {
      return await work(client, target);
    } finally {
      await close();
    }
  }
  const server = await startDevServer({ namespace: target.namespace });
  const local = { ...target, address: server.address, security: undefined, payloadStorage: payloadStorageFor(target.payloadStorage, true), embedded: true };
  try {
    const { worker, connection } = await createWorker(local);
    try {
      return await worker.runUntil(async () => {
        const { client, close } = await connectClient(local);
        try {
          return await work(client, local);
        } finally {
          await close();
        }
      });
    } finally {
      await connection.close();
    }
  } finally {
    await server.stop();
  }
}
