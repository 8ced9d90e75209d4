import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { gzipSync } from 'node:zlib';
import type { ScanSummary } from '../../src/activities/types';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { parseConfig } from '../../src/config/load';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import { LOOKUP_REQUESTS_PER_SECOND } from '../../src/sources/lookup-events';
import type { Finding } from '../../src/rules/types';
import { BIN, jsonLines, runCli, tempDir, writeConfig } from '../helpers/cli';
import { type LookupServer, startLookupEventsServer } from '../helpers/lookup-events-server';
import { s3Endpoint, temporalAddress } from '../helpers/services';
import { projectFindings, recordsOf } from '../helpers/trail-records';
import { expectedRule1, expectedRule2 } from './expected-demo-findings';

// LookupEvents serves the last 90 days: scan a recent day.
const DATE = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
const trail = buildSampleTrail(DATE);
const records = recordsOf(trail);
const REGIONS = ['eu-west-1', 'us-east-1'];
/** How long the throttling storm lasts, from the first request the server sees. */
const STORM_MS = 142_000;

function isDataEvent(r: CloudTrailRecord): boolean {
  return r.eventCategory === 'Data' || r.managementEvent === false;
}

async function uploadToS3(bucket: string, files: Map<string, Buffer>): Promise<void> {
  const client = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint(), forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of files) await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  client.destroy();
}

/** The trail's files with only their data events (PutObject), as a trail that lacks management events. */
function dataEventsOnly(files: Map<string, Buffer>): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [key, body] of files) {
    if (!key.includes('/CloudTrail/')) continue;
    const kept = recordsOf(new Map([[key, body]])).filter(isDataEvent);
    if (kept.length) out.set(key, gzipSync(JSON.stringify({ Records: kept })));
  }
  return out;
}

function lookupSource(server: LookupServer) {
  return { type: 'lookupEvents', regions: REGIONS, accounts: [{ accountId: '111122223333' }], endpoint: server.endpoint };
}

async function scan(config: object, extraArgs: string[] = []) {
  const dir = tempDir('lookup');
  const file = writeConfig(dir, { findings: { directory: join(dir, 'findings') }, ...config });
  const result = await runCli(['scan', '--embedded', '--json', '--config', file, '--date', DATE, ...extraArgs]);
  return { ...result, findings: jsonLines<Finding>(result.stdout) };
}

/** The scan exited 0; when it did not, its stderr is in the failure message. */
function expectSucceeded(result: { code: number | null; stderr: string }): void {
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
}

const ids = (findings: Finding[]) => findings.map((f) => f.id).sort();
const sortById = (findings: Finding[]) => [...findings].sort((a, b) => a.id.localeCompare(b.id));

/**
 * `count` copies of alice's successful SendCommand (in `region`, by default its own), with ids `<prefix>-0000`…,
 * 30 an hour from midnight, two minutes apart.
 */
function bulkSendCommands(count: number, prefix: string, region?: string): CloudTrailRecord[] {
  const template = records.find((r) => r.eventName === 'SendCommand' && !r.errorCode)!;
  return Array.from({ length: count }, (_, i) => ({
    ...template,
    ...(region ? { awsRegion: region } : {}),
    eventID: `${prefix}-${String(i).padStart(4, '0')}`,
    eventTime: `${DATE}T${String(Math.floor(i / 30)).padStart(2, '0')}:${String((i * 2) % 60).padStart(2, '0')}:07Z`,
  }));
}

/** Arrival times (ms) of the requests the server saw, one ascending list per access key and region. */
function arrivalsByScope(server: LookupServer): Map<string, number[]> {
  const byScope = new Map<string, number[]>();
  for (const r of server.requests) {
    const key = `${r.accessKeyId}/${r.region}`;
    byScope.set(key, [...(byScope.get(key) ?? []), r.at]);
  }
  for (const times of byScope.values()) times.sort((a, b) => a - b);
  return byScope;
}

/** The most requests that any closed window [t, t + windowMs] holds, for ascending times. */
function busiestWindow(times: number[], windowMs: number): number {
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! > windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe('LookupEvents source, through the CLI with a real Temporal dev server', () => {
  let s3Only: Finding[];

  beforeAll(async () => {
    await uploadToS3('lookup-full-trail', trail);
    await uploadToS3('lookup-data-events', dataEventsOnly(trail));
    const result = await scan({ sources: [{ type: 's3', bucket: 'lookup-full-trail', endpoint: s3Endpoint() }] });
    expectSucceeded(result);
    s3Only = result.findings;
    expect(projectFindings(s3Only)).toEqual({ rule1: expectedRule1(DATE), rule2: expectedRule2(DATE) });
  });

  test('rule 1 from LookupEvents alone; requests stay within 2 per second per account and region', async () => {
    const server = await startLookupEventsServer({ records });
    try {
      const result = await scan({ sources: [lookupSource(server)] });
      expectSucceeded(result);
      expect(projectFindings(result.findings)).toEqual({ rule1: expectedRule1(DATE), rule2: [] });
      expect(ids(result.findings)).toEqual(ids(s3Only.filter((f) => f.ruleId === 'PH_Rule_ES_IMPORT_AWS_15')));
      expect(server.budgetViolations).toBe(0);
      // one query per selected management event name, per region
      expect(new Set(server.requests.map((r) => r.eventName))).toEqual(new Set(['SendCommand', 'CreateAssociation']));
      expect(new Set(server.requests.map((r) => r.region))).toEqual(new Set(REGIONS));
      expect(result.stderr).toMatch(/lookupEvents .*: 2 partition\(s\), \d+ record\(s\), \d+ selected, 4 request\(s\), 4 page\(s\), 0 retried/);
    } finally {
      await server.close();
    }
  });

  test('rule 2 with commands from LookupEvents and PutObject data events from S3 gives the S3-only findings and ids', async () => {
    const server = await startLookupEventsServer({ records });
    try {
      const result = await scan({ sources: [lookupSource(server), { type: 's3', bucket: 'lookup-data-events', endpoint: s3Endpoint() }] });
      expectSucceeded(result);
      expect(ids(result.findings)).toEqual(ids(s3Only));
      expect(sortById(result.findings)).toEqual(sortById(s3Only));
    } finally {
      await server.close();
    }
  });

  test('both sources holding the same SendCommand count it once: identical findings, duplicates reported', async () => {
    const server = await startLookupEventsServer({ records });
    try {
      const result = await scan({ sources: [lookupSource(server), { type: 's3', bucket: 'lookup-full-trail', endpoint: s3Endpoint() }] });
      expectSucceeded(result);
      expect(sortById(result.findings)).toEqual(sortById(s3Only));
      expect(result.stderr).toMatch(/[1-9]\d* duplicate\(s\)/);
    } finally {
      await server.close();
    }
  });

  test('a throttling storm still completes with the same findings and never exceeds the budget', async () => {
    const server = await startLookupEventsServer({ records, throttle: (i) => i < 8 });
    try {
      const result = await scan({ sources: [lookupSource(server)] });
      expectSucceeded(result);
      expect(server.injectedThrottles).toBe(8);
      expect(server.budgetViolations).toBe(0);
      expect(ids(result.findings)).toEqual(ids(s3Only.filter((f) => f.ruleId === 'PH_Rule_ES_IMPORT_AWS_15')));
      expect(result.stderr).toMatch(/lookupEvents .*[1-9]\d* retried attempt\(s\)/);
    } finally {
      await server.close();
    }
  });

  test(
    'throttled without a break for over two minutes: completes with the findings of a clean run, never over 2 requests in any second',
    async () => {
      // 240 more SendCommands per region: 5 pages each after the storm, paged at the limiter's full rate
      const storm = [...records, ...bulkSendCommands(240, 'storm-use1', 'us-east-1'), ...bulkSendCommands(240, 'storm-euw1', 'eu-west-1')];
      const clean = await startLookupEventsServer({ records: storm });
      let stormStart: number | undefined;
      // every request within STORM_MS of the first one is answered ThrottlingException
      const server = await startLookupEventsServer({ records: storm, throttle: () => Date.now() - (stormStart ??= Date.now()) < STORM_MS });
      try {
        const [expected, result] = await Promise.all([scan({ sources: [lookupSource(clean)] }), scan({ sources: [lookupSource(server)] })]);
        expect(expected.code).toBe(0);
        expectSucceeded(result);
        expect(sortById(result.findings)).toEqual(sortById(expected.findings));
        // alice's 240 commands per region fall in 96 five-minute windows, each a rule 1 finding
        expect(result.findings.length).toBeGreaterThanOrEqual(96);
        // each throttled request failed one attempt, which Temporal retried
        const throttledTotal = server.requests.filter((r) => r.errorType === 'ThrottlingException').length;
        expect(server.injectedThrottles).toBe(throttledTotal);
        expect(result.stderr).toMatch(new RegExp(`lookupEvents .*, 12 page\\(s\\), ${throttledTotal} retried attempt\\(s\\)`));

        const arrivals = arrivalsByScope(server);
        expect(arrivals.size).toBe(REGIONS.length);
        const stormEnd = stormStart! + STORM_MS;
        for (const region of REGIONS) {
          const mine = server.requests.filter((r) => r.region === region);
          const throttled = mine.filter((r) => r.errorType === 'ThrottlingException').map((r) => r.at);
          const served = mine.filter((r) => r.status === 200).map((r) => r.at);
          // throttled from the first request to over two minutes later
          expect(Math.min(...throttled) - stormStart!).toBeLessThan(1000);
          expect(Math.max(...throttled) - Math.min(...throttled)).toBeGreaterThanOrEqual(120_000);
          // every request after the storm is served: 5 SendCommand pages and 1 CreateAssociation page
          expect(served).toHaveLength(6);
          expect(Math.min(...served)).toBeGreaterThanOrEqual(stormEnd);
          // the backoff is capped at 20 s: retries all along the storm, and the first one after it soon after it ends
          const times = mine.map((r) => r.at);
          expect(Math.max(...times.slice(1).map((t, i) => t - times[i]!))).toBeLessThan(25_000);
        }
        // the limiter's contract (src/sources/rate-limiter.ts): no sliding one-second window holds more than
        // LOOKUP_REQUESTS_PER_SECOND requests of one account and region, throttled or not, and no burst
        for (const times of arrivals.values()) expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(LOOKUP_REQUESTS_PER_SECOND);
        expect(server.budgetViolations).toBe(0);
      } finally {
        await clean.close();
        await server.close();
      }
    },
    STORM_MS + 90_000,
  );

  test('requests grow with matching events, not with the account activity', async () => {
    const noise = Array.from({ length: 3000 }, (_, i) => ({
      ...records.find((r) => r.eventName === 'DescribeInstances')!,
      eventID: `noise-${i}`,
      eventTime: `${DATE}T${String(i % 24).padStart(2, '0')}:30:00Z`,
    }));
    const quiet = await startLookupEventsServer({ records });
    const busy = await startLookupEventsServer({ records: [...records, ...noise] });
    try {
      const a = await scan({ sources: [lookupSource(quiet)] });
      const b = await scan({ sources: [lookupSource(busy)] });
      expect(a.code).toBe(0);
      expect(b.code).toBe(0);
      expect(busy.requests.length).toBe(quiet.requests.length);
      expect(ids(b.findings)).toEqual(ids(a.findings));
    } finally {
      await quiet.close();
      await busy.close();
    }
  });

  test('a region that answers AccessDenied fails its partition with a clear message; the other completes', async () => {
    const server = await startLookupEventsServer({ records, fail: ({ region }) => (region === 'eu-west-1' ? 'AccessDeniedException' : undefined) });
    try {
      const result = await scan({ sources: [lookupSource(server)] });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/FAILED partition lookupEvents 111122223333\/eu-west-1: .*AccessDeniedException/);
      // the closing line names the failed partition and its cause (issue 14)
      expect(result.stderr.trim().split('\n').pop()).toMatch(
        /^trailwarden: scan of \d{4}-\d{2}-\d{2} partly failed, partitions: 1 of 2 failed: lookupEvents 111122223333\/eu-west-1: .*AccessDeniedException/,
      );
      expect(projectFindings(result.findings).rule1).toEqual(expectedRule1(DATE).filter((f) => f.user !== 'carol'));
      expect(server.requests.filter((r) => r.region === 'eu-west-1')).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  test('cross-account access through STS (roleArn, externalId), and every enabled region from ec2:DescribeRegions', async () => {
    const server = await startLookupEventsServer({ records });
    try {
      const result = await scan({
        sources: [
          {
            type: 'lookupEvents',
            accounts: [{ accountId: '444455556666', roleArn: 'arn:aws:iam::444455556666:role/trailwarden-read', externalId: 'tw-ext-1' }],
            endpoint: server.endpoint,
            stsEndpoint: s3Endpoint(),
            ec2Endpoint: s3Endpoint(),
          },
        ],
      });
      expectSucceeded(result);
      // moto's STS hands out temporary credentials; every request was signed with them, not the caller's
      const keys = new Set(server.requests.map((r) => r.accessKeyId));
      expect(keys.has(process.env.AWS_ACCESS_KEY_ID!)).toBe(false);
      expect([...keys].every((k) => /^ASIA/.test(k))).toBe(true);
      // moto's EC2 lists its enabled regions: both of the trail's regions are among them, and more
      const regions = new Set(server.requests.map((r) => r.region));
      expect(regions.has('us-east-1') && regions.has('eu-west-1')).toBe(true);
      expect(regions.size).toBeGreaterThan(5);
      expect(server.budgetViolations).toBe(0);
      expect(projectFindings(result.findings).rule1).toEqual(expectedRule1(DATE));
    } finally {
      await server.close();
    }
  });

  test('a date older than 90 days is refused up front with exit 2', async () => {
    const old = new Date(Date.now() - 120 * 86_400_000).toISOString().slice(0, 10);
    const dir = tempDir('old');
    const file = writeConfig(dir, { sources: [{ type: 'lookupEvents', regions: ['us-east-1'] }] });
    const result = await runCli(['scan', '--embedded', '--config', file, '--date', old]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/older than the 90 days LookupEvents keeps/);
  });

  test('a worker killed mid-pagination resumes from its NextToken checkpoint', async () => {
    const many = bulkSendCommands(600, 'bulk');
    const server = await startLookupEventsServer({ records: many });
    const taskQueue = `lookup-kill-${Date.now()}`;
    const env = { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: taskQueue };
    const startWorker = (): ChildProcess => spawn(process.execPath, [BIN, 'worker'], { env, stdio: 'ignore' });
    const config = parseConfig({ sources: [{ ...lookupSource(server), regions: ['us-east-1'] }], findings: { directory: join(tempDir('kill'), 'f') } });
    const connection = await Connection.connect({ address: temporalAddress() });
    const client = new Client({ connection });
    let worker = startWorker();
    try {
      const handle = await client.workflow.start('DailyScanWorkflow', {
        taskQueue,
        workflowId: `scan-${DATE}-kill-${taskQueue}`,
        args: [{ date: DATE, config: { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory } }],
      });
      const deadline = Date.now() + 60_000;
      while (server.requests.filter((r) => r.status === 200).length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      worker.kill('SIGKILL');
      const pagesBeforeKill = server.requests.filter((r) => r.status === 200).length;
      expect(pagesBeforeKill).toBeGreaterThanOrEqual(8);
      worker = startWorker();
      const summary = (await handle.result()) as ScanSummary;
      // 600 SendCommands: 12 pages, plus one CreateAssociation page, for an uninterrupted run; a restart
      // from scratch would ask for all 13 again after the pages served before the kill
      const served = server.requests.filter((r) => r.status === 200).length;
      expect(served).toBeLessThanOrEqual(13 + pagesBeforeKill - 4);
      expect(server.requests.filter((r) => r.status === 200 && r.nextToken).length).toBeGreaterThan(10);
      expect(summary.findings).toBe(new Set(many.map((r) => Math.floor(Date.parse(r.eventTime!) / 300_000))).size);
      expect(summary.selectedEvents).toBeGreaterThanOrEqual(600);
    } finally {
      worker.kill('SIGKILL');
      await connection.close();
      await server.close();
    }
  });

  test('two workers and overlapping scans of one account and region: one lookup at a time, never over 2 requests/s', async () => {
    const many = bulkSendCommands(600, 'overlap');
    const server = await startLookupEventsServer({ records: many });
    const taskQueue = `lookup-overlap-${Date.now()}`;
    // two workers as on two machines: each its own working and temp folders
    const workers = [0, 1].map((i) => {
      const home = tempDir(`overlap-worker-${i}`);
      return spawn(process.execPath, [BIN, 'worker'], {
        cwd: home,
        env: { ...process.env, TMPDIR: home, TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: taskQueue },
        stdio: 'ignore',
      });
    });
    const config = parseConfig({
      sources: [{ ...lookupSource(server), regions: ['us-east-1'] }],
      findings: { directory: join(tempDir('overlap'), 'f') },
      incidents: { enabled: false },
    });
    const connection = await Connection.connect({ address: temporalAddress() });
    const client = new Client({ connection });
    try {
      const scans = await Promise.all(
        ['a', 'b', 'c'].map((run) =>
          client.workflow.start('DailyScanWorkflow', {
            taskQueue,
            workflowId: `scan-${DATE}-overlap-${run}-${taskQueue}`,
            args: [{ date: DATE, config: { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory } }],
          }),
        ),
      );
      const summaries = (await Promise.all(scans.map((scan) => scan.result()))) as ScanSummary[];
      const windows = new Set(many.map((r) => Math.floor(Date.parse(r.eventTime!) / 300_000))).size;
      expect(summaries.map((s) => s.findings)).toEqual([windows, windows, windows]);
      // each scan's 13 pages, one scan's lookup after another's: the budget was never exceeded
      expect(server.requests.filter((r) => r.status === 200)).toHaveLength(3 * 13);
      expect(server.budgetViolations).toBe(0);
      for (const times of arrivalsByScope(server).values()) expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(LOOKUP_REQUESTS_PER_SECOND);
    } finally {
      for (const worker of workers) worker.kill('SIGKILL');
      await connection.close();
      await server.close();
    }
  }, 180_000);
});
