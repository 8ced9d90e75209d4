import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type * as activities from '../../src/activities';
import type { CorrelateInput, PlanGroup, PlanSlice, ScanPartitionInput, ScanSummary } from '../../src/activities/types';
import { DailyScanWorkflow, RangeScanWorkflow, ScheduledScanWorkflow } from '../../src/workflows';
import { temporalAddress } from '../helpers/services';

type Activities = typeof activities;

const config = {
  sources: [
    { type: 'directory' as const, path: '/logs/a' },
    { type: 'directory' as const, path: '/logs/b' },
  ],
  rules: { PH_Rule_ES_IMPORT_AWS_15: {} },
  findingsDirectory: '/findings',
};

/** The text of every payload in a history (workflow and activity inputs and results). */
function payloadTexts(value: unknown, texts: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) payloadTexts(item, texts);
  else if (value && typeof value === 'object') {
    const { metadata, data } = value as { metadata?: unknown; data?: unknown };
    if (metadata && data instanceof Uint8Array) texts.push(Buffer.from(data).toString('utf8'));
    else for (const inner of Object.values(value)) payloadTexts(inner, texts);
  }
  return texts;
}

/** storedPlan: planScan answers as for a large plan (its groups in the scan's store), and batches read their slices. */
function mockActivities(overrides: Partial<Activities> = {}, { storedPlan = false } = {}) {
  const calls = {
    scanned: [] as ScanPartitionInput[],
    correlated: [] as CorrelateInput[],
    gathered: [] as number[],
    cleaned: [] as string[],
    routed: [] as number[],
    sliced: [] as PlanSlice[],
  };
  const stored = new Map<string, PlanGroup[]>();
  const impl: Activities = {
    async planPartitions(cfg) {
      return cfg.sources.map((_source, sourceIndex): PlanGroup => ({ sourceIndex, directory: true }));
    },
    async planScan(input) {
      const groups = await impl.planPartitions(input.config);
      const counts = groups.map((group) => group.s3?.regions.length ?? 1);
      if (!storedPlan) return { counts, groups: { lines: groups.length, inline: groups.map((group) => `${JSON.stringify(group)}\n`).join('') } };
      stored.set(input.scanId, groups);
      return { counts, groups: { lines: groups.length, key: 'plan.jsonl' } };
    },
    async planGroups(input) {
      calls.sliced.push(input);
      return stored.get(input.scanId)!.slice(input.firstGroup, input.firstGroup + input.groupCount);
    },
    async scanPartition(input) {
      calls.scanned.push(input);
      return {
        partitionId: input.partition.id,
        label: input.partition.label,
        selected: { lines: 1, inline: `{"ruleId":"x","event":{"eventID":"${input.partition.id}","eventTimeMs":0}}\n` },
        stats: { objects: 3, records: 30, parsed: 2, selected: 1, bytes: 1000, malformedRecords: 0 },
        skipped: [{ source: input.partition.label, key: 'bad.json.gz', reason: 'unexpected end of file' }],
        skippedCount: 1,
        resumedFromCheckpoint: false,
      };
    },
    async lookupEventsPartition(input) {
      return impl.scanPartition(input);
    },
    async gatherSelected(input) {
      calls.gathered.push(input.blobs.length);
      return { lines: input.blobs.reduce((n, b) => n + b.lines, 0), inline: input.blobs.map((b) => b.inline ?? '').join('') };
    },
    async correlate(input) {
      calls.correlated.push(input);
      return {
        findings: { lines: 2, inline: '' },
        findingsByRule: { PH_Rule_ES_IMPORT_AWS_15: 2 },
        findingIds: ['f-1', 'f-2'],
        selectedEvents: 2,
        duplicateEvents: 0,
      };
    },
    async storeFindings(input) {
      return { file: `${input.directory}/${input.date}.jsonl`, stored: 2, added: 2, updated: 0 };
    },
    async cleanupScratch(scanId) {
      calls.cleaned.push(scanId);
    },
    async routeFindings(input) {
      calls.routed.push(input.findings.lines);
      return { incidents: ['incident-x'], routed: input.findings.lines, alreadyRouted: 0 };
    },
    async deliverNotification() {
      throw new Error('not used by scans');
    },
    async findingsTable(input) {
      return `| rule |\n|---|\n(${input.findings.lines} finding(s))`;
    },
    ...overrides,
  };
  return { impl, calls };
}

describe('DailyScanWorkflow (activities mocked)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: temporalAddress() });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function run(impl: Activities, date = '2026-11-02'): Promise<ScanSummary> {
    const taskQueue = `wf-test-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: impl,
    });
    return worker.runUntil(env.client.workflow.execute(DailyScanWorkflow, { taskQueue, workflowId: `scan-${date}-${taskQueue}`, args: [{ date, config }] }));
  }

  test('scans every planned partition over the day, correlates all their selections once, stores and cleans up', async () => {
    const { impl, calls } = mockActivities();
    const summary = await run(impl);
    expect(calls.scanned.map((c) => c.partition.id).sort()).toEqual(['0-dir', '1-dir']);
    expect(calls.scanned[0].period).toEqual({ startMs: Date.parse('2026-11-02T00:00:00Z'), endMs: Date.parse('2026-11-03T00:00:00Z') });
    expect(calls.scanned.map((c) => c.source)).toEqual(expect.arrayContaining(config.sources));
    // one batch of both partitions, gathered in plan order, then one correlate
    expect(calls.gathered).toEqual([2]);
    expect(calls.correlated).toHaveLength(1);
    expect(calls.correlated[0].selected).toEqual([{ lines: 2, inline: expect.stringMatching(/"0-dir".*\n.*"1-dir"/s) }]);
    expect(calls.cleaned).toHaveLength(1);
    expect(calls.routed).toEqual([]); // this config has no incidents section
    expect(summary).toMatchObject({
      date: '2026-11-02',
      partitions: 2,
      failedPartitions: [],
      objects: 6,
      records: 60,
      skippedCount: 2,
      findings: 2,
      findingIds: ['f-1', 'f-2'],
      store: { stored: 2, added: 2 },
    });
  });

  test('with incidents enabled, the findings go to incidents after they are stored', async () => {
    const { impl, calls } = mockActivities();
    const taskQueue = `wf-test-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: impl,
    });
    const summary = await worker.runUntil(
      env.client.workflow.execute(DailyScanWorkflow, {
        taskQueue,
        workflowId: `scan-incidents-${taskQueue}`,
        args: [{ date: '2026-11-02', config: { ...config, incidents: { enabled: true, channels: [], evidenceLimit: 50, webUiUrl: 'http://localhost:8233' } } }],
      }),
    );
    expect(calls.routed).toEqual([2]);
    expect(summary.incidents).toEqual({ incidents: 1, newFindings: 2, alreadyRouted: 0 });
  });

  test('a partition that fails permanently is listed in the summary and the others still complete', async () => {
    const { impl, calls } = mockActivities();
    const scan = impl.scanPartition;
    impl.scanPartition = async (input) => {
      if (input.partition.id === '1-dir') throw ApplicationFailure.nonRetryable('directory source /logs/b: ENOENT', 'PermanentSourceError');
      return scan(input);
    };
    const summary = await run(impl);
    expect(summary.failedPartitions).toEqual([{ label: 'directory /logs/b', error: 'directory source /logs/b: ENOENT' }]);
    expect(summary.objects).toBe(3);
    expect(calls.gathered).toEqual([1]);
  });

  test('LookupEvents partitions go to lookupEventsPartition, and the summary counts per source', async () => {
    const { impl, calls } = mockActivities();
    const lookedUp: string[] = [];
    impl.planPartitions = async () => [
      { sourceIndex: 0, directory: true },
      { sourceIndex: 1, lookup: { accountId: '111122223333', regions: ['us-east-1'] } },
    ];
    impl.lookupEventsPartition = async (input) => {
      lookedUp.push(input.partition.id);
      const result = await impl.scanPartition(input);
      return { ...result, stats: { ...result.stats, requests: 4, pages: 3, retriedAttempts: 1 } };
    };
    const summary = await run(impl);
    expect(lookedUp).toEqual(['1-lookup-111122223333-us-east-1']);
    expect(calls.scanned.map((c) => c.partition.id).sort()).toEqual(['0-dir', '1-lookup-111122223333-us-east-1']);
    expect(summary.sources).toEqual([
      expect.objectContaining({ source: 'directory /logs/a', partitions: 1, objects: 3 }),
      expect.objectContaining({ source: 'directory /logs/b', partitions: 1, requests: 4, pages: 3, retriedAttempts: 1 }),
    ]);
  });

  /** A scan of an S3 organisation trail of `accounts` accounts in 17 regions, its activities mocked. */
  async function scanOrganisation(accounts: number, maxConcurrentPartitions: number, storedPlan = false) {
    const { impl, calls } = mockActivities({}, { storedPlan });
    const regions = Array.from({ length: 17 }, (_, i) => `region-${i}`);
    impl.planPartitions = async () =>
      Array.from({ length: accounts }, (_, i): PlanGroup => ({ sourceIndex: 0, s3: { base: 'AWSLogs/', accountId: String(100000000000 + i), regions } }));
    const s3Config = { ...config, sources: [{ type: 's3' as const, bucket: 'trail', prefix: '', lateDelivery: 'PT1H' }], maxConcurrentPartitions };
    const taskQueue = `wf-test-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: impl,
    });
    const workflowId = `scan-org-${taskQueue}`;
    const summary = await worker.runUntil(
      env.client.workflow.execute(DailyScanWorkflow, { taskQueue, workflowId, args: [{ date: '2026-11-02', config: s3Config }] }),
    );
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    return { summary, calls, workflowId, historyEvents: history.events?.length ?? 0 };
  }

  test('an organisation plan runs in batches of child workflows of at most 64 partitions, totals kept, histories small', async () => {
    const { summary, calls, historyEvents } = await scanOrganisation(12, 128);
    // 12 accounts x 17 regions = 204 partitions: 3 accounts (51 partitions) per batch, 4 batches
    expect(summary.partitions).toBe(204);
    expect(calls.scanned).toHaveLength(204);
    expect(new Set(calls.scanned.map((c) => c.partition.id)).size).toBe(204);
    expect(calls.gathered).toEqual([51, 51, 51, 51]);
    expect(summary.objects).toBe(204 * 3);
    expect(summary.sources).toEqual([expect.objectContaining({ partitions: 204, objects: 612, records: 6120 })]);
    expect(calls.correlated[0].selected).toHaveLength(4);
    expect(historyEvents).toBeLessThan(100);
  });

  test("a plan stored in the scan's store: each batch reads its own groups, the same partitions are scanned, and no history holds the groups", async () => {
    const inline = await scanOrganisation(12, 128);
    const { summary, calls, workflowId } = await scanOrganisation(12, 128, true);
    expect(summary.partitions).toBe(204);
    expect(calls.scanned.map((c) => c.partition.id).sort()).toEqual(inline.calls.scanned.map((c) => c.partition.id).sort());
    expect(calls.sliced.map(({ firstGroup, groupCount }) => [firstGroup, groupCount]).sort((a, b) => a[0] - b[0])).toEqual([
      [0, 3],
      [3, 3],
      [6, 3],
      [9, 3],
    ]);
    expect(inline.calls.sliced).toEqual([]);
    // a payload of plan groups (their regions) that names the first and the last account holds the whole plan: the inline plan's result does, nothing of the stored one's
    const holdsPlan = async (id: string) => {
      const histories = [await env.client.workflow.getHandle(id).fetchHistory()];
      for await (const child of env.client.workflow.list({ query: `WorkflowId STARTS_WITH '${id}-'` }))
        histories.push(await env.client.workflow.getHandle(child.workflowId).fetchHistory());
      expect(histories.length).toBe(5);
      return histories
        .flatMap((h) => payloadTexts(h))
        .filter((text) => text.includes('regions') && text.includes('100000000000') && text.includes('100000000011')).length;
    };
    expect(await holdsPlan(inline.workflowId)).toBeGreaterThan(0);
    expect(await holdsPlan(workflowId)).toBe(0);
  });

  test('more than 32 batches run in shards of 32 (ScanShardWorkflow), so the scan itself sees a few children', async () => {
    const { summary, calls, historyEvents } = await scanOrganisation(100, 256);
    // 1,700 partitions in 34 batches of 3 accounts (the last of 1): shards of 32 and 2 batches
    expect(summary.partitions).toBe(1700);
    expect(calls.scanned).toHaveLength(1700);
    expect(summary.sources).toEqual([expect.objectContaining({ partitions: 1700, objects: 5100 })]);
    // a gather per batch (33 of 3 accounts, one of 1), and one per shard after its batches (32, then 2)
    expect(calls.gathered.slice(0, 33)).toEqual([...Array(32).fill(51), 32]);
    expect(calls.gathered.slice(33, 35).sort((a, b) => a - b)).toEqual([17, 51]);
    expect(calls.gathered.slice(35)).toEqual([2]);
    expect(calls.correlated[0].selected).toHaveLength(2);
    expect(historyEvents).toBeLessThan(60);
  }, 120_000);

  test('an invalid date fails the workflow without running any activity', async () => {
    const { impl, calls } = mockActivities();
    await expect(run(impl, '2026-02-30x')).rejects.toThrow();
    expect(calls.scanned).toHaveLength(0);
  });
});

describe('ScheduledScanWorkflow and RangeScanWorkflow (scan activities mocked)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: temporalAddress() });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(impl: Activities, work: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = `wf-test-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: impl,
    });
    return worker.runUntil(work(taskQueue));
  }

  test('a scheduled run started without a schedule scans the day before its start and re-scans rescanDays before that', async () => {
    const { impl, calls } = mockActivities();
    const result = await withWorker(impl, (taskQueue) =>
      env.client.workflow.execute(ScheduledScanWorkflow, { taskQueue, workflowId: `sched-${taskQueue}`, args: [{ config, rescanDays: 2 }] }),
    );
    const started = new Date(Date.parse(result.scheduledFor));
    const day = (n: number) => new Date(Date.UTC(started.getUTCFullYear(), started.getUTCMonth(), started.getUTCDate() - n)).toISOString().slice(0, 10);
    expect(result.days.map((d) => d.date)).toEqual([day(1), day(2), day(3)]);
    expect(result.days.every((d) => d.status === 'Completed' && d.findings === 2)).toBe(true);
    const periods = new Set(calls.scanned.map((c) => new Date(c.period.startMs).toISOString().slice(0, 10)));
    expect([...periods].sort()).toEqual([day(3), day(2), day(1)]);
  });

  test('a range continues as new every daysPerRun days and reports every day once, failed days included', async () => {
    const { impl } = mockActivities();
    const plan = impl.planPartitions;
    let planned = 0;
    impl.planPartitions = async (cfg) => {
      planned++;
      return plan(cfg);
    };
    const correlate = impl.correlate;
    impl.correlate = async (input) => {
      if (input.period.startMs === Date.parse('2026-08-03T00:00:00Z')) throw ApplicationFailure.nonRetryable('disk full', 'StoreError');
      return correlate(input);
    };
    const result = await withWorker(impl, async (taskQueue) => {
      const handle = await env.client.workflow.start(RangeScanWorkflow, {
        taskQueue,
        workflowId: `range-${taskQueue}`,
        args: [{ from: '2026-08-01', to: '2026-08-05', config, concurrency: 2, daysPerRun: 2 }],
      });
      const output = await handle.result();
      const runs = [];
      for await (const run of env.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) runs.push(run.runId);
      return { output, runs };
    });
    expect(result.output.days.map((d) => d.date)).toEqual(['2026-08-01', '2026-08-02', '2026-08-03', '2026-08-04', '2026-08-05']);
    expect(result.output.failedDays).toEqual([expect.objectContaining({ date: '2026-08-03', status: 'Failed', error: 'disk full' })]);
    expect(result.output.findings).toBe(8);
    expect(result.runs).toHaveLength(3);
    expect(planned).toBe(5);
  });
});
