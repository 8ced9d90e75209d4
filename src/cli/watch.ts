import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { type LoadedConfig, type ScanConfig, UsageError, checkPathsForRemote } from '../config/load';
import { parseIsoDuration } from '../config/duration';
import { DEFAULT_BATCH_WINDOW, DEFAULT_POLL_INTERVAL } from '../config/schema';
import type { Finding } from '../rules/types';
import { latencySummary } from '../watch/correlate-day';
import { type FindingLatency, readLatency, watchStore } from '../watch/day-store';
import {
  type WatchInput,
  type WatchProgress,
  type WatchState,
  type WatchWorkflow,
  WATCH_WORKFLOW_ID,
  stopWatchSignal,
  watchProgressQuery,
} from '../workflows/watch';
import { CliFailure } from './failure';
import { formatFinding } from './format';
import { example } from './help';
import { scanConfigOf, storeOf, withTemporal } from './scan';
import { type TemporalTarget, temporalTarget } from './temporal';
import { searchAttributesRegistered } from './visibility';
import { checkNamespace, interruption, requireWorker, statusIntervalMs } from './wait';

const MAX_BATCH_WINDOW_MS = 60_000;

/** The watch's input from the config: each source's poll interval (0: its notification queue), the day's end. */
export function watchInputOf(config: LoadedConfig, scanConfig: ScanConfig, indexed: boolean): WatchInput {
  const pollIntervalsMs = scanConfig.sources.map((source) => {
    if (source.type === 's3' && source.notifications) return 0;
    return parseIsoDuration(source.pollInterval ?? DEFAULT_POLL_INTERVAL);
  });
  const tooShort = pollIntervalsMs.findIndex((ms) => ms > 0 && ms < 1000);
  if (tooShort >= 0) throw new UsageError(`config: sources.${tooShort}.pollInterval: must be at least PT1S`);
  const batchWindowMs = parseIsoDuration(config.watch?.batchWindow ?? DEFAULT_BATCH_WINDOW);
  // a longer gather would spend the minute a notification may take, and outlast the received messages' invisibility
  if (batchWindowMs > MAX_BATCH_WINDOW_MS) throw new UsageError('config: watch.batchWindow: must be at most PT1M');
  return { config: scanConfig, pollIntervalsMs, dayEndsAfterMs: parseIsoDuration(config.watch?.dayEndsAfter ?? 'PT2H'), batchWindowMs, indexed };
}

/** How a line shows a finding's latency: delivery -> detection, and -> notification accepted. */
export function latencyText(latency: FindingLatency | undefined): string {
  if (!latency) return '';
  const after = (to?: string) => (to ? `${((Date.parse(to) - Date.parse(latency.deliveredAt)) / 1000).toFixed(1)} s` : undefined);
  const notified =
    latency.notification === 'joined'
      ? 'joined an open incident'
      : after(latency.notificationAcceptedAt)
        ? `notified ${after(latency.notificationAcceptedAt)} after delivery`
        : undefined;
  return `  (watch: detected ${after(latency.detectedAt)} after delivery${notified ? `, ${notified}` : ''})`;
}

/** Stored findings of `date` with the watch's latency records, for `trailwarden findings`. */
export async function latencyOf(config: ScanConfig, date: string): Promise<Record<string, FindingLatency>> {
  return readLatency(watchStore(config), date);
}

/**
 * The line a daily scan's summary adds for a day the watch saw: how many of the scan's findings it
 * found first, and how soon after delivery (p50, p95, max), or undefined when it saw none.
 */
export function watchedLine(latency: Record<string, FindingLatency>, findingIds: readonly string[] | undefined): string | undefined {
  const ids = findingIds ?? Object.keys(latency);
  const seen = Object.fromEntries(ids.filter((id) => latency[id]).map((id) => [id, latency[id]]));
  const count = Object.keys(seen).length;
  if (!count) return undefined;
  const { detection, notification } = latencySummary(seen);
  const figures = (p: typeof detection) =>
    p ? `p50 ${(p.p50Ms / 1000).toFixed(1)} s, p95 ${(p.p95Ms / 1000).toFixed(1)} s, max ${(p.maxMs / 1000).toFixed(1)} s` : 'none yet';
  return `  watch: ${count} of ${ids.length} finding(s) found first by trailwarden watch; delivery -> detection ${figures(detection)}; -> notification accepted ${figures(notification)}`;
}

function summaryLine(progress: WatchProgress | WatchState, openDays: string[]): string {
  const days = openDays
    .map((date) => {
      const day = progress.days[date];
      const p95 = day?.detection ? `, delivery -> detection p95 ${(day.detection.p95Ms / 1000).toFixed(1)} s` : '';
      return `${date}: ${day?.findings ?? 0} finding(s)${p95}`;
    })
    .join('; ');
  const dropped = Object.entries(progress.dropped)
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  return `watch: ${progress.rounds} round(s), ${progress.totals.objects} object(s) scanned${dropped ? ` (dropped: ${dropped})` : ''}; ${days}${progress.lastError ? `; last error: ${progress.lastError}` : ''}`;
}

/**
 * Follows the watch: prints each new or updated finding of the open days as it is stored (with its
 * latency), and a status line when something changed, until Ctrl-C or SIGTERM.
 */
async function follow(handle: WorkflowHandle<typeof WatchWorkflow>, config: ScanConfig, json: boolean, stopped: Promise<unknown>): Promise<void> {
  const printed = new Map<string, number>();
  let lastLine = '';
  let lastLineAt = 0;
  const store = storeOf(config);
  for (;;) {
    let progress: WatchProgress;
    try {
      const answer = await Promise.race([handle.query(watchProgressQuery), stopped.then(() => undefined)]);
      if (!answer) return;
      progress = answer;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new CliFailure('watch: the watch workflow is gone');
      throw error;
    }
    for (const date of progress.openDays) {
      if (!progress.days[date]) continue;
      const [findings, latency] = await Promise.all([store.read(date), latencyOf(config, date)]);
      for (const finding of findings.filter((f: Finding) => latency[f.id] && printed.get(f.id) !== f.count)) {
        printed.set(finding.id, finding.count);
        process.stdout.write(
          json ? `${JSON.stringify({ ...finding, watch: latency[finding.id] })}\n` : `${formatFinding(finding)}${latencyText(latency[finding.id])}\n`,
        );
      }
    }
    // a line when something other than the round count changed, and at least once a minute
    const line = summaryLine(progress, progress.openDays);
    const key = line.replace(/^watch: \d+ round\(s\)/, '');
    if (key !== lastLine || Date.now() - lastLineAt > 60_000) {
      process.stderr.write(`trailwarden: ${line}\n`);
      [lastLine, lastLineAt] = [key, Date.now()];
    }
    const next = await Promise.race([stopped.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('tick'), Math.min(2000, statusIntervalMs())))]);
    if (next === 'stopped') return;
  }
}

async function startWatch(
  client: Client,
  target: TemporalTarget,
  config: LoadedConfig,
  scanConfig: ScanConfig,
  options: { embedded: boolean; json: boolean },
): Promise<number> {
  await checkNamespace(client, target);
  if (!options.embedded) await requireWorker(client, target);
  const input = watchInputOf(config, scanConfig, await searchAttributesRegistered(client, target.namespace));
  const running = await client.workflow
    .getHandle(WATCH_WORKFLOW_ID)
    .describe()
    .then(
      (d) => d.status.name === 'RUNNING',
      () => false,
    );
  const handle = await client.workflow.start<typeof WatchWorkflow>('WatchWorkflow', {
    taskQueue: target.taskQueue,
    workflowId: WATCH_WORKFLOW_ID,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: 'Continuous detection (trailwarden watch)',
  });
  process.stderr.write(
    running
      ? `trailwarden: joined the running watch (workflow ${WATCH_WORKFLOW_ID}); it keeps the configuration it was started with (trailwarden watch --stop, then start it again, to change it)\n`
      : `trailwarden: watching ${scanConfig.sources.length} source(s) as workflow ${WATCH_WORKFLOW_ID}: ` +
          scanConfig.sources
            .map((s, i) =>
              s.type === 's3' && s.notifications
                ? `s3://${s.bucket} from ${s.notifications.sqsQueueUrl}`
                : `${s.type === 's3' ? `s3://${s.bucket}` : s.type === 'directory' ? s.path : 'LookupEvents'} every ${input.pollIntervalsMs[i] / 1000} s`,
            )
            .join(', ') +
          '\n',
  );
  const { signal, dispose } = interruption();
  // aborted when following ends, so that no call outlives the connection
  const abort = new AbortController();
  const result = client.withAbortSignal(abort.signal, () => handle.result());
  let ended = false;
  result.then(
    () => (ended = true),
    () => (ended = true),
  );
  try {
    await client.withAbortSignal(abort.signal, () => follow(handle, scanConfig, options.json, Promise.race([signal, result.catch(() => undefined)])));
  } finally {
    dispose();
    abort.abort();
  }
  if (options.embedded) {
    // the worker of this process stops on the same signal, and the private server with it: what a round
    // had not finished is redone by the next watch (nothing is deleted before it is stored)
    process.stderr.write('trailwarden: the embedded watch stops with its server\n');
    return 0;
  }
  process.stderr.write(
    ended
      ? 'trailwarden: the watch has stopped\n'
      : `trailwarden: stopped following; the watch keeps running as workflow ${WATCH_WORKFLOW_ID} (trailwarden watch --stop ends it)\n`,
  );
  return 0;
}

async function stopWatch(client: Client): Promise<number> {
  const handle = client.workflow.getHandle<typeof WatchWorkflow>(WATCH_WORKFLOW_ID);
  try {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') throw new CliFailure(`watch --stop: no watch is running (workflow ${WATCH_WORKFLOW_ID} is ${status.name.toLowerCase()})`);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new CliFailure(`watch --stop: no watch is running (no workflow ${WATCH_WORKFLOW_ID})`);
    throw error;
  }
  await handle.signal(stopWatchSignal);
  process.stderr.write('trailwarden: asked the watch to stop after its current round; waiting for it\n');
  const state = await handle.result();
  process.stderr.write(`trailwarden: ${summaryLine(state, Object.keys(state.days).sort())}; stopped\n`);
  return 0;
}

export function registerWatchCommand(program: Command, configOf: (command: Command) => LoadedConfig, setExit: (code: number) => void): void {
  program
    .command('watch')
    .description('continuous detection: scan each new trail object as it lands (notification queue or polling) until stopped; the daily scan confirms it')
    .option('--embedded', 'start a private dev server and worker, and watch until Ctrl-C')
    .option('--json', 'print each new or updated finding as one JSON line on stdout, with its latency under "watch"')
    .option('--stop', 'stop the running watch after its current round')
    .addHelpText(
      'after',
      example(
        ['trailwarden watch', 'trailwarden watch --json >> findings.jsonl', 'trailwarden watch --stop', 'trailwarden watch --embedded'],
        ['TRAILWARDEN_CONFIG', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TRAILWARDEN_TASK_QUEUE', 'AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID (--embedded)'],
      ),
    )
    .action(async (opts: { embedded?: boolean; json?: boolean; stop?: boolean }, command: Command) => {
      const config = configOf(command);
      const target = temporalTarget(config);
      if (opts.stop) {
        if (opts.embedded) throw new UsageError('watch: --stop ends a watch on a Temporal service; an --embedded watch ends with Ctrl-C');
        setExit(await withTemporal(target, false, (client) => stopWatch(client)));
        return;
      }
      if (!opts.embedded) checkPathsForRemote(config, target.address);
      const scanConfig = scanConfigOf(config);
      // bad intervals and sources are reported before anything starts
      watchInputOf(config, scanConfig, false);
      setExit(
        await withTemporal(target, Boolean(opts.embedded), (client, t) =>
          startWatch(client, t, config, scanConfig, { embedded: Boolean(opts.embedded), json: Boolean(opts.json) }),
        ),
      );
    });
}
