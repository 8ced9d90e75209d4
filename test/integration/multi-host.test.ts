/**
 * trailwarden on "several machines": two workers, each with its own working directory, TMPDIR, HOME
 * and scratch folder, share nothing but Temporal and S3 (moto) for payloads and findings; the CLI runs
 * from a third directory. A day whose selected events are far above the 256 KiB inline threshold.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { parseConfig } from '../../src/config/load';
import { temporalCliPath } from '../../src/local/tools';
import type { Finding } from '../../src/rules/types';
import { BIN, type CliResult, jsonLines, runCli, tempDir, writeConfig } from '../helpers/cli';
import { s3Endpoint, temporalAddress } from '../helpers/services';
import { listWorkflows } from '../helpers/temporal-cli';
import { trailwardenEvaluation } from '../helpers/trailwarden-scan';
import { waitFor } from '../helpers/wait';
import { type WebhookReceiver, startWebhookReceiver } from '../helpers/webhook-receiver';
import { largeTrail } from '../helpers/large-trail';

const NAMESPACE = 'tw-multi-host';
const DATE = '2026-09-14';
const TASK_QUEUE = `tw-multi-host-${process.pid}`;
const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';
const TRAIL_BUCKET = 'tw-mh-trail';
const PAYLOAD_BUCKET = 'tw-mh-payloads';
const FINDINGS_BUCKET = 'tw-mh-findings';
const SECRET = 'multi-host-secret';

interface Host {
  root: string;
  child: ChildProcess;
  stderr: string;
}

const hosts: Host[] = [];

function hostEnv(root: string): NodeJS.ProcessEnv {
  for (const sub of ['tmp', 'home', 'work']) mkdirSync(join(root, sub), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: join(root, 'tmp'),
    HOME: join(root, 'home'),
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: NAMESPACE,
    TRAILWARDEN_TASK_QUEUE: TASK_QUEUE,
    TW_TEST_WEBHOOK_SECRET: SECRET,
    // the lines stay in payloads (not the scan's blob store), so that External Storage carries them here
    TRAILWARDEN_INLINE_LINES_BYTES: '1000000000',
  };
  delete env.TRAILWARDEN_SCRATCH_DIR;
  delete env.TRAILWARDEN_CONFIG;
  return env;
}

/** A worker "on its own machine": its own cwd, TMPDIR (so its scratch folder), HOME and copy of the config. */
async function startHost(name: string, config: object): Promise<Host> {
  const root = tempDir(`mh-${name}`);
  const env = hostEnv(root);
  const file = writeConfig(join(root, 'work'), config);
  const child = spawn(process.execPath, [BIN, 'worker', '--config', file], { cwd: join(root, 'work'), env, stdio: ['ignore', 'ignore', 'pipe'] });
  const host: Host = { root, child, stderr: '' };
  child.stderr!.on('data', (c: Buffer) => (host.stderr += c.toString()));
  hosts.push(host);
  await waitFor(
    `worker ${name} to start`,
    () => (host.stderr.includes('worker on task queue') ? true : child.exitCode !== null ? Promise.reject(new Error(host.stderr)) : undefined),
    60_000,
  );
  return host;
}

function kill(host: Host, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((done) => {
    if (host.child.exitCode !== null || host.child.signalCode !== null) return done();
    host.child.once('exit', () => done());
    host.child.kill(signal);
  });
}

describe('two workers on separate directories, S3 for payloads and findings, the CLI on a third', () => {
  let s3: S3Client;
  let receiver: WebhookReceiver;
  let config: object;
  let laptop: string;
  let laptopEnv: NodeJS.ProcessEnv;
  let expected: Finding[];
  let connection: Connection;
  let client: Client;

  const cli = (args: string[]): Promise<CliResult> =>
    runCli([...args, '--config', join(laptop, 'work', 'trailwarden.config.json')], { cwd: join(laptop, 'work'), env: laptopEnv });

  beforeAll(async () => {
    s3 = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint(), forcePathStyle: true });
    for (const bucket of [TRAIL_BUCKET, PAYLOAD_BUCKET, FINDINGS_BUCKET]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const objects = largeTrail(DATE);
    for (const [key, body] of objects) await s3.send(new PutObjectCommand({ Bucket: TRAIL_BUCKET, Key: key, Body: body }));
    receiver = await startWebhookReceiver();
    config = {
      sources: [{ type: 's3', bucket: TRAIL_BUCKET, endpoint: s3Endpoint() }],
      findings: { s3: { bucket: FINDINGS_BUCKET, prefix: 'findings/', endpoint: s3Endpoint() } },
      payloadStorage: { type: 's3', bucket: PAYLOAD_BUCKET, prefix: 'payloads/', endpoint: s3Endpoint() },
      notifications: [{ type: 'webhook', url: receiver.url, secretEnv: 'TW_TEST_WEBHOOK_SECRET' }],
    };
    const period = { startMs: Date.parse(`${DATE}T00:00:00Z`), endMs: Date.parse(`${DATE}T00:00:00Z`) + 86_400_000 };
    expected = trailwardenEvaluation(
      [...objects].map(([key, bytes]) => ({ key, bytes })),
      parseConfig({}).rules,
      period,
      null,
    ).findings;
    laptop = tempDir('mh-laptop');
    laptopEnv = hostEnv(laptop);
    writeConfig(join(laptop, 'work'), config);
    connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection, namespace: NAMESPACE });
    await startHost('a', config);
    await startHost('b', config);
  });

  afterAll(async () => {
    for (const host of hosts) await kill(host, 'SIGTERM');
    await receiver?.close();
    s3?.destroy();
    await connection?.close();
  });

  const sorted = (findings: Finding[]) => JSON.stringify([...findings].sort((a, b) => a.id.localeCompare(b.id)));
  let firstIncidents = 0;

  test('scan from a third directory prints exactly the findings; large payloads went to S3', async () => {
    expect(expected.length).toBeGreaterThanOrEqual(4);
    expect(expected.some((f) => f.ruleId === RULE2)).toBe(true);
    const scan = await cli(['scan', '--date', DATE, '--json']);
    expect(scan.stderr).not.toMatch(/ENOENT|failed partition/i);
    expect(scan.code).toBe(0);
    expect(sorted(jsonLines<Finding>(scan.stdout))).toBe(sorted(expected));
    firstIncidents = Number(/sent to (\d+) incident/.exec(scan.stderr)?.[1] ?? NaN);
    expect(firstIncidents).toBeGreaterThanOrEqual(2);

    const listed = await cli(['findings', '--date', DATE, '--json']);
    expect(listed.code).toBe(0);
    expect(sorted(jsonLines<Finding>(listed.stdout))).toBe(sorted(expected));
    // nothing was written to the laptop's or a worker's disk but their own scratch, which is gone
    expect(readdirSync(join(laptop, 'work'))).toEqual(['trailwarden.config.json']);
    for (const host of hosts) expect(readdirSync(join(host.root, 'work'))).toEqual(['trailwarden.config.json']);

    const payloads = await s3.send(new ListObjectsV2Command({ Bucket: PAYLOAD_BUCKET }));
    const sizes = (payloads.Contents ?? []).map((o) => o.Size ?? 0);
    expect(Math.max(0, ...sizes)).toBeGreaterThan(256 * 1024);
    expect((payloads.Contents ?? []).every((o) => o.Key!.startsWith('payloads/'))).toBe(true);
  }, 180_000);

  test('a re-scan succeeds with the same findings and notifies nothing again', async () => {
    const scan = await cli(['scan', '--date', DATE, '--json']);
    expect(scan.code).toBe(0);
    expect(sorted(jsonLines<Finding>(scan.stdout))).toBe(sorted(expected));
    expect(scan.stderr).toContain(`0 new finding(s) sent to 0 incident(s); ${expected.length} already sent by an earlier run`);
  }, 180_000);

  test('both workers SIGKILLed mid-scan and replaced by one on a fresh directory: the scan completes with the same findings', async () => {
    const running = cli(['scan', '--date', DATE, '--json']);
    const firstRun = (await client.workflow.getHandle(`scan-${DATE}`).describe()).runId;
    const run = await waitFor(
      'the re-scan to start',
      async () => {
        const description = await client.workflow.getHandle(`scan-${DATE}`).describe();
        return description.runId !== firstRun || description.status.name === 'RUNNING' ? description : undefined;
      },
      60_000,
    );
    expect(run.status.name).toBe('RUNNING');
    await Promise.all(hosts.map((host) => kill(host)));
    const replacement = await startHost('c', config);
    const scan = await running;
    expect(scan.code).toBe(0);
    expect(sorted(jsonLines<Finding>(scan.stdout))).toBe(sorted(expected));
    expect(replacement.child.exitCode).toBeNull();
  }, 240_000);

  test('a range re-run through the replacement worker succeeds; notifications went out exactly once in all', async () => {
    const range = await cli(['scan', '--from', '2026-09-13', '--to', DATE, '--json']);
    expect(range.code).toBe(0);
    expect(sorted(jsonLines<Finding>(range.stdout))).toBe(sorted(expected));
    await waitFor(`${firstIncidents} notifications`, () => (receiver.accepted.size >= firstIncidents ? true : undefined));
    await new Promise((r) => setTimeout(r, 3000));
    expect(receiver.accepted.size).toBe(firstIncidents);
    expect(receiver.attempts).toHaveLength(firstIncidents);
    // every finding went out in one notification, none in two
    const notified = new Map<string, number>();
    for (const body of receiver.accepted.values()) {
      for (const brief of (JSON.parse(body) as { incident: { evidence: { id: string }[] } }).incident.evidence)
        notified.set(brief.id, (notified.get(brief.id) ?? 0) + 1);
    }
    expect([...notified.values()].every((n) => n === 1)).toBe(true);
    expect(notified.has(expected.find((f) => f.ruleId === RULE2)!.id)).toBe(true);
  }, 240_000);

  test('no local path appears in any history or offloaded payload', async () => {
    const temporal = temporalCliPath({ install: false })!;
    const roots = [...hosts.map((h) => h.root), laptop, 'trailwarden-scratch', '/tmp/'];
    const workflows = listWorkflows('', NAMESPACE);
    expect(workflows.length).toBeGreaterThan(5);
    for (const { workflowId } of workflows) {
      const history = execFileSync(
        temporal,
        ['workflow', 'show', '--address', temporalAddress(), '--namespace', NAMESPACE, '--workflow-id', workflowId, '--output', 'json'],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      // payload data is base64 in the JSON: decode every "data" field too
      const decoded = [...history.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1], 'base64').toString('latin1')).join('\n');
      for (const root of roots) {
        expect({ workflowId, found: history.includes(root) || decoded.includes(root) }).toEqual({ workflowId, found: false });
      }
    }
    const payloads = await s3.send(new ListObjectsV2Command({ Bucket: PAYLOAD_BUCKET }));
    expect(payloads.Contents?.length).toBeGreaterThan(0);
    for (const object of payloads.Contents ?? []) {
      const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: PAYLOAD_BUCKET, Key: object.Key }))).Body!.transformToByteArray()).toString(
        'latin1',
      );
      for (const root of roots) expect({ key: object.Key, found: body.includes(root) }).toEqual({ key: object.Key, found: false });
    }
  }, 180_000);
});
