import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseConfig } from '../config/load';
import { DEMO_BUCKET, DEMO_DATE, buildSampleTrail } from '../demo/sample-trail';
import { freePort, startDevServer } from '../local/dev-server';
import { type LocalS3, startMotoServer } from '../local/moto';
import { countFindings } from '../notify/securityhub';
import { createWorker } from '../workers/worker';
import { payloadStorageFor } from '../codec/payload-storage';
import { formatFinding, formatSummary } from './format';
import { listIncidents } from './incidents';
import { appendLog } from './logging';
import { connectClient } from './temporal';
import { runDailyScan } from './scan';

async function waitForLines(file: string, count: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
    if (lines >= count || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function startMoto(): Promise<LocalS3 | undefined> {
  try {
    return await startMotoServer();
  } catch (error) {
    process.stderr.write(
      `trailwarden: note: moto (the local S3 server) is not available (${(error as Error).message}); ` +
        'the demo reads the same sample trail from a folder instead (directory source)\n',
    );
    return undefined;
  }
}

async function uploadTrail(endpoint: string, files: Map<string, Buffer>): Promise<void> {
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: DEMO_BUCKET }));
  for (const [key, body] of files) await client.send(new PutObjectCommand({ Bucket: DEMO_BUCKET, Key: key, Body: body }));
  client.destroy();
}

export interface DemoOptions {
  source: 's3' | 'directory';
  keepOpen: boolean;
  uiPort?: number;
  /** also import every incident's findings into Security Hub on the demo's moto */
  securityHub?: boolean;
}

const DEMO_HUB_REGION = 'us-east-1';

/** Polls until Security Hub holds `count` findings (or a minute passed); returns how many it holds. */
async function waitForHub(endpoint: string, count: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const held = await countFindings({ region: DEMO_HUB_REGION, endpoint });
    if (held >= count || Date.now() > deadline) return held;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The whole job on built-in data: a dev server, a worker, a local S3 (or folder) with a sample trail, one scan. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'trailwarden-demo-'));
  const files = buildSampleTrail();
  // The demo talks only to its own local S3; it never needs or uses real AWS credentials.
  process.env.AWS_ACCESS_KEY_ID = 'demo';
  process.env.AWS_SECRET_ACCESS_KEY = 'demo';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  const moto = options.source === 's3' || options.securityHub ? await startMoto() : undefined;
  let source: object;
  if (moto && options.source === 's3') {
    await uploadTrail(moto.endpoint, files);
    source = { type: 's3', bucket: DEMO_BUCKET, endpoint: moto.endpoint };
    process.stderr.write(`demo: sample trail of ${files.size} objects in s3://${DEMO_BUCKET} on moto at ${moto.endpoint}\n`);
  } else {
    const dir = join(work, 'trail');
    for (const [key, body] of files) {
      mkdirSync(dirname(join(dir, key)), { recursive: true });
      writeFileSync(join(dir, key), body);
    }
    source = { type: 'directory', path: dir };
    process.stderr.write(`demo: sample trail of ${files.size} files in ${dir}\n`);
  }
  const notifications = join(work, 'notifications.jsonl');
  const config = parseConfig({
    sources: [source],
    findings: { directory: join(work, 'findings') },
    notifications: [
      { type: 'file', name: 'demo-file', path: notifications },
      // moto's Security Hub, the account its STS names (123456789012)
      ...(options.securityHub && moto ? [{ type: 'securityhub', name: 'demo-securityhub', region: DEMO_HUB_REGION, endpoint: moto.endpoint }] : []),
    ],
  });
  const uiPort = options.uiPort ?? (await freePort());
  const server = await startDevServer({ uiPort, onOutput: appendLog });
  const target = { address: server.address, namespace: 'default', taskQueue: 'trailwarden-demo', payloadStorage: payloadStorageFor(undefined, true, work) };
  try {
    const { worker, connection } = await createWorker(target);
    try {
      await worker.runUntil(async () => {
        const { client, close } = await connectClient(target);
        try {
          process.stderr.write(`demo: scanning ${DEMO_DATE} through Temporal at ${server.address}\n`);
          const outcome = await runDailyScan(
            client,
            target,
            DEMO_DATE,
            { ...config, incidents: { ...config.incidents!, webUiUrl: server.uiUrl! } },
            {
              embedded: true,
            },
          );
          for (const finding of outcome.findings) process.stdout.write(`${formatFinding(finding)}\n`);
          process.stdout.write(`\n${formatSummary(outcome.summary)}\n`);
          const expected = outcome.summary.incidents?.incidents ?? 0;
          const delivered = await waitForLines(notifications, expected, 60_000);
          process.stdout.write(`\n${expected} incident(s) opened; ${delivered} notification(s) delivered to ${notifications}\n`);
          if (options.securityHub && moto) {
            const held = await waitForHub(moto.endpoint, outcome.findings.length);
            process.stdout.write(`${held} finding(s) in Security Hub on moto at ${moto.endpoint} (region ${DEMO_HUB_REGION}; GetFindings lists them)\n`);
          }
          for (const incident of await listIncidents(client, false)) {
            process.stdout.write(
              `  ${incident.incidentId}: [${incident.severity}] ${incident.ruleName}, ${incident.findings} finding(s), ${Object.values(incident.key).join(' / ')}\n`,
            );
          }
          process.stdout.write(`\nWeb UI: ${server.uiUrl}/namespaces/default/workflows/${outcome.workflowId}/${outcome.runId}/history\n`);
          if (options.keepOpen) {
            process.stdout.write('demo: the dev server and Web UI stay up; press Ctrl-C to stop\n');
            await new Promise<void>((r) => {
              process.once('SIGINT', r);
              process.once('SIGTERM', r);
            });
          } else {
            process.stdout.write('(the demo server stops now; run `trailwarden demo --keep-open` to browse it)\n');
          }
        } finally {
          await close();
        }
      });
    } finally {
      await connection.close();
    }
  } finally {
    await server.stop();
    moto?.stop();
  }
  return 0;
}
