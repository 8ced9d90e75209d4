import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseTrailKey } from '../cloudtrail/keys';
import type { Client } from '@temporalio/client';
import { type LoadedConfig, type ScanConfig, parseConfig } from '../config/load';
import { DEMO_BUCKET, buildSampleTrail } from '../demo/sample-trail';
import { freePort, startDevServer } from '../local/dev-server';
import { type LocalS3, startMotoServer } from '../local/moto';
import { createWorker } from '../workers/worker';
import { payloadStorageFor } from '../codec/payload-storage';
import { type WatchProgress, WATCH_WORKFLOW_ID, stopWatchSignal, watchProgressQuery } from '../workflows/watch';
import { CliFailure } from './failure';
import { formatFinding, formatSummary } from './format';
import { appendLog } from './logging';
import { runDailyScan, storeOf } from './scan';
import { type TemporalTarget, connectClient } from './temporal';
import { latencyOf, latencyText, watchInputOf, watchedLine } from './watch';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A moto bucket whose S3 event notifications go to an SQS queue; the queue's URL. */
async function notifiedBucket(endpoint: string): Promise<string> {
  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  const sqs = new SQSClient({ region: 'us-east-1', endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: DEMO_BUCKET }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'trailwarden-demo-deliveries' }));
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: DEMO_BUCKET,
      NotificationConfiguration: { QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:*'] }] },
    }),
  );
  return queue.QueueUrl!;
}

/** Delivers the day's objects while the watch runs, showing each finding as it is stored; then the daily scan. */
async function watchThenScan(
  client: Client,
  target: TemporalTarget,
  day: string,
  files: Map<string, Buffer>,
  config: LoadedConfig,
  scanConfig: ScanConfig,
  endpoint: string,
): Promise<void> {
  const handle = await client.workflow.start('WatchWorkflow', {
    taskQueue: target.taskQueue,
    workflowId: WATCH_WORKFLOW_ID,
    args: [watchInputOf(config, scanConfig, true)],
  });
  process.stderr.write(`demo: watching s3://${DEMO_BUCKET} through its notification queue; delivering ${day}'s ${files.size} objects over about 20 s\n`);
  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  const order = [...files.keys()].sort((a, b) => (parseTrailKey(a)?.deliveredMs ?? 0) - (parseTrailKey(b)?.deliveredMs ?? 0));
  const printed = new Map<string, number>();
  const show = async () => {
    const [findings, latency] = await Promise.all([storeOf(scanConfig).read(day), latencyOf(scanConfig, day)]);
    for (const finding of findings.filter((f) => latency[f.id] && printed.get(f.id) !== f.count)) {
      process.stdout.write(`${printed.has(finding.id) ? 'updated: ' : 'found:   '}${formatFinding(finding)}${latencyText(latency[finding.id])}\n`);
      printed.set(finding.id, finding.count);
    }
  };
  for (const key of order) {
    await s3.send(new PutObjectCommand({ Bucket: DEMO_BUCKET, Key: key, Body: files.get(key) }));
    await sleep(600);
    await show();
  }
  const objects = order.filter((key) => parseTrailKey(key)).length;
  for (let progress: WatchProgress; ; await sleep(500)) {
    progress = await handle.query(watchProgressQuery);
    if (progress.objectsByDay?.[day] === objects && progress.dirty.length === 0) break;
  }
  await show();
  await handle.signal(stopWatchSignal);
  await handle.result();
  process.stdout.write(`\nThe watch is stopped. The daily scan of ${day} now confirms it:\n`);
  const outcome = await runDailyScan(client, target, day, scanConfig, { embedded: true });
  process.stdout.write(`${formatSummary(outcome.summary)}\n${watchedLine(await latencyOf(scanConfig, day), outcome.summary.findingIds) ?? ''}\n`);
}

/**
 * `demo --watch`: yesterday's sample trail delivered into moto S3 over about 20 seconds, in delivery
 * order, with S3 event notifications to an SQS queue; `watch` shows each finding as it is found (and
 * how soon after its object landed); then the daily scan of that day finds the same and notifies nothing new.
 */
export async function runWatchDemo(options: { uiPort?: number }): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'trailwarden-watch-demo-'));
  process.env.AWS_ACCESS_KEY_ID = 'demo';
  process.env.AWS_SECRET_ACCESS_KEY = 'demo';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const files = buildSampleTrail(day);
  let moto: LocalS3;
  try {
    moto = await startMotoServer();
  } catch (error) {
    throw new CliFailure(`demo --watch needs moto's S3 and SQS server: ${(error as Error).message}`);
  }
  const queueUrl = await notifiedBucket(moto.endpoint);
  const config = parseConfig({
    sources: [{ type: 's3', bucket: DEMO_BUCKET, endpoint: moto.endpoint, notifications: { sqsQueueUrl: queueUrl, endpoint: moto.endpoint } }],
    findings: { directory: join(work, 'findings') },
    notifications: [{ type: 'file', name: 'demo-file', path: join(work, 'notifications.jsonl') }],
    // yesterday's watch stays open all of today; a round per object as it lands (no gathering), so alice's window is seen growing
    watch: { dayEndsAfter: 'P1D', batchWindow: 'PT0S' },
  });
  const server = await startDevServer({ uiPort: options.uiPort ?? (await freePort()), onOutput: appendLog });
  const target = { address: server.address, namespace: 'default', taskQueue: 'trailwarden-demo', payloadStorage: payloadStorageFor(undefined, true, work) };
  const scanConfig = { ...config, incidents: { ...config.incidents!, webUiUrl: server.uiUrl! } };
  const cleanup: (() => unknown)[] = [() => moto.stop(), () => server.stop()];
  try {
    const { worker, connection } = await createWorker(target);
    cleanup.push(() => connection.close());
    await worker.runUntil(
      connectClient(target).then(({ client, close }) => watchThenScan(client, target, day, files, config, scanConfig, moto.endpoint).finally(close)),
    );
    process.stdout.write(`\nWeb UI: ${server.uiUrl}/namespaces/default/workflows/${WATCH_WORKFLOW_ID}\n`);
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
  return 0;
}
