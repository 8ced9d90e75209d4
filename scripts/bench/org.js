'use strict';
/**
 * An organisation trail on moto S3 (accounts x regions, one small log file each, SendCommands planted in
 * some accounts) scanned by a DailyScanWorkflow on a dev server with its default limits and two workers
 * in folders of their own, as on two machines. Measures what a scan of that size costs Temporal: wall
 * time, partitions per second, the largest history (events and bytes), the largest payload, the most
 * activities pending at once in one workflow, and the CPU and peak RSS of the workers and the server.
 *
 *   npm run bench -- --org 500x17           (also: node scripts/bench/org.js 500x17)
 *
 * runOrgScan() is also what test/integration/organisation.test.ts runs.
 */
const { spawn } = require('node:child_process');
const { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { gzipSync } = require('node:zlib');
const { DIST, ROOT, RULE1, WORKER_NODE_FLAGS, peakRss, processCpu } = require('./common');

const ORG_ID = 'o-benchorg01';
const DATE = '2026-11-25';
/** Every PLANT_EVERY-th account sends an SSM command in its first region: one rule 1 finding each. */
const PLANT_EVERY = 50;
const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'sa-east-1',
];

const seconds = (since) => Number(process.hrtime.bigint() - since) / 1e9;
const accountOf = (i) => String(200000000000 + i);

function record(account, region, i, name = 'DescribeInstances', extra = {}) {
  return {
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', accountId: account, userName: 'ops' },
    eventTime: `${DATE}T12:0${i % 10}:00Z`,
    eventSource: name === 'SendCommand' ? 'ssm.amazonaws.com' : 'ec2.amazonaws.com',
    eventName: name,
    awsRegion: region,
    sourceIPAddress: '198.51.100.7',
    eventID: `${account}-${region}-${i}`,
    recipientAccountId: account,
    ...extra,
  };
}

/** The organisation trail's objects: one per account and region; the planted commands; the expected rule 1 findings. */
function orgTrail(accounts, regions) {
  const objects = [];
  let planted = 0;
  for (let a = 0; a < accounts; a++) {
    const account = accountOf(a);
    for (const [r, region] of REGIONS.slice(0, regions).entries()) {
      const records = [record(account, region, 0), record(account, region, 1, 'RunInstances')];
      if (a % PLANT_EVERY === 0 && r === 0) {
        records.push(
          record(account, region, 2, 'SendCommand', {
            requestParameters: { documentName: 'AWS-RunShellScript', parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
          }),
        );
        planted++;
      }
      const key = `AWSLogs/${ORG_ID}/${account}/CloudTrail/${region}/2026/11/25/${account}_CloudTrail_${region}_20261125T1205Z_${String(a).padStart(8, '0')}${String(r).padStart(8, '0')}.json.gz`;
      objects.push({ key, body: gzipSync(JSON.stringify({ Records: records })) });
    }
  }
  return { objects, planted };
}

async function upload(endpoint, bucket, objects) {
  const { CreateBucketCommand, PutObjectCommand, S3Client } = require('@aws-sdk/client-s3');
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const queue = [...objects];
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await client.send(new PutObjectCommand({ Bucket: bucket, Key: next.key, Body: next.body }));
    }),
  );
  client.destroy();
}

/** Two `trailwarden worker` processes, each with its own working, temp, home and scratch folders. */
async function startWorkers({ address, taskQueue, root, env = {} }) {
  const workers = [];
  await Promise.all(
    [0, 1].map(
      (i) =>
        new Promise((resolve, reject) => {
          const home = join(root, `machine-${i}`);
          for (const dir of ['work', 'tmp', 'home', 'scratch']) mkdirSync(join(home, dir), { recursive: true });
          const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, join(ROOT, 'bin', 'trailwarden.js'), 'worker', '--verbose'], {
            cwd: join(home, 'work'),
            env: {
              ...process.env,
              ...env,
              TEMPORAL_ADDRESS: address,
              TRAILWARDEN_TASK_QUEUE: taskQueue,
              TMPDIR: join(home, 'tmp'),
              HOME: join(home, 'home'),
              TRAILWARDEN_SCRATCH_DIR: join(home, 'scratch'),
              MALLOC_ARENA_MAX: '2',
            },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          workers.push(child);
          const log = createWriteStream(join(home, 'worker.log'));
          let seen = '';
          child.stderr.on('data', (chunk) => {
            log.write(chunk);
            seen += chunk;
            if (seen.includes('worker on task queue')) resolve(child);
          });
          child.once('exit', (code) => reject(new Error(`worker ${i} exited with ${code} before it was ready (see ${home}/worker.log)`)));
        }),
    ),
  );
  return workers;
}

/** Every payload's bytes in an event, wherever it sits. */
function payloadSizes(value, sizes = []) {
  if (Array.isArray(value)) for (const item of value) payloadSizes(item, sizes);
  else if (value && typeof value === 'object') {
    if (value.data instanceof Uint8Array && value.metadata) sizes.push(value.data.length);
    else for (const inner of Object.values(value)) payloadSizes(inner, sizes);
  }
  return sizes;
}

/** Events, bytes, the largest payload and the most activities pending at once, of one history. */
function historyFigures(history) {
  const { historyToJSON } = require('@temporalio/common/lib/proto-utils');
  let pending = 0;
  let maxPending = 0;
  let largestPayload = 0;
  for (const event of history.events) {
    if (event.activityTaskScheduledEventAttributes) maxPending = Math.max(maxPending, ++pending);
    if (
      event.activityTaskCompletedEventAttributes ||
      event.activityTaskFailedEventAttributes ||
      event.activityTaskTimedOutEventAttributes ||
      event.activityTaskCanceledEventAttributes
    )
      pending--;
    for (const size of payloadSizes(event)) largestPayload = Math.max(largestPayload, size);
  }
  return { events: history.events.length, bytes: Buffer.byteLength(historyToJSON(history)), largestPayload, maxPending };
}

/**
 * Uploads the organisation trail, scans it with two workers, and returns the figures. `endpoint` and
 * `address`: a running moto and Temporal server (the test's); omitted, the run starts its own.
 */
async function runOrgScan({ accounts = 500, regions = 17, endpoint, address, log = () => undefined } = {}) {
  const { Client, Connection } = require('@temporalio/client');
  const { parseConfig } = require(join(DIST, 'config', 'load.js'));
  const root = mkdtempSync(join(tmpdir(), 'tw-org-'));
  const stops = [];
  try {
    let motoPid;
    if (!endpoint) {
      const moto = await require(join(DIST, 'local', 'moto.js')).startMotoServer();
      stops.push(async () => moto.stop());
      endpoint = moto.endpoint;
      motoPid = moto.pid;
    }
    let serverPid;
    if (!address) {
      const { portUser, startDevServer } = require(join(DIST, 'local', 'dev-server.js'));
      const server = await startDevServer({ log });
      stops.push(() => server.stop());
      address = server.address;
      serverPid = Number(/pid (\d+)/.exec(portUser(Number(address.split(':')[1])) ?? '')?.[1]) || undefined;
    }
    const bucket = `org-trail-${process.pid}-${Date.now()}`;
    const trail = orgTrail(accounts, regions);
    let since = process.hrtime.bigint();
    await upload(endpoint, bucket, trail.objects);
    log(`uploaded ${trail.objects.length} objects in ${seconds(since).toFixed(1)} s`);

    const taskQueue = `org-${process.pid}-${Date.now()}`;
    const workers = await startWorkers({
      address,
      taskQueue,
      root,
      env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' },
    });
    stops.push(async () => {
      for (const worker of workers) worker.kill('SIGKILL');
    });
    const cpuBefore = [...workers.map((w) => processCpu(w.pid)?.seconds ?? 0), serverPid ? (processCpu(serverPid)?.seconds ?? 0) : 0];
    const motoCpuBefore = motoPid ? (processCpu(motoPid)?.seconds ?? 0) : 0;
    const loaded = parseConfig({
      sources: [{ type: 's3', bucket, endpoint, organizationId: ORG_ID }],
      findings: { directory: join(root, 'findings') },
      incidents: { enabled: false },
    });
    const config = {
      sources: loaded.sources,
      rules: loaded.rules,
      findingsDirectory: loaded.findingsDirectory,
      maxConcurrentPartitions: loaded.maxConcurrentPartitions,
      incidents: loaded.incidents,
    };
    const connection = await Connection.connect({ address });
    stops.push(() => connection.close());
    const client = new Client({ connection });
    since = process.hrtime.bigint();
    const handle = await client.workflow.start('DailyScanWorkflow', { taskQueue, workflowId: `scan-${DATE}-${taskQueue}`, args: [{ date: DATE, config }] });
    const summary = await handle.result();
    const wallSeconds = seconds(since);
    log(`scanned ${summary.partitions} partitions in ${wallSeconds.toFixed(1)} s`);
    const cpuAfter = [...workers.map((w) => processCpu(w.pid)?.seconds ?? 0), serverPid ? (processCpu(serverPid)?.seconds ?? 0) : 0];
    const motoCpuSeconds = motoPid ? (processCpu(motoPid)?.seconds ?? 0) - motoCpuBefore : undefined;

    const runId = (await handle.describe()).runId;
    const ids = [handle.workflowId];
    for await (const child of client.workflow.list({ query: `WorkflowId STARTS_WITH '${handle.workflowId}-${runId}-'` })) ids.push(child.workflowId);
    const histories = [];
    for (const id of ids) histories.push({ id, ...historyFigures(await client.workflow.getHandle(id).fetchHistory()) });
    const largest = (key) => histories.reduce((best, h) => (h[key] > best[key] ? h : best), histories[0]);
    const findings = summary.findingsByRule[RULE1] ?? 0;
    return {
      accounts,
      regions,
      objects: trail.objects.length,
      planted: trail.planted,
      summary: {
        partitions: summary.partitions,
        objects: summary.objects,
        records: summary.records,
        findings: summary.findings,
        rule1Findings: findings,
        failedPartitions: summary.failedPartitions.length,
        skipped: summary.skippedCount,
      },
      wallSeconds,
      partitionsPerSecond: summary.partitions / wallSeconds,
      workflows: histories.length,
      largestHistory: { events: largest('events').events, bytes: largest('bytes').bytes, id: largest('events').id },
      largestPayload: largest('largestPayload').largestPayload,
      maxPendingActivities: largest('maxPending').maxPending,
      workerCpuSeconds: cpuAfter.slice(0, workers.length).map((after, i) => after - cpuBefore[i]),
      serverCpuSeconds: serverPid ? cpuAfter[workers.length] - cpuBefore[workers.length] : undefined,
      workerPeakRssBytes: workers.map((w) => peakRss(w.pid)),
      serverPeakRssBytes: serverPid ? peakRss(serverPid) : undefined,
      // moto serves requests on one core at a time (Python's GIL)
      s3EndpointCpuSeconds: motoCpuSeconds,
      s3EndpointCoreShare: motoCpuSeconds === undefined ? undefined : motoCpuSeconds / wallSeconds,
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

const MB = 1024 * 1024;

function perPartition(r) {
  const ms = (seconds) => (seconds === undefined ? 'n/a' : `${((1000 * seconds) / r.summary.partitions).toFixed(1)} ms`);
  return `${ms(r.s3EndpointCpuSeconds)} / ${ms(r.serverCpuSeconds)} / ${ms(r.workerCpuSeconds.reduce((a, b) => a + b, 0))}`;
}

function table(r) {
  const rows = [
    ['organisation', `${r.accounts} accounts x ${r.regions} regions, ${r.objects} objects`],
    ['partitions', `${r.summary.partitions} (${r.summary.failedPartitions} failed)`],
    ['wall time', `${r.wallSeconds.toFixed(1)} s`],
    ['partitions/s', r.partitionsPerSecond.toFixed(1)],
    ['workflows (scan, shards, batches)', r.workflows],
    ['largest history', `${r.largestHistory.events} events, ${(r.largestHistory.bytes / 1024).toFixed(0)} KB (${r.largestHistory.id})`],
    ['largest payload in a history', `${(r.largestPayload / 1024).toFixed(1)} KB`],
    ['most activities pending in one workflow', r.maxPendingActivities],
    ['findings (rule 1 / planted)', `${r.summary.rule1Findings} / ${r.planted}`],
    ['worker CPU', r.workerCpuSeconds.map((s) => `${s.toFixed(1)} s`).join(', ')],
    ['worker peak RSS', r.workerPeakRssBytes.map((b) => `${(b / MB).toFixed(0)} MB`).join(', ')],
    ['Temporal server CPU', r.serverCpuSeconds === undefined ? 'n/a' : `${r.serverCpuSeconds.toFixed(1)} s`],
    ['Temporal server peak RSS', r.serverPeakRssBytes === undefined ? 'n/a' : `${(r.serverPeakRssBytes / MB).toFixed(0)} MB`],
    [
      'S3 endpoint (moto) CPU',
      r.s3EndpointCpuSeconds === undefined
        ? 'n/a'
        : `${r.s3EndpointCpuSeconds.toFixed(1)} s, ${(100 * r.s3EndpointCoreShare).toFixed(0)} % of one core over the scan`,
    ],
    ['CPU per partition: S3 endpoint / Temporal server / workers', perPartition(r)],
  ];
  const checks = [
    ['every history < 2,000 events', r.largestHistory.events < 2000, `${r.largestHistory.events}`],
    ['no payload > 256 KB in a history', r.largestPayload <= 256 * 1024, `${(r.largestPayload / 1024).toFixed(1)} KB`],
    ['worker peak RSS <= 256 MB', Math.max(...r.workerPeakRssBytes) <= 256 * MB, `${(Math.max(...r.workerPeakRssBytes) / MB).toFixed(0)} MB`],
    ['every planted command found', r.summary.rule1Findings === r.planted, `${r.summary.rule1Findings} of ${r.planted}`],
    // on one machine every component shares the cores: the one that costs the most CPU per partition sets partitions/s
    ...(r.s3EndpointCpuSeconds === undefined || r.serverCpuSeconds === undefined
      ? []
      : [
          [
            'partitions/s limited by the S3 endpoint: it costs more CPU per partition than Temporal (server and workers together)',
            r.s3EndpointCpuSeconds > r.serverCpuSeconds + r.workerCpuSeconds.reduce((a, b) => a + b, 0),
            perPartition(r),
          ],
        ]),
  ];
  return [
    '| measure | value |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '| check | result | measured |',
    '|---|---|---|',
    ...checks.map(([k, ok, v]) => `| ${k} | ${ok ? 'pass' : '**fail**'} | ${v} |`),
  ].join('\n');
}

if (require.main === module) {
  // the lockfile pins SDK releases that support Node 20 (as bin/trailwarden.js says)
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [accounts, regions] = (process.argv[2] ?? '500x17').split('x').map(Number);
  runOrgScan({ accounts, regions, log: (line) => process.stderr.write(`bench --org: ${line}\n`) })
    .then((result) => {
      const text = `${table(result)}\n\nCommand: \`npm run bench -- --org ${accounts}x${regions}\`\n`;
      mkdirSync(join(ROOT, 'bench-output'), { recursive: true });
      writeFileSync(join(ROOT, 'bench-output', 'org-results.md'), text);
      writeFileSync(join(ROOT, 'bench-output', 'org-results.json'), `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`${text}`);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}

module.exports = { runOrgScan, orgTrail, table };
