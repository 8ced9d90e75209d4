import { Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { ScanConfig } from '../config/load';
import { incidentLedgerOf } from '../store/incident-ledger';
import { findingsStoreOf } from '../store/findings-store';
import { type CollectInput, type CollectResult, addLookupLines, collect } from '../watch/collect';
import { discoverLookupPartitions } from '../sources/lookup-events';
import { scanBlobStore } from '../store/blob-store';
import { partitionsOf } from '../workflows/partitions';
import { configuredRules } from '../rules/configured-rules';
import { blobBytes, byteLines } from './scratch';
import type { LinesBlob, PartitionSpec, PlanGroup } from './types';
import { correlateDay, latencySummary, updatedLatency } from '../watch/correlate-day';
import { type FindingLatency, readLatency, watchStore, writeLatency } from '../watch/day-store';
import type { IncidentState } from '../workflows/incident-types';
import { routeFindings } from './incidents';

/** Heartbeats at most this often while a round scans (each is encoded and handed to Temporal's core). */
const BEAT_MS = 1000;
/** A watch activity heartbeats at least this often, well inside its 30-second heartbeat timeout (src/workflows/watch.ts). */
const HEARTBEAT_EVERY_MS = 5000;

/**
 * Runs an activity's work heartbeating every HEARTBEAT_EVERY_MS: a worker killed in the middle is
 * noticed by the activity's heartbeat timeout and the attempt is retried within half a minute, not
 * after its start-to-close timeout (minutes, in which the watch makes no round). A call that hangs in a
 * live worker is still ended by that timeout, and the sources' clients time their requests out
 * (src/sources/errors.ts: SOCKET_TIMEOUTS).
 */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** One round of discovery and scanning (src/watch/collect.ts); it heartbeats, so a killed worker's round is retried soon. */
export async function watchCollect(input: CollectInput): Promise<CollectResult> {
  const context = Context.current();
  let last = 0;
  const beat = () => {
    if (Date.now() - last < BEAT_MS) return;
    last = Date.now();
    context.heartbeat();
  };
  return heartbeating(() => collect(input, beat));
}

export interface WatchCorrelateInput {
  config: ScanConfig;
  date: string;
  /** the watch run: its incidents' run link, and rule 2's per-run incident */
  watch: { workflowId: string; runId: string };
  indexed?: boolean;
}

type Percentiles = ReturnType<typeof latencySummary>['detection'];

export interface WatchDayResult {
  date: string;
  objects: number;
  findings: number;
  findingsByRule: Record<string, number>;
  /** findings new or changed in this round */
  changed: number;
  routed: number;
  alreadyRouted: number;
  selectedEvents: number;
  duplicateEvents: number;
  /** routed findings whose notification outcome is not known yet: the day is correlated again next round */
  pendingNotifications: number;
  /** over the day's findings: delivery of the last evidence -> detection, and -> notification accepted */
  detection?: Percentiles;
  notification?: Percentiles;
}

/** Findings whose notification outcome is looked up per round at most (a query and a describe each). */
const RESOLVE_PER_ROUND = 20;

/**
 * Where a routed finding's notification stands: it opened its incident and the notification to the
 * first channel that accepted it completed (`notify-<incident>-<finding>-<channel>`), or the incident
 * was already open and took it without notifying. Unchanged while that is not known yet.
 */
async function resolveNotification(client: Client, config: ScanConfig, date: string, findingId: string, entry: FindingLatency): Promise<void> {
  const channels = config.incidents?.channels ?? [];
  if (!channels.length) {
    entry.notification = 'none';
    return;
  }
  const ledger = incidentLedgerOf(config.findingsStore ?? { directory: config.findingsDirectory });
  const claim = await ledger.claimOf(date, findingId);
  if (!claim) return;
  entry.incidentId = claim.incidentId;
  const accepted: number[] = [];
  let ended = 0;
  for (const channel of channels) {
    try {
      const run = await client.workflow.getHandle(`notify-${claim.incidentId}-${findingId}-${channel.name}`).describe();
      if (run.status.name === 'RUNNING') return;
      ended++;
      if (run.status.name === 'COMPLETED' && run.closeTime) accepted.push(run.closeTime.getTime());
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  if (ended) {
    entry.notification = accepted.length ? 'opened' : 'failed';
    if (accepted.length) entry.notificationAcceptedAt = new Date(Math.min(...accepted)).toISOString();
    return;
  }
  try {
    const state = await client.workflow.getHandle(claim.incidentId).query<IncidentState>('incident');
    if (state.evidence[0] && state.evidence[0].id !== findingId) entry.notification = 'joined';
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/**
 * Correlates the day so far, stores its new and changed findings, hands the new ones to incidents
 * through the daily scan's own exactly-once routing (the ledger: a finding routed here is never routed
 * again by the daily scan, and a later version of it, same id, is not routed again), and records
 * each finding's latency. It heartbeats: a worker killed while it routes is noticed within 30 s, and the
 * retry finds the ledger's claims.
 */
export async function watchCorrelate(input: WatchCorrelateInput): Promise<WatchDayResult> {
  return heartbeating(() => correlateAndRoute(input));
}

async function correlateAndRoute(input: WatchCorrelateInput): Promise<WatchDayResult> {
  const { config, date } = input;
  const context = Context.current();
  const day = await correlateDay(config, date);
  const store = watchStore(config);
  const { latency, changed } = updatedLatency(await readLatency(store, date), day, Date.now());
  if (changed.length) await findingsStoreOf(config.findingsStore ?? { directory: config.findingsDirectory }).upsert(date, changed);
  let routed = 0;
  let alreadyRouted = 0;
  const fresh = day.findings.filter((finding) => !latency[finding.id].routedAt);
  if (config.incidents?.enabled && fresh.length) {
    const result = await routeFindings({
      date,
      findingsDirectory: config.findingsDirectory,
      store: config.findingsStore,
      findings: { lines: fresh.length, inline: fresh.map((f) => `${JSON.stringify(f)}\n`).join('') },
      rules: config.rules,
      incidents: config.incidents,
      scan: input.watch,
      indexed: input.indexed,
    });
    ({ routed, alreadyRouted } = result);
    const now = new Date().toISOString();
    for (const finding of fresh) latency[finding.id].routedAt = now;
  }
  const pending = Object.entries(latency)
    .filter(([, entry]) => entry.routedAt && !entry.notification)
    .slice(0, RESOLVE_PER_ROUND);
  for (const [id, entry] of pending) await resolveNotification(context.client, config, date, id, entry);
  if (changed.length || fresh.length || pending.length) await writeLatency(store, date, latency);
  return {
    date,
    objects: day.objects,
    findings: day.findings.length,
    findingsByRule: day.findingsByRule,
    changed: changed.length,
    routed,
    alreadyRouted,
    selectedEvents: day.selectedEvents,
    duplicateEvents: day.duplicateEvents,
    pendingNotifications: Object.values(latency).filter((entry) => entry.routedAt && !entry.notification).length,
    ...latencySummary(latency),
  };
}

export interface WatchLookupPlan {
  /** the LookupEvents partitions (account x region) of the config's lookupEvents sources */
  partitions: PartitionSpec[];
  /** the rules' look-back: a request window's period starts this much after its first instant, so that it reads only that window */
  lookbackMs: number;
}

/** The partitions the watch polls LookupEvents in, numbered as the daily scan's plan numbers them. */
export async function watchLookupPartitions(config: ScanConfig): Promise<WatchLookupPlan> {
  return heartbeating(() => lookupPlanOf(config));
}

async function lookupPlanOf(config: ScanConfig): Promise<WatchLookupPlan> {
  const groups: PlanGroup[] = [];
  for (const [sourceIndex, source] of config.sources.entries()) {
    if (source.type !== 'lookupEvents') continue;
    for (const { region, ...account } of await discoverLookupPartitions(source)) groups.push({ sourceIndex, lookup: { ...account, regions: [region] } });
  }
  const lookbackMs = Math.max(0, ...configuredRules(config.rules).map(({ rule, options }) => rule.lookbackMs(options)));
  return { partitions: partitionsOf(groups, config.sources, 0), lookbackMs };
}

export interface WatchAddLookupInput {
  config: ScanConfig;
  days: string[];
  partition: PartitionSpec;
  /** the request window, epoch ms */
  fromMs: number;
  toMs: number;
  scanId: string;
  selected: LinesBlob;
  records: number;
}

/** Adds one LookupEvents request window's lines to the open days (and drops the blob they came in); returns the days touched. */
export async function watchAddLookup(input: WatchAddLookupInput): Promise<string[]> {
  return heartbeating(() => addLookup(input));
}

async function addLookup(input: WatchAddLookupInput): Promise<string[]> {
  const store = { findingsStore: input.config.findingsStore, findingsDirectory: input.config.findingsDirectory };
  const lines = [...byteLines(await blobBytes(store, input.scanId, input.selected))];
  const key = `lookupEvents/${input.partition.lookup!.accountId}/${input.partition.lookup!.region}/${String(input.fromMs).padStart(15, '0')}-${input.toMs}`;
  const touched = await addLookupLines(input.config, input.days, input.partition.sourceIndex, key, input.toMs, lines, input.records);
  if (input.selected.key) await scanBlobStore(store, input.scanId).delete(input.selected.key);
  return touched;
}
