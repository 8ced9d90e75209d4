import { ApplicationFailure, Context } from '@temporalio/activity';
import { type CloudTrailRecord, malformedReason } from '../cloudtrail/record';
import { lookupQueries, readWindow, recordLine } from '../rules/selection';
import { LOOKUP_RETENTION_DAYS, createLookupClient, isPermanentLookupError, isThrottling, lookupEventPages } from '../sources/lookup-events';
import { DAY_MS } from '../common/days';
import { configuredRules } from '../rules/configured-rules';
import { type ProgressCheckpoint, PartitionProgress } from './partition-progress';
import type { PartitionResult, ScanPartitionInput } from './types';
import { partitionSpec } from '../workflows/partitions';
import { permanentFailure } from './permanent';

/** Where a query stands: which event name, and the token of its next page (bound to the query's times). */
interface LookupPosition {
  eventIndex: number;
  nextToken?: string;
  startMs: number;
  endMs: number;
}

/**
 * The longest wait after a throttled attempt: the AWS SDK's own cap on retry delays. A longer one only
 * leaves the budget unused after throttling ends (a 60 s cap kept a scan idle for up to a minute after
 * a two-minute storm); the limiter, not the backoff, keeps the worker within 2 requests/s.
 */
const MAX_THROTTLE_DELAY_MS = 20_000;

/** Exponential backoff with jitter (half fixed, half random) for throttling, on top of Temporal's retry policy. */
function throttleDelayMs(attempt: number): number {
  const ceiling = Math.min(MAX_THROTTLE_DELAY_MS, 1000 * 2 ** Math.min(attempt, 5));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Asks LookupEvents for exactly the management events the rules select (one EventName query each),
 * in one account and region, newest first. Heartbeats the NextToken with its query after each page,
 * so a retry resumes where the last attempt stopped.
 */
export async function lookupEventsPartition(input: ScanPartitionInput): Promise<PartitionResult> {
  const { source } = input;
  const partition = partitionSpec(input.partition);
  if (source.type !== 'lookupEvents' || partition.kind !== 'lookup') {
    throw ApplicationFailure.nonRetryable('lookupEventsPartition needs a lookupEvents partition', 'InvalidInput');
  }
  const context = Context.current();
  const rules = configuredRules(input.rules);
  const recordsWindow = readWindow(rules, input.period);
  // one query per management event name, over the windows of the rules that select it (data events,
  // which LookupEvents never holds, are left out: each rule says which of its names are)
  const queries = lookupQueries(rules, input.period);
  const retentionStartMs = Date.now() - LOOKUP_RETENTION_DAYS * DAY_MS + 60_000;
  const previous = context.info.heartbeatDetails as ProgressCheckpoint<LookupPosition> | undefined;
  const positionAt = (eventIndex: number): LookupPosition => {
    const window = queries[eventIndex] ?? recordsWindow;
    return { eventIndex, startMs: Math.max(window.startMs, retentionStartMs), endMs: window.endMs };
  };
  const start = positionAt(0);
  const progress = new PartitionProgress(input.scanId, partition, start, previous);
  const { state } = progress;
  state.stats.retriedAttempts = context.info.attempt - 1;

  if (recordsWindow.endMs <= retentionStartMs) {
    progress.skip({
      source: partition.label,
      key: '',
      reason: `LookupEvents keeps ${LOOKUP_RETENTION_DAYS} days of events; this period is older (the S3 trail still serves it)`,
    });
    return progress.finish(input.store);
  }

  const counters = { requests: state.stats.requests ?? 0, pages: state.stats.pages ?? 0 };
  const saveCounters = () => {
    state.stats.requests = counters.requests;
    state.stats.pages = counters.pages;
  };
  const selectFromPage = (events: string[], eventName: string): { lines: string[]; selected: number } => {
    const lines: string[] = [];
    let selected = 0;
    for (const text of events) {
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        record = undefined;
      }
      const reason = record === undefined ? 'CloudTrailEvent is not valid JSON' : malformedReason(record);
      if (reason) {
        state.stats.malformedRecords++;
        progress.skip({ source: partition.label, key: eventName, reason: `malformed record: ${reason}` });
        continue;
      }
      state.stats.parsed++;
      const line = recordLine(rules, record as CloudTrailRecord, recordsWindow);
      lines.push(JSON.stringify(line));
      selected += line.selected.length;
    }
    return { lines, selected };
  };
  const client = await createLookupClient(source, partition.lookup, counters);
  try {
    while (state.position.eventIndex < queries.length) {
      const query = {
        eventName: queries[state.position.eventIndex].eventName,
        startTime: new Date(state.position.startMs),
        endTime: new Date(state.position.endMs),
      };
      for await (const page of lookupEventPages(client, query, state.position.nextToken, counters)) {
        if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason ?? new Error('cancelled');
        const { lines, selected } = selectFromPage(page.events, query.eventName);
        progress.append(lines, selected);
        state.stats.records += page.events.length;
        state.position = { ...state.position, nextToken: page.nextToken };
        saveCounters();
        context.heartbeat(state);
      }
      state.position = positionAt(state.position.eventIndex + 1);
      context.heartbeat(state);
    }
  } catch (error) {
    saveCounters();
    context.heartbeat(state);
    const message = `LookupEvents ${partition.label}: ${(error as Error).name}: ${(error as Error).message}`;
    if (isThrottling(error)) {
      throw ApplicationFailure.create({ message, type: 'ThrottlingException', nextRetryDelay: throttleDelayMs(context.info.attempt) });
    }
    if ((error as Error).name === 'InvalidNextTokenException') {
      // the token no longer fits its query: start that event name again rather than fail
      state.position = { ...state.position, nextToken: undefined };
      context.heartbeat(state);
      throw ApplicationFailure.create({ message, type: 'InvalidNextTokenException' });
    }
    if (isPermanentLookupError(error)) throw permanentFailure(message);
    throw error;
  } finally {
    client.destroy();
    progress.close();
  }
  saveCounters();
  return progress.finish(input.store);
}
