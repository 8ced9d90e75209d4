import { accessSync, constants, type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Source } from '../config/schema';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import type { ScanSummary } from '../activities/types';
import { type LoadedConfig, type ScanConfig, UsageError, checkChannelEnvironment, scanConfigFields } from '../config/load';
import { startDevServer } from '../local/dev-server';
import type { Finding } from '../rules/types';
import { findingsStoreOf } from '../store/findings-store';
import { payloadStorageFor } from '../codec/payload-storage';
import { type DailyScanWorkflow, progressQuery } from '../workflows/daily-scan';
import { type RangeScanResult, type RangeScanWorkflow, rangeProgressQuery, rangeWorkflowId } from '../workflows/range-scan';
import { daysBetween } from '../common/days';
import { createWorker } from '../workers/worker';
import { CliFailure, describeFailure } from './failure';
import { appendLog, currentLogFile } from './logging';
import { connectClient, type TemporalTarget } from './temporal';
import { searchAttributesRegistered } from './visibility';
import { checkNamespace, noticeRunning, requireWorker, waitForRun } from './wait';

/** How a command waits on its run. */
export interface RunOptions {
  /** the worker is this process's own (--embedded, demo): no need to look for one */
  embedded?: boolean;
  cancelOnInterrupt?: boolean;
}

/** Checks what can be checked before a run starts: the namespace, then a worker on the task queue. */
export async function preflight(client: Client, target: TemporalTarget, options: RunOptions): Promise<void> {
  await checkNamespace(client, target);
  if (!options.embedded) await requireWorker(client, target);
}

/** Runs `wait`; a failed run becomes one line naming what failed, where, and why. */
async function explained<T>(what: string, options: RunOptions, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    if (error instanceof CliFailure) throw error;
    if (error instanceof WorkflowFailedError) {
      throw new CliFailure(describeFailure(what, error, { embedded: options.embedded, logFile: options.embedded ? currentLogFile() : undefined }));
    }
    throw error;
  }
}

export interface ScanOutcome {
  summary: ScanSummary;
  findings: Finding[];
  workflowId: string;
  runId: string;
}

export function scanConfigOf(config: LoadedConfig): ScanConfig {
  if (config.sources.length === 0) {
    throw new UsageError(
      `no sources configured${config.file ? ` in ${config.file}` : ''}: add an s3 or directory source to "sources" ` + '(see README), or pass --config FILE',
    );
  }
  checkChannelEnvironment(config.incidents?.channels ?? []);
  checkDirectorySources(config.sources);
  return scanConfigFields(config);
}

/** Findings come from the store the config names (never this machine's disk unless it is a folder). */
export function storeOf(config: ScanConfig) {
  return findingsStoreOf(config.findingsStore ?? { directory: config.findingsDirectory });
}

/** Whether a folder holds a *.json or *.json.gz file anywhere below it (stops at the first). */
function holdsLogFiles(dir: string, depth = 0): boolean {
  if (depth > 12) return false;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) if (entry.isFile() && /\.json(\.gz)?$/i.test(entry.name)) return true;
  return entries.some((entry) => entry.isDirectory() && holdsLogFiles(join(dir, entry.name), depth + 1));
}

/**
 * A directory source must be a readable folder (exit 2 before anything starts); one without any log
 * file gets a warning. The check runs where the CLI runs: a worker on another machine needs the same path.
 */
export function checkDirectorySources(sources: readonly Source[]): void {
  for (const [index, source] of sources.entries()) {
    if (source.type !== 'directory') continue;
    const where = `sources.${index} (directory)`;
    let stats;
    try {
      stats = statSync(source.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(`${where}: ${source.path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`);
    }
    if (!stats.isDirectory()) throw new UsageError(`${where}: ${source.path} is not a folder`);
    try {
      accessSync(source.path, constants.R_OK | constants.X_OK);
    } catch (error) {
      throw new UsageError(`${where}: ${source.path} cannot be read (${(error as NodeJS.ErrnoException).code})`);
    }
    if (!holdsLogFiles(source.path)) {
      process.stderr.write(`trailwarden: warning: ${where}: ${source.path} holds no *.json or *.json.gz files; the scan will read nothing from it\n`);
    }
  }
}

/**
 * Polls `query` every 500 ms while `done` is pending, one query at a time, and waits for the last one
 * before returning, so that no query is still in flight when the caller closes the connection.
 */
async function whilePolling<P, T>(query: () => Promise<P>, onProgress: (progress: P) => void, done: Promise<T>): Promise<T> {
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    inFlight ??= query()
      .then(onProgress, () => undefined)
      .finally(() => (inFlight = undefined));
  }, 500);
  try {
    return await done;
  } finally {
    clearInterval(timer);
    await inFlight;
  }
}

async function showProgress<T>(
  handle: { query: (q: typeof progressQuery) => Promise<{ partitions: number; partitionsDone: number; objects: number }> },
  done: Promise<T>,
): Promise<T> {
  if (!process.stderr.isTTY) return done;
  const bar = new SingleBar({
    format: 'scanning |{bar}| {value}/{total} partitions | {objects} objects | {duration_formatted} {status}',
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(1, 0, { objects: 0, status: '' });
  statusSink = (status) => bar.update({ status: status.length > 80 ? `${status.slice(0, 79)}…` : status });
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
    statusSink = undefined;
    bar.stop();
  }
}

/** Where the waiting CLI puts a status while a progress bar is on the terminal. */
let statusSink: ((status: string) => void) | undefined;

/** Starts (or joins, when one is running) the day's scan workflow and waits for its result. */
export async function runDailyScan(client: Client, target: TemporalTarget, date: string, config: ScanConfig, options: RunOptions = {}): Promise<ScanOutcome> {
  await preflight(client, target, options);
  const indexed = await searchAttributesRegistered(client, target.namespace);
  const workflowId = `scan-${date}`;
  await noticeRunning(client, workflowId);
  const handle = await client.workflow.start<typeof DailyScanWorkflow>('DailyScanWorkflow', {
    taskQueue: target.taskQueue,
    workflowId,
    args: [{ date, config, indexed }],
    staticSummary: `Daily scan of ${date}`,
    staticDetails: `Sources: ${config.sources.map((s) => s.type).join(', ')}; rules: ${Object.keys(config.rules).join(', ')}`,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  const abort = new AbortController();
  const summary = await explained(`scan of ${date} (workflow ${workflowId})`, options, () =>
    showProgress(
      handle,
      waitForRun(
        handle,
        client.withAbortSignal(abort.signal, () => handle.result()),
        {
          ...options,
          abort,
          phase: async () => (await handle.query(progressQuery)).phase,
          onStatus: process.stderr.isTTY ? (status) => statusSink?.(status) : undefined,
        },
      ),
    ),
  );
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
    // remaining time is ours: cli-progress shows "NF" until the first day is done
    format: 'days |{bar}| {value}/{total} | {findings} finding(s) | elapsed {duration_formatted} | remaining {remaining}',
    stream: process.stderr,
    hideCursor: true,
    etaBuffer: 5,
    noTTYOutput: !process.stderr.isTTY,
    notTTYSchedule: 10_000,
  });
  const started = Date.now();
  const remaining = (daysDone: number) => {
    if (daysDone === 0) return 'estimating…';
    const seconds = Math.round((((Date.now() - started) / daysDone) * (total - daysDone)) / 1000);
    return seconds >= 3600
      ? `${Math.floor(seconds / 3600)}h${Math.round((seconds % 3600) / 60)}m`
      : seconds >= 60
        ? `${Math.floor(seconds / 60)}m${seconds % 60}s`
        : `${seconds}s`;
  };
  bar.start(total, 0, { findings: 0, remaining: remaining(0) });
  try {
    const result = await whilePolling(
      () => handle.query(rangeProgressQuery),
      (p) => bar.update(p.daysDone, { findings: p.findings, remaining: remaining(p.daysDone) }),
      done,
    );
    // from the result, not a query: querying a closed workflow replays it, which can take many seconds
    bar.update(result.days.length, { findings: result.findings, remaining: '0s' });
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
  options: RunOptions = {},
): Promise<RangeOutcome> {
  await preflight(client, target, options);
  const indexed = await searchAttributesRegistered(client, target.namespace);
  const workflowId = rangeWorkflowId(range.from, range.to);
  await noticeRunning(client, workflowId);
  const handle = await client.workflow.start<typeof RangeScanWorkflow>('RangeScanWorkflow', {
    taskQueue: target.taskQueue,
    workflowId,
    args: [{ from: range.from, to: range.to, config, concurrency: range.concurrency, indexed, daysPerRun: range.daysPerRun }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: `Re-run of ${range.from} .. ${range.to}`,
  });
  const days = daysBetween(range.from, range.to);
  const abort = new AbortController();
  const result = await explained(`re-run of ${range.from} .. ${range.to} (workflow ${workflowId})`, options, () =>
    showRangeProgress(
      handle,
      days.length,
      waitForRun(
        handle,
        client.withAbortSignal(abort.signal, () => handle.result()),
        { ...options, abort, onStatus: process.stderr.isTTY ? () => undefined : undefined },
      ),
    ),
  );
  const store = storeOf(config);
  const findings = (await Promise.all(days.map((day) => store.read(day)))).flat();
  return { result, findings, workflowId };
}

/** Runs `work` against a Temporal service: a private dev server and worker with --embedded, else $TEMPORAL_ADDRESS. */
export async function withTemporal<T>(target: TemporalTarget, embedded: boolean, work: (client: Client, target: TemporalTarget) => Promise<T>): Promise<T> {
  if (!embedded) {
    const { client, close } = await connectClient(target);
    try {
      return await work(client, target);
    } finally {
      await close();
    }
  }
  const server = await startDevServer({ namespace: target.namespace, onOutput: (text) => appendLog(text) });
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
