import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type * as activities from '../activities/watch';
import type { WatchDayResult } from '../activities/watch';
import type { ScanConfig } from '../config/load';
import { activeDays, dayStartMs } from '../watch/days';
import { failureMessage } from '../common/failure';
import { lookupLocked } from './scan-batch';
import { FindingCount, RuleIds, keywordList, ScanMode, ScanStatus, Sources } from './search-attributes';

export interface WatchInput {
  config: ScanConfig;
  /** per source index: how often it is listed (ms); 0 for an s3 source read from its notification queue */
  pollIntervalsMs: number[];
  /** a day's watch ends this long after the day (the daily scan then reconciles it) */
  dayEndsAfterMs: number;
  /** once a notification came, how long a round gathers more (ms); undefined: the default */
  batchWindowMs?: number;
  indexed?: boolean;
  /** continue as new after this many rounds, so that no history grows with the day (default 100) */
  roundsPerRun?: number;
  /** carried over by continue-as-new */
  state?: WatchState;
}

export interface WatchTotals {
  objects: number;
  records: number;
  bytes: number;
  /** notification messages received and deleted */
  received: number;
  deleted: number;
  skipped: number;
}

export interface WatchState {
  startedAt: string;
  rounds: number;
  runs: number;
  /** per source index: when it was last listed (epoch ms) */
  lastPolledMs: Record<string, number>;
  totals: WatchTotals;
  /** objects scanned into each recent day's store */
  objectsByDay?: Record<string, number>;
  /** notified objects not scanned, by reason (digest, insight, foreign, ...) */
  dropped: Record<string, number>;
  /** the latest correlation of each recent day */
  days: Record<string, WatchDayResult>;
  /** days with new objects not correlated yet (a correlation that failed is tried again next round) */
  dirty: string[];
  /** per LookupEvents partition id: the end of its last request window (epoch ms) */
  lookupCursors?: Record<string, number>;
  lastError?: string;
}

export interface WatchProgress extends WatchState {
  openDays: string[];
  stopping: boolean;
}

export const watchProgressQuery = defineQuery<WatchProgress>('watchProgress');
/** Ends the watch after its current round. */
export const stopWatchSignal = defineSignal('stop');

/** The watch's workflow id: one watch per namespace and task queue, whoever starts it. */
export const WATCH_WORKFLOW_ID = 'watch';

const retry: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 };
const { watchCollect } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds', retry });
// The round's other activities. Without a heartbeat timeout (their first version), a worker killed in
// one of them held the watch until the 5-minute start-to-close timeout; they heartbeat now
// (src/activities/watch.ts), so a killed worker's attempt is retried after 30 s, as watchCollect's is.
const withoutHeartbeat = proxyActivities<typeof activities>({ startToCloseTimeout: '5 minutes', retry });
const withHeartbeat = proxyActivities<typeof activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds', retry });
/** The patch that gave watchCorrelate, watchLookupPartitions and watchAddLookup their heartbeat timeout. */
export const WATCH_HEARTBEATS = 'watch-heartbeats';

/**
 * LookupEvents shows an event some minutes after the call: each request window starts this long before
 * the previous one ended, and dedup by eventID drops what both read.
 */
const LOOKUP_OVERLAP_MS = 15 * 60_000;

/** A round whose sources all failed waits this long before the next. */
const AFTER_FAILURE_MS = 15_000;
/** The longest a notification queue is long-polled in one round (SQS allows 20 s). */
const MAX_WAIT_SECONDS = 20;
/** Days kept in the state after their watch ended. */
const KEPT_DAYS = 3;

/** Workflow time (the sandbox makes Date deterministic: it is the time of the current workflow task). */
const nowMs = () => new Date().getTime();

function freshState(): WatchState {
  return {
    startedAt: new Date().toISOString(),
    rounds: 0,
    runs: 0,
    lastPolledMs: {},
    totals: { objects: 0, records: 0, bytes: 0, received: 0, deleted: 0, skipped: 0 },
    dropped: {},
    days: {},
    dirty: [],
  };
}

function add(into: Record<string, number>, counts: Record<string, number>): void {
  for (const [key, value] of Object.entries(counts)) into[key] = (into[key] ?? 0) + value;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

function describe(state: WatchState, openDays: string[]): string {
  const days = openDays.map((date) => {
    const day = state.days[date];
    const objects = state.objectsByDay?.[date] ?? 0;
    if (!day) return `- ${date}: ${objects} object(s), no finding yet`;
    return (
      `- ${date}: ${day.findings} finding(s) from ${objects} object(s); delivery -> detection p50 ${seconds(day.detection?.p50Ms)}, ` +
      `p95 ${seconds(day.detection?.p95Ms)}, max ${seconds(day.detection?.maxMs)}; -> notification p95 ${seconds(day.notification?.p95Ms)}`
    );
  });
  return [
    `**Watching**: ${state.rounds} round(s), ${state.totals.objects} object(s) scanned`,
    ...days,
    ...(state.lastError ? [`last error: ${state.lastError}`] : []),
  ].join('\n');
}

type WatchActivities = typeof withHeartbeat;
type LookupPlan = Awaited<ReturnType<WatchActivities['watchLookupPartitions']>>;

/**
 * Asks each due LookupEvents partition for its selected events since its last request window, through
 * the same cross-scan lock as the daily scan (one `lookup-events-<account>-<region>` at a time, so the
 * 2 requests/s budget holds), and adds them to the open days.
 */
async function pollLookups(
  { watchLookupPartitions, watchAddLookup }: WatchActivities,
  input: WatchInput,
  state: WatchState,
  plan: { lookups?: LookupPlan },
  due: number[],
  openDays: string[],
  now: number,
  scanId: string,
): Promise<void> {
  const lookupPlan = (plan.lookups ??= await watchLookupPartitions(input.config));
  const cursors = (state.lookupCursors ??= {});
  const store = { findingsStore: input.config.findingsStore, findingsDirectory: input.config.findingsDirectory };
  for (const partition of lookupPlan.partitions.filter((p) => due.includes(p.sourceIndex))) {
    const since = cursors[partition.id];
    const fromMs = since === undefined ? dayStartMs(openDays[0]) - lookupPlan.lookbackMs : since - LOOKUP_OVERLAP_MS;
    // the activity reads from the period's start less the rules' look-back: so it reads [fromMs, now)
    const period = { startMs: fromMs + lookupPlan.lookbackMs, endMs: now };
    const source = input.config.sources[partition.sourceIndex];
    const result = await lookupLocked({ scanId, partition, source, rules: input.config.rules, period, store });
    const touched = await watchAddLookup({
      config: input.config,
      days: openDays,
      partition,
      fromMs,
      toMs: now,
      scanId,
      selected: result.selected,
      records: result.stats.records,
    });
    cursors[partition.id] = now;
    state.totals.records += result.stats.records;
    state.dirty = [...new Set([...state.dirty, ...touched])].sort();
  }
}

/**
 * Continuous detection (`trailwarden watch`): rounds of watchCollect (each source's new objects, from
 * its notification queue or by listing every pollInterval, scanned once into the open days' stores)
 * and watchCorrelate for each day that got some (the day so far, correlated as the daily scan would,
 * its new findings routed exactly once). Runs until the stop signal; continues as new every
 * `roundsPerRun` rounds with its small state; everything large is in the stores.
 */
export async function WatchWorkflow(input: WatchInput): Promise<WatchState> {
  const state = input.state ?? freshState();
  state.runs++;
  // a run started before the patch keeps the options its history was made with
  const acts = patched(WATCH_HEARTBEATS) ? withHeartbeat : withoutHeartbeat;
  let stopping = false;
  let openDays = activeDays(nowMs(), input.dayEndsAfterMs);
  setHandler(stopWatchSignal, () => {
    stopping = true;
  });
  setHandler(watchProgressQuery, () => ({ ...state, openDays, stopping }));
  let indexedAs = '';
  const index = (status: string) => {
    if (!input.indexed) return;
    const findings = openDays.reduce((n, date) => n + (state.days[date]?.findings ?? 0), 0);
    // one history event per change, not per round
    if (indexedAs === `${status} ${findings}`) return;
    indexedAs = `${status} ${findings}`;
    upsertSearchAttributes([
      { key: ScanMode, value: 'watch' },
      { key: ScanStatus, value: status },
      { key: RuleIds, value: keywordList(Object.keys(input.config.rules)) },
      { key: Sources, value: [...new Set(input.config.sources.map((s) => s.type))].sort() },
      { key: FindingCount, value: findings },
    ]);
  };
  index('Running');
  const { workflowId, runId } = workflowInfo();
  const notified = input.config.sources.some((source) => source.type === 's3' && source.notifications);
  const polled = input.pollIntervalsMs.map((ms, i) => ({ i, ms })).filter(({ ms }) => ms > 0);
  // the LookupEvents partitions, planned once per run
  const plan: { lookups?: LookupPlan } = {};
  const nextPollMs = () => Math.min(...polled.map(({ i, ms }) => (state.lastPolledMs[i] ?? 0) + ms));

  for (let round = 0; round < (input.roundsPerRun ?? 100) && !stopping; round++) {
    const now = nowMs();
    openDays = activeDays(now, input.dayEndsAfterMs);
    const pollSources = polled.filter(({ i, ms }) => now - (state.lastPolledMs[i] ?? 0) >= ms).map(({ i }) => i);
    let failed = false;
    try {
      const waitSeconds = notified ? Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor((nextPollMs() - now) / 1000))) : 0;
      const collected = await watchCollect({ config: input.config, days: openDays, pollSources, waitSeconds, batchWindowMs: input.batchWindowMs });
      for (const i of pollSources) state.lastPolledMs[i] = now;
      const { objects, records, bytes, received, deleted, skippedCount } = collected;
      add(state.totals as unknown as Record<string, number>, { objects, records, bytes, received, deleted, skipped: skippedCount });
      add(state.dropped, collected.dropped);
      add((state.objectsByDay ??= {}), collected.objectsByDay ?? {});
      state.dirty = [...new Set([...state.dirty, ...collected.touched])].filter((date) => openDays.includes(date)).sort();
    } catch (error) {
      failed = true;
      state.lastError = `collecting: ${failureMessage(error)}`;
    }
    const lookupsDue = pollSources.filter((i) => input.config.sources[i].type === 'lookupEvents');
    if (lookupsDue.length) {
      try {
        await pollLookups(acts, input, state, plan, lookupsDue, openDays, now, `${workflowId}-${runId}-lookup`);
      } catch (error) {
        failed = true;
        state.lastError = `LookupEvents: ${failureMessage(error)}`;
      }
    }
    for (const date of [...state.dirty]) {
      try {
        state.days[date] = await acts.watchCorrelate({ config: input.config, date, watch: { workflowId, runId }, indexed: input.indexed });
        // a day whose notifications are still going out is correlated again, to record when they are accepted
        if (!state.days[date].pendingNotifications) state.dirty = state.dirty.filter((d) => d !== date);
      } catch (error) {
        failed = true;
        state.lastError = `correlating ${date}: ${failureMessage(error)}`;
      }
    }
    for (const date of Object.keys(state.days)
      .sort()
      .slice(0, -(openDays.length + KEPT_DAYS)))
      delete state.days[date];
    for (const date of Object.keys(state.objectsByDay ?? {})
      .sort()
      .slice(0, -(openDays.length + KEPT_DAYS)))
      delete state.objectsByDay![date];
    state.rounds++;
    setCurrentDetails(describe(state, openDays));
    upsertMemo({
      watch: {
        rounds: state.rounds,
        objects: state.totals.objects,
        days: openDays.map((date) => ({
          date,
          findings: state.days[date]?.findings ?? 0,
          detection: state.days[date]?.detection,
          notification: state.days[date]?.notification,
        })),
      },
    });
    index('Running');
    if (stopping) break;
    // a notification queue's long poll is the wait; a watch that only lists sleeps until the next listing is due
    const waitMs = failed ? AFTER_FAILURE_MS : notified ? 0 : Math.max(0, nextPollMs() - nowMs());
    if (waitMs > 0) await condition(() => stopping, waitMs);
    if (workflowInfo().continueAsNewSuggested) break;
  }
  if (!stopping) await continueAsNew<typeof WatchWorkflow>({ ...input, state });
  index('Stopped');
  setCurrentDetails(`**Stopped** after ${state.rounds} round(s)\n${describe(state, openDays)}`);
  return state;
}
