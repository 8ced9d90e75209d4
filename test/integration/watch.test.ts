import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Client, Connection } from '@temporalio/client';
import { classifyKey } from '../../src/cloudtrail/keys';
import { parseConfig, scanConfigFields } from '../../src/config/load';
import { collect } from '../../src/watch/collect';
import { correlateDay } from '../../src/watch/correlate-day';
import { dayStartMs } from '../../src/watch/days';
import { readDay, watchStore } from '../../src/watch/day-store';
import { forgetListings } from '../../src/watch/listing-cursors';
import { sortById } from '../helpers/reference-evaluator';
import { trailwardenEvaluation } from '../helpers/trailwarden-scan';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import type { Finding } from '../../src/rules/types';
import { findingsStoreOf } from '../../src/store/findings-store';
import { createWorker } from '../../src/workers/worker';
import { WATCH_WORKFLOW_ID, type WatchProgress, watchProgressQuery } from '../../src/workflows/watch';
import { BIN, jsonLines, runCli, tempDir, writeConfig } from '../helpers/cli';
import { TEST_NAMESPACES, s3Endpoint, temporalAddress } from '../helpers/services';
import { projectFindings } from '../helpers/trail-records';
import { waitFor } from '../helpers/wait';
import { deliveryOrder, notifiedBucket, s3, sqs } from '../helpers/watched-trail';
import { iamUser, sendCommand } from '../rules/fixtures';
import { startLookupEventsServer } from '../helpers/lookup-events-server';
import { expectedRule1, expectedRule2 } from './expected-demo-findings';

/** Yesterday (UTC): with `dayEndsAfter: P1D` its watch is open whenever the test runs, and so is today's. */
const DAY = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const TODAY = new Date().toISOString().slice(0, 10);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Watching {
  env: NodeJS.ProcessEnv;
  client: Client;
  bucket: string;
  findingsDir: string;
  notificationsFile: string;
  config: string;
}

async function watchProgress(client: Client): Promise<WatchProgress> {
  return client.workflow.getHandle(WATCH_WORKFLOW_ID).query(watchProgressQuery);
}

/** Starts `trailwarden watch --json` as a user does; its stdout collects the findings it prints. */
function startWatchCli(w: Watching): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--config', w.config], {
    env: { ...process.env, ...w.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, output: () => `${stdout}\n--- stderr ---\n${stderr}`, exited };
}

describe('trailwarden watch against moto S3 and SQS, confirmed by the daily scan', () => {
  const taskQueue = `watch-${Date.now()}`;
  let connection: Connection;
  beforeAll(async () => {
    connection = await Connection.connect({ address: temporalAddress() });
  });
  afterAll(async () => {
    await connection?.close();
  });

  async function inNamespace(
    namespace: (typeof TEST_NAMESPACES)[number],
    source: (bucket: string) => Promise<object>,
    deliver: (w: Watching, files: Map<string, Buffer>) => Promise<void>,
    counts: { dropped?: Record<string, number>; maxBatchesOfDay?: number },
  ) {
    const dir = tempDir(namespace);
    const bucket = `${namespace}-${Date.now()}`;
    const notificationsFile = join(dir, 'notifications.jsonl');
    const config = writeConfig(dir, {
      sources: [await source(bucket)],
      findings: { directory: './findings' },
      notifications: [{ type: 'file', path: './notifications.jsonl' }],
      watch: { dayEndsAfter: 'P1D' },
    });
    const env = {
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: namespace,
      TRAILWARDEN_TASK_QUEUE: taskQueue,
      TRAILWARDEN_STATUS_INTERVAL_MS: '1000',
    };
    const w: Watching = { env, client: new Client({ connection, namespace }), bucket, findingsDir: join(dir, 'findings'), notificationsFile, config };
    const files = buildSampleTrail(DAY);
    const trailObjects = [...files.keys()].filter((key) => classifyKey(key) === 'trail');
    const { worker, connection: workerConnection } = await createWorker({ address: temporalAddress(), namespace, taskQueue });
    await worker.runUntil(async () => {
      const watch = startWatchCli(w);
      try {
        await waitFor(
          'the watch to start',
          () =>
            w.client.workflow
              .getHandle(WATCH_WORKFLOW_ID)
              .describe()
              .then(
                (d) => d.status.name === 'RUNNING' || undefined,
                () => undefined,
              ),
          30_000,
        );
        await deliver(w, files);

        // every trail object scanned once (the late one belongs to both days), and the day correlated
        const progress = await waitFor(
          'the watch to scan and correlate every delivered object',
          async () => {
            const p = await watchProgress(w.client);
            return p.objectsByDay?.[DAY] === trailObjects.length && p.dirty.length === 0 && p.totals.objects === trailObjects.length ? p : undefined;
          },
          120_000,
        ).catch((error) => {
          throw new Error(`${error.message}\n${watch.output()}`);
        });
        expect(progress.objectsByDay?.[TODAY]).toBe(1);
        expect(progress.totals.skipped).toBe(1); // the corrupt object, reported once
        for (const [reason, n] of Object.entries(counts.dropped ?? {})) expect(progress.dropped[reason]).toBe(n);
        // one store write per round and day: objects that came together are one batch
        const batches = readdirSync(join(w.findingsDir, 'watch')).flatMap((rules) => readdirSync(join(w.findingsDir, 'watch', rules, 'days', DAY, 'objects')));
        expect(batches.length).toBeLessThanOrEqual(counts.maxBatchesOfDay ?? trailObjects.length);

        const watched = await findingsStoreOf({ directory: w.findingsDir }).read(DAY);
        expect(projectFindings(watched)).toEqual({ rule1: expectedRule1(DAY), rule2: expectedRule2(DAY) });
        // rule 1's alice window grew from 2 to 3 events across two files: one finding, updated
        const printed = await waitFor(
          'the CLI to print every finding',
          () => {
            const lines = jsonLines<Finding & { watch: { detectedAt: string; deliveredAt: string } }>(watch.output().split('--- stderr ---')[0]);
            return watched.every((f) => lines.some((l) => l.id === f.id && l.count === f.count)) ? lines : undefined;
          },
          30_000,
        );
        for (const line of printed) expect(Date.parse(line.watch.detectedAt)).toBeGreaterThanOrEqual(Date.parse(line.watch.deliveredAt));

        const stop = await runCli(['watch', '--stop', '--config', w.config], { env });
        expect(stop.stderr).toContain('stopped');
        expect(stop.code).toBe(0);
        expect(await watch.exited).toBe(0);

        // every incident the watch opened was notified exactly once
        const notifiedByWatch = await waitFor('the watch notifications', () => {
          const lines = existsSync(notificationsFile)
            ? jsonLines<{ incident: { incidentId: string; evidence: { id: string }[] } }>(readFileSync(notificationsFile, 'utf8'))
            : [];
          return lines.length >= 6 ? lines : undefined;
        });

        // the daily scan of the same day: the same findings, same ids, unchanged in the store, nothing notified again
        const scan = await runCli(['scan', '--config', w.config, '--date', DAY, '--json'], { env });
        expect(scan.code).toBe(0);
        const daily = jsonLines<Finding>(scan.stdout);
        expect(daily.map((f) => f.id).sort()).toEqual(watched.map((f) => f.id).sort());
        expect(new Map(daily.map((f) => [f.id, f]))).toEqual(new Map(watched.map((f) => [f.id, f])));
        expect(scan.stderr).toContain(`(0 new, 0 updated, ${watched.length} in file)`);
        expect(scan.stderr).toContain(`incidents: 0 new finding(s) sent to 0 incident(s); ${watched.length} already sent by an earlier run`);
        expect(scan.stderr).toMatch(
          new RegExp(`watch: ${watched.length} of ${watched.length} finding\\(s\\) found first by trailwarden watch; delivery -> detection p50 [\\d.]+ s`),
        );
        await sleep(2000);
        const notified = jsonLines<{ incident: { incidentId: string; evidence: { id: string }[] } }>(readFileSync(notificationsFile, 'utf8'));
        expect(notified).toHaveLength(notifiedByWatch.length);
        const incidents = notified.map((n) => n.incident.incidentId);
        expect(new Set(incidents).size).toBe(incidents.length);
        // five rule 1 incidents (today's carol finding joins hers) and one for rule 2's exfiltration
        expect(incidents).toHaveLength(6);

        // `trailwarden findings` shows how soon after delivery the watch found them
        const listed = await runCli(['findings', '--config', w.config, '--date', DAY], { env });
        expect(listed.stdout.split('\n').filter((line) => line.includes('watch: detected'))).toHaveLength(watched.length);
        // each of them opened its incident, and its notification was accepted
        expect(listed.stdout.split('\n').filter((line) => /watch: detected [\d.]+ s after delivery, notified [\d.]+ s after delivery/.test(line))).toHaveLength(
          watched.length,
        );
      } finally {
        watch.child.kill('SIGTERM');
        await watch.exited;
      }
    });
    await workerConnection.close();
  }

  test('notifications: S3 event notifications and CloudTrail SNS messages on SQS, out of order, late and duplicated', () =>
    inNamespace(
      'tw-watch-sqs',
      async (bucket) => ({ type: 's3', bucket, endpoint: s3Endpoint(), notifications: { sqsQueueUrl: await notifiedBucket(bucket), endpoint: s3Endpoint() } }),
      async (w, files) => {
        const queueUrl = `${s3Endpoint()}/123456789012/${w.bucket}`;
        const order = deliveryOrder(files, TODAY);
        for (const [i, key] of order.entries()) {
          await s3().send(new PutObjectCommand({ Bucket: w.bucket, Key: key, Body: files.get(key) }));
          if (i === 5) {
            // the same object notified again, in CloudTrail's own SNS format (through SNS, and raw)
            const message = JSON.stringify({ s3Bucket: w.bucket, s3ObjectKey: [order[2]] });
            await sqs().send(
              new SendMessageCommand({
                QueueUrl: queueUrl,
                MessageBody: JSON.stringify({
                  Type: 'Notification',
                  MessageId: 'm-1',
                  TopicArn: 'arn:aws:sns:us-east-1:123456789012:trail',
                  Message: message,
                  Timestamp: new Date().toISOString(),
                }),
              }),
            );
            await sqs().send(
              new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ s3Bucket: 'someone-elses-bucket', s3ObjectKey: [order[2]] }) }),
            );
          }
          // a whole day's deliveries in about 15 seconds
          await sleep(i % 4 === 3 ? 1000 : 200);
        }
      },
      { dropped: { digest: 1, foreign: 1, 'S3 test event': 1 } },
    ));

  test("notifications gathered: a day's objects landing together are scanned in one round (one write), with the same findings, each incident notified once", () =>
    inNamespace(
      'tw-watch-batch',
      async (bucket) => ({ type: 's3', bucket, endpoint: s3Endpoint(), notifications: { sqsQueueUrl: await notifiedBucket(bucket), endpoint: s3Endpoint() } }),
      async (w, files) => {
        // all within a second or two, inside one batch window (the default ten seconds)
        await Promise.all(deliveryOrder(files, TODAY).map((key) => s3().send(new PutObjectCommand({ Bucket: w.bucket, Key: key, Body: files.get(key) }))));
      },
      { dropped: { digest: 1, 'S3 test event': 1 }, maxBatchesOfDay: 2 },
    ));

  test('a round gathers what is notified within watch.batchWindow of the first message, in one write per day, correlated as plain parsing gives', async () => {
    const bucket = `watch-window-${Date.now()}`;
    const queueUrl = await notifiedBucket(bucket);
    const dir = tempDir('watch-window');
    const source = { type: 's3' as const, bucket, endpoint: s3Endpoint(), notifications: { sqsQueueUrl: queueUrl, endpoint: s3Endpoint() } };
    const config = scanConfigFields(parseConfig({ sources: [source], findings: { directory: join(dir, 'findings') }, watch: { dayEndsAfter: 'P1D' } }));
    const files = buildSampleTrail(DAY);
    const keys = [...files.keys()].filter((key) => classifyKey(key) === 'trail' && key.includes(`/${DAY.replace(/-/g, '/')}/`)).sort();
    const put = (key: string) => s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: files.get(key) }));
    const round = (waitSeconds: number, batchWindowMs: number) => collect({ config, days: [DAY, TODAY], pollSources: [], waitSeconds, batchWindowMs });
    const batches = () =>
      readdirSync(join(dir, 'findings', 'watch')).flatMap((rules) => readdirSync(join(dir, 'findings', 'watch', rules, 'days', DAY, 'objects')));
    expect((await round(0, 0)).dropped).toEqual({ 'S3 test event': 1 });

    const [early, late, rest] = [keys.slice(0, 3), keys.slice(3, 6), keys.slice(6)];
    for (const key of early) await put(key);
    const gathering = round(10, 4000);
    await sleep(1500);
    for (const key of late) await put(key);
    const gathered = await gathering;
    expect(gathered.objects).toBe(early.length + late.length);
    expect(gathered.deleted).toBe(early.length + late.length);
    expect(batches()).toHaveLength(1);

    for (const key of rest) await put(key);
    await sleep(500);
    const next = await round(10, 0);
    expect(next.objects).toBe(rest.length);
    expect(batches()).toHaveLength(2);
    expect((await round(0, 0)).objects).toBe(0);

    const day = await correlateDay(config, DAY);
    const startMs = dayStartMs(DAY);
    const plain = trailwardenEvaluation(
      keys.map((key) => ({ key, bytes: files.get(key)! })),
      config.rules,
      { startMs, endMs: startMs + 86_400_000 },
      null,
    );
    expect(day.objects).toBe(keys.length);
    expect(day.findings.length).toBeGreaterThan(0);
    expect(sortById(day.findings)).toEqual(plain.findings);
  });

  test('a poll lists the tail of each date folder, and the whole folder every ten poll intervals: a file landing far out of key order is found then', async () => {
    forgetListings();
    const bucket = `watch-tail-${Date.now()}`;
    await s3().send(new CreateBucketCommand({ Bucket: bucket }));
    const dir = tempDir('watch-tail');
    const source = { type: 's3' as const, bucket, endpoint: s3Endpoint(), pollInterval: 'PT1M' };
    const config = scanConfigFields(parseConfig({ sources: [source], findings: { directory: join(dir, 'findings') }, watch: { dayEndsAfter: 'P1D' } }));
    const files = buildSampleTrail(DAY);
    const folder = `AWSLogs/111122223333/CloudTrail/us-east-1/${DAY.replace(/-/g, '/')}/`;
    const keys = [...files.keys()].filter((key) => key.startsWith(folder) && classifyKey(key) === 'trail').sort();
    const put = (key: string) => s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: files.get(key) }));
    const poll = (nowMs: number) => collect({ config, days: [DAY, TODAY], pollSources: [0], waitSeconds: 0 }, undefined, nowMs);
    const seen = async () => (await readDay(watchStore(config), DAY)).map(({ object }) => object.key);
    // the day's first file (00:05) lands last, hours behind the newest one seen; and a file after the newest
    const [straggler, ...rest] = keys;
    const [newer, earlier] = [rest.at(-1)!, rest.slice(0, -1)];
    for (const key of earlier) await put(key);
    const startMs = Date.now();
    expect((await poll(startMs)).objects).toBe(earlier.length);
    await put(straggler);
    await put(newer);
    expect((await poll(startMs + 60_000)).objects).toBe(1);
    expect(await seen()).toContain(newer);
    expect(await seen()).not.toContain(straggler);
    expect((await poll(startMs + 10 * 60_000)).objects).toBe(1);
    expect(await seen()).toContain(straggler);
    expect(await seen()).toHaveLength(keys.length);
  });

  test('polling: ListObjectsV2 every pollInterval finds the same, whatever order the objects land in', () =>
    inNamespace(
      'tw-watch-poll',
      async (bucket) => {
        await s3().send(new CreateBucketCommand({ Bucket: bucket }));
        return { type: 's3', bucket, endpoint: s3Endpoint(), pollInterval: 'PT2S' };
      },
      async (w, files) => {
        for (const [i, key] of deliveryOrder(files, TODAY).entries()) {
          await s3().send(new PutObjectCommand({ Bucket: w.bucket, Key: key, Body: files.get(key) }));
          await sleep(i % 4 === 3 ? 1500 : 200);
        }
      },
      {},
    ));

  test('LookupEvents: polled over the time since the last request, within 2 requests/s; a late-appearing event updates its window', async () => {
    const namespace = 'tw-watch-lookup';
    const window = Math.floor((Date.now() - 10 * 60_000) / 300_000) * 300_000;
    const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const day = at(window).slice(0, 10);
    const alice = iamUser('alice', '111122223333');
    const command = (id: string, ms: number) => ({
      ...sendCommand({ eventID: id, eventTime: at(ms), userIdentity: alice, recipientAccountId: '111122223333' }),
      awsRegion: 'us-east-1',
    });
    const server = await startLookupEventsServer({ records: [command('lk-1', window + 10_000)] });
    const dir = tempDir(namespace);
    const config = writeConfig(dir, {
      sources: [{ type: 'lookupEvents', regions: ['us-east-1'], accounts: [{ accountId: '111122223333' }], endpoint: server.endpoint, pollInterval: 'PT2S' }],
      findings: { directory: './findings' },
      notifications: [{ type: 'file', path: './notifications.jsonl' }],
    });
    const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: namespace, TRAILWARDEN_TASK_QUEUE: taskQueue };
    const client = new Client({ connection, namespace });
    const store = findingsStoreOf({ directory: join(dir, 'findings') });
    const { worker, connection: workerConnection } = await createWorker({ address: temporalAddress(), namespace, taskQueue });
    try {
      await worker.runUntil(async () => {
        const watch = startWatchCli({
          env,
          client,
          bucket: '',
          findingsDir: join(dir, 'findings'),
          notificationsFile: join(dir, 'notifications.jsonl'),
          config,
        });
        try {
          const [first] = await waitFor('the first finding', async () => ((await store.read(day)).length ? store.read(day) : undefined), 60_000);
          expect(first).toMatchObject({ user: 'alice', count: 1 });
          // an event of the same window that LookupEvents shows only now, and one of a new window
          server.addRecords([command('lk-2', window + 40_000), command('lk-3', window + 300_000 + 5_000)]);
          const later = await waitFor(
            'the window updated and the new one found',
            async () => {
              const found = await store.read(day);
              return found.length === 2 && found.some((f) => f.id === first.id && f.count === 2) ? found : undefined;
            },
            60_000,
          );
          expect(later.find((f) => f.id === first.id)?.eventIds).toEqual(['lk-1', 'lk-2']);
          expect(server.budgetViolations).toBe(0);
          // each request asks only for the time since the last one (and a short overlap), not the whole day again
          const polls = server.requests.filter((r) => r.eventName === 'SendCommand');
          expect(polls.length).toBeGreaterThanOrEqual(2);
          expect(polls.slice(1).every((r) => (r.endTime ?? 0) - (r.startTime ?? 0) <= 16 * 60_000)).toBe(true);
          const stop = await runCli(['watch', '--stop', '--config', config], { env });
          expect(stop.code).toBe(0);
          const scan = await runCli(['scan', '--config', config, '--date', day, '--json'], { env });
          expect(
            jsonLines<Finding>(scan.stdout)
              .map((f) => f.id)
              .sort(),
          ).toEqual(later.map((f) => f.id).sort());
          expect(scan.stderr).toContain('already sent by an earlier run');
          expect(scan.stderr).toContain('0 new finding(s) sent to 0 incident(s)');
        } finally {
          watch.child.kill('SIGTERM');
          await watch.exited;
        }
      });
    } finally {
      await workerConnection.close();
      await server.close();
    }
  });

  test('bad arguments and configuration exit 2 with one message, before anything starts; --stop with no watch says so', async () => {
    const dir = tempDir('watch-bad');
    const bad = writeConfig(dir, { sources: [{ type: 'directory', path: dir, pollInterval: 'PT0.2S' }] });
    const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: 'tw-watch-poll', TRAILWARDEN_TASK_QUEUE: `nobody-${Date.now()}` };
    for (const [args, message] of [
      [['watch', '--config', bad], 'trailwarden: config: sources.0.pollInterval: must be at least PT1S\n'],
      [
        ['watch', '--stop', '--embedded', '--config', bad],
        'trailwarden: watch: --stop ends a watch on a Temporal service; an --embedded watch ends with Ctrl-C\n',
      ],
      [['watch', '--config', writeConfig(tempDir('watch-none'), { sources: [] })], expect.stringMatching(/^trailwarden: no sources configured in .*\n$/)],
    ] as const) {
      const result = await runCli([...args], { env });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: message });
    }
    const good = writeConfig(tempDir('watch-stop'), { sources: [{ type: 'directory', path: dir }] });
    const stop = await runCli(['watch', '--stop', '--config', good], { env: { ...env, TEMPORAL_NAMESPACE: 'tw-readable' } });
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/^trailwarden: watch --stop: no watch is running/);
  });

  test('demo --watch: each finding within seconds of its object landing, then a daily scan that notifies nothing new', async () => {
    const demo = await runCli(['demo', '--watch']);
    expect(demo.code).toBe(0);
    const found = demo.stdout.split('\n').filter((line) => line.startsWith('found:'));
    expect(found).toHaveLength(6);
    expect(demo.stdout).toMatch(/^updated: .*User: alice; .*Events: 3; Failed: 1\).*notified [\d.]+ s after delivery\)$/m);
    expect(demo.stdout).toContain('(0 new, 0 updated, 6 in file)');
    expect(demo.stdout).toContain('incidents: 0 new finding(s) sent to 0 incident(s); 6 already sent by an earlier run');
    expect(demo.stdout).toMatch(/watch: 6 of 6 finding\(s\) found first by trailwarden watch; delivery -> detection p50 [\d.]+ s/);
  });

  test('watch --embedded says what it watches, and Ctrl-C ends it with exit 0', async () => {
    const dir = tempDir('watch-embedded');
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: dir, pollInterval: 'PT1S' }], findings: { directory: './findings' } });
    const child = spawn(process.execPath, [BIN, 'watch', '--embedded', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // the folder's one *.json file is this config: scanned, and reported as not a log file
    await waitFor('the first round', () => (/watch: [1-9]\d* round\(s\), 1 object\(s\) scanned/.test(stderr) ? true : undefined), 60_000);
    expect(stderr).toContain(`watching 1 source(s) as workflow watch: ${dir} every 1 s`);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toContain('the embedded watch stops with its server');
  });
});
