'use strict';
/**
 * npm run bench -- --watch [--records N] [--minutes M] [--poll PT10S] [--batch-window PT10S] [--no-incidents] [--seed S] [--profile]
 *
 * Continuous detection at an accelerated clock: a generated day (yesterday, so that its watch is open)
 * of N records (default 2,000,000: the scan benchmark's day) is delivered into moto S3 in delivery
 * order, its 24 hours replayed in M minutes (default 5), with S3 event notifications to an SQS queue
 * (or, with --poll, by polling at that interval), gathered for `watch.batchWindow` (--batch-window,
 * default the config's). One worker process (`trailwarden worker`, as deployed) runs a warm-up scan of another day and then the watch; a file channel takes the notifications
 * (--no-incidents: none, in the watch and the daily scan alike, to compare the detection alone: with
 * incidents the watch opens them and runs their notifications, and the daily scan after it has none left to open).
 * Reports per finding delivery -> detection and delivery -> notification accepted (p50, p95, max), the
 * watch's requests, the worker's CPU and peak RSS, its CPU per delivered MB against a reference daily scan
 * of the same day doing its whole job (a store and ledger of its own, its incidents and notifications
 * included, run on the same worker before the watch), and whether the watch's findings are those of
 * the daily scan that follows it. Writes bench-output/watch.{json,md}.
 * Figures, not a test: nothing here fails on a slow machine.
 */
const { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join, relative } = require('node:path');
const { DIST, ROOT, listTrailFiles, peakRss, processCpu, threadCpu, threadCpuDelta, cpuSnapshot, otherCpuShare } = require('./common');
const { generateTrail, existingTrail, DEFAULTS } = require('./generate');
const { startServer, startWorkers, stopWorkers } = require('./temporal');
const { startMoto, CREDENTIALS } = require('./moto');

const OUT = join(ROOT, 'bench-output');
const log = (line) => process.stderr.write(`bench --watch: ${line}\n`);
const value = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms) => (ms === undefined ? '' : (ms / 1000).toFixed(1));

function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return sorted.length ? { count: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] } : { count: 0 };
}

/** Until no notification workflow runs: a scan's or round's incidents notify after it returns. */
async function notificationsSettled(client) {
  const running = async () => {
    let n = 0;
    for await (const _ of client.workflow.list({ query: "WorkflowType = 'NotificationWorkflow' AND ExecutionStatus = 'Running'" })) n++;
    return n;
  };
  // visibility lags the histories a little: a quiet second in a row
  for (let quiet = 0; quiet < 2;) {
    quiet = (await running()) === 0 ? quiet + 1 : 0;
    await sleep(500);
  }
}

/** Terminates the open incidents (each stays open for its suppression window). */
async function closeIncidents(client) {
  for await (const info of client.workflow.list({ query: "WorkflowType = 'IncidentWorkflow' AND ExecutionStatus = 'Running'" })) {
    await client.workflow.getHandle(info.workflowId, info.runId).terminate('benchmark: the reference scan is done');
  }
}

async function main() {
  Object.assign(process.env, CREDENTIALS, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  // the scan benchmark's day, delivered in about the issue's five minutes
  const records = Number(value('--records', 2_000_000));
  const minutes = Number(value('--minutes', 5));
  const poll = value('--poll', undefined);
  const batchWindow = value('--batch-window', undefined);
  const incidents = !process.argv.includes('--no-incidents');
  const seed = Number(value('--seed', DEFAULTS.seed));
  const date = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const dir = join(OUT, `watch-trail-${date}-${records}-${seed}`);
  if (!existingTrail(dir, { records, seed, date })) {
    log(`generating ${records} records for ${date} into ${dir}`);
    await generateTrail({ records, seed, date, out: dir });
  }
  const files = listTrailFiles(dir)
    .map((file) => ({ ...file, key: relative(dir, file.path).split('\\').join('/') }))
    .map((file) => ({ ...file, deliveredMs: Date.parse(file.key.replace(/^.*_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_.*$/, '$1-$2-$3T$4:$5:00Z')) }))
    .sort((a, b) => a.deliveredMs - b.deliveredMs || (a.key < b.key ? -1 : 1));
  const bytes = files.reduce((n, f) => n + readFileSync(f.path).length, 0);

  const { parseConfig, scanConfigFields } = require(join(DIST, 'config', 'load.js'));
  const { watchInputOf } = require(join(DIST, 'cli', 'watch.js'));
  const { readLatency, watchStore } = require(join(DIST, 'watch', 'day-store.js'));
  const { Client, Connection } = require('@temporalio/client');
  const { S3Client, CreateBucketCommand, PutObjectCommand, PutBucketNotificationConfigurationCommand } = require('@aws-sdk/client-s3');
  const { SQSClient, CreateQueueCommand, GetQueueAttributesCommand } = require('@aws-sdk/client-sqs');

  const work = join(OUT, 'watch-run');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const moto = await startMoto();
  const { server } = await startServer();
  const bucket = 'bench-watch-trail';
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  let source = { type: 's3', bucket, endpoint: moto.endpoint, pollInterval: poll };
  if (!poll) {
    const sqs = new SQSClient({ endpoint: moto.endpoint, region: 'us-east-1' });
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: bucket }));
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes.QueueArn;
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:*'] }] },
      }),
    );
    source = { type: 's3', bucket, endpoint: moto.endpoint, notifications: { sqsQueueUrl: queue.QueueUrl, endpoint: moto.endpoint } };
  }
  const loaded = parseConfig({
    sources: [source],
    findings: { directory: join(work, 'findings') },
    notifications: [{ type: 'file', path: join(work, 'notifications.jsonl') }],
    ...(incidents ? {} : { incidents: { enabled: false } }),
    // yesterday's watch stays open past midnight, for a run that crosses it
    watch: { dayEndsAfter: 'P2D', ...(batchWindow ? { batchWindow } : {}) },
  });
  const config = scanConfigFields(loaded);
  const taskQueue = `bench-watch-${Date.now()}`;
  // --profile: the worker writes a CPU profile into bench-output/watch-run/worker/ when it stops, sampled
  // every 5 ms (at the default 1 ms the profiler's own CPU over a mostly idle run is several times the watch's)
  const nodeArgs = process.argv.includes('--profile') ? ['--cpu-prof', '--cpu-prof-interval', '5000', '--cpu-prof-dir', join(work, 'worker')] : [];
  const { workers } = await startWorkers({
    address: server.address,
    taskQueue,
    n: 1,
    env: { ...CREDENTIALS, TRAILWARDEN_WATCH_VISIBILITY_S: '60' },
    logDir: join(work, 'worker'),
    nodeArgs,
  });
  const worker = workers[0];
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    // a warm-up scan of another day, in its own bucket and store: the worker's one-time costs (loading the
    // AWS SDK and the rules, starting the scan threads) fall in neither measure, as they fell only in the watch's
    const { buildSampleTrail, DEMO_DATE } = require(join(DIST, 'demo', 'sample-trail.js'));
    const warmBucket = `${bucket}-warm-up`;
    await s3.send(new CreateBucketCommand({ Bucket: warmBucket }));
    for (const [key, body] of buildSampleTrail(DEMO_DATE)) await s3.send(new PutObjectCommand({ Bucket: warmBucket, Key: key, Body: body }));
    const warmConfig = scanConfigFields(
      parseConfig({
        sources: [{ type: 's3', bucket: warmBucket, endpoint: moto.endpoint }],
        findings: { directory: join(work, 'warm-up-findings') },
        // no incidents: the warm-up's would be open when the watch's findings of the same users come
        incidents: { enabled: false },
      }),
    );
    await client.workflow.execute('DailyScanWorkflow', { taskQueue, workflowId: `warm-up-${DEMO_DATE}`, args: [{ date: DEMO_DATE, config: warmConfig }] });

    // The reference: the daily scan of the same day doing its whole job, as it would without a watch: the day
    // in a bucket of its own (uploaded untimed), a fresh store and ledger, the same rules and incidents, its
    // CPU counted until its notifications are done. Its incidents are closed after it, so that the watch
    // opens and notifies its own (incident ids come from the rule and key, whichever scan found them).
    const referenceBucket = `${bucket}-reference`;
    await s3.send(new CreateBucketCommand({ Bucket: referenceBucket }));
    for (const file of files) await s3.send(new PutObjectCommand({ Bucket: referenceBucket, Key: file.key, Body: readFileSync(file.path) }));
    const referenceConfig = scanConfigFields(
      parseConfig({
        sources: [{ type: 's3', bucket: referenceBucket, endpoint: moto.endpoint }],
        findings: { directory: join(work, 'reference-findings') },
        // a channel name of its own: notification ids name the channel, so the watch's are not taken for these
        notifications: [{ type: 'file', name: 'reference', path: join(work, 'reference-notifications.jsonl') }],
        ...(incidents ? {} : { incidents: { enabled: false } }),
      }),
    );
    const referenceCpuBefore = processCpu(worker.pid).seconds;
    const referenceThreadsBefore = threadCpu(worker.pid);
    const referenceSummary = await client.workflow.execute('DailyScanWorkflow', {
      taskQueue,
      workflowId: `reference-scan-${date}`,
      args: [{ date, config: referenceConfig }],
    });
    await notificationsSettled(client);
    const referenceCpu = processCpu(worker.pid).seconds - referenceCpuBefore;
    const referenceThreads = threadCpuDelta(worker.pid, referenceThreadsBefore, threadCpu(worker.pid));
    // the worker's peak so far: the warm-up's and the reference scan's, before the watch adds its own
    const referencePeakRss = peakRss(worker.pid);
    await closeIncidents(client);

    const handle = await client.workflow.start('WatchWorkflow', { taskQueue, workflowId: 'watch', args: [watchInputOf(loaded, config, false)] });
    const cpuBefore = processCpu(worker.pid).seconds;
    const threadsBefore = threadCpu(worker.pid);
    const machineBefore = cpuSnapshot();
    // the day's deliveries at the accelerated clock: each file when its delivery time comes
    const dayMs = Date.parse(`${date}T00:00:00Z`);
    const scale = (minutes * 60_000) / 86_400_000;
    const started = Date.now();
    log(
      `replaying ${files.length} deliveries (${(bytes / 1e6).toFixed(1)} MB) of ${date} in ${minutes} minute(s), ${poll ? `polling every ${poll}` : 'with SQS notifications'}`,
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < files.length; i = next++) {
          const due = started + Math.max(0, (files[i].deliveredMs - dayMs) * scale);
          if (due > Date.now()) await sleep(due - Date.now());
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: files[i].key, Body: readFileSync(files[i].path) }));
        }
      }),
    );
    log(`delivered in ${((Date.now() - started) / 1000).toFixed(0)} s; waiting for the watch to finish`);
    let progress;
    for (;;) {
      progress = await handle.query('watchProgress');
      if (progress.totals.objects >= files.length && progress.dirty.length === 0) break;
      await sleep(500);
    }
    await notificationsSettled(client);
    const wallSeconds = (Date.now() - started) / 1000;
    const watchCpu = processCpu(worker.pid).seconds - cpuBefore;
    const watchThreads = threadCpuDelta(worker.pid, threadsBefore, threadCpu(worker.pid));
    const otherShare = otherCpuShare(machineBefore, cpuSnapshot(), os.availableParallelism());
    await handle.signal('stop');
    await handle.result();
    const latency = await readLatency(watchStore(config), date);
    const watched = JSON.parse(
      JSON.stringify(
        readFileSync(join(work, 'findings', `${date}.jsonl`), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      ),
    );

    // the daily scan of the same day, on the same worker: its CPU per byte, and its findings
    const scanCpuBefore = processCpu(worker.pid).seconds;
    const summary = await client.workflow.execute('DailyScanWorkflow', { taskQueue, workflowId: `scan-${date}`, args: [{ date, config }] });
    const scanCpu = processCpu(worker.pid).seconds - scanCpuBefore;
    const daily = readFileSync(join(work, 'findings', `${date}.jsonl`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const same =
      JSON.stringify(daily.map((f) => f.id).sort()) === JSON.stringify(watched.map((f) => f.id).sort()) &&
      summary.store.added === 0 &&
      summary.store.updated === 0;

    const entries = Object.values(latency);
    const detection = percentiles(entries.map((l) => Date.parse(l.detectedAt) - Date.parse(l.deliveredAt)));
    const notified = percentiles(entries.filter((l) => l.notificationAcceptedAt).map((l) => Date.parse(l.notificationAcceptedAt) - Date.parse(l.deliveredAt)));
    const hours = wallSeconds / 3600;
    const results = {
      date,
      records,
      objects: files.length,
      megabytes: bytes / 1e6,
      minutes,
      mode: `${poll ? `polling ${poll}` : `SQS notifications, batch window ${loaded.watch.batchWindow}`}${incidents ? '' : ', no incidents'}`,
      wallSeconds,
      findings: watched.length,
      detection,
      notified,
      rounds: progress.rounds,
      messages: { received: progress.totals.received, deleted: progress.totals.deleted },
      // requests of the watch: one GetObject per object, and per round one ReceiveMessage at least (one DeleteMessageBatch per 10 messages)
      requestsPerHourOfReplay: {
        getObject: files.length / hours,
        receiveMessageAtLeast: progress.rounds / hours,
        deleteMessageBatch: Math.ceil(progress.totals.deleted / 10) / hours,
      },
      worker: {
        threads: watchThreads,
        cpuSeconds: watchCpu,
        cpuShare: watchCpu / wallSeconds,
        peakRssMB: peakRss(worker.pid) / 2 ** 20,
        cpuPerMB: watchCpu / (bytes / 1e6),
      },
      referenceScan: {
        threads: referenceThreads,
        cpuSeconds: referenceCpu,
        cpuPerMB: referenceCpu / (bytes / 1e6),
        peakRssMB: referencePeakRss / 2 ** 20,
        findings: referenceSummary.findings,
        newFindingsRouted: referenceSummary.incidents?.newFindings ?? 0,
      },
      dailyScan: { cpuSeconds: scanCpu, cpuPerMB: scanCpu / (bytes / 1e6), findings: summary.findings, alreadyRouted: summary.incidents?.alreadyRouted },
      sameFindingsAsDailyScan: same,
      otherCpuShare: otherShare,
      ranAt: new Date().toISOString(),
      machine: `${os.availableParallelism()} cores (${os.cpus()[0]?.model}), Node ${process.version}`,
    };
    const md = [
      `Watch benchmark: ${files.length} deliveries (${results.megabytes.toFixed(1)} MB gzipped, ${records} records) of one day replayed in ${minutes} minute(s), ${results.mode}. ${results.machine}.`,
      '',
      '| measure | p50 | p95 | max |',
      '|---|---:|---:|---:|',
      `| delivery -> detection (s), ${detection.count} findings | ${seconds(detection.p50)} | ${seconds(detection.p95)} | ${seconds(detection.max)} |`,
      `| delivery -> notification accepted (s), ${notified.count} notified | ${seconds(notified.p50)} | ${seconds(notified.p95)} | ${seconds(notified.max)} |`,
      '',
      poll
        ? `Rounds: ${results.rounds}, each listing every partition's tail (ListObjectsV2), its open date folders whole every tenth. Per hour of the replay: ${results.requestsPerHourOfReplay.getObject.toFixed(0)} GetObject, ${(results.rounds / hours).toFixed(0)} listing rounds.`
        : `Rounds: ${results.rounds}; messages received ${results.messages.received}, deleted ${results.messages.deleted}. Per hour of the replay: ${results.requestsPerHourOfReplay.getObject.toFixed(0)} GetObject, at least ${results.requestsPerHourOfReplay.receiveMessageAtLeast.toFixed(0)} ReceiveMessage, ${results.requestsPerHourOfReplay.deleteMessageBatch.toFixed(0)} DeleteMessageBatch.`,
      `Worker: ${watchCpu.toFixed(1)} CPU s over ${wallSeconds.toFixed(0)} s (${(results.worker.cpuShare * 100).toFixed(0)} % of a core), peak RSS ${results.worker.peakRssMB.toFixed(0)} MB (${results.referenceScan.peakRssMB.toFixed(0)} MB before the watch, after the reference scan); ${(results.worker.cpuPerMB * 1000).toFixed(0)} ms CPU per delivered MB against the daily scan's ${(results.referenceScan.cpuPerMB * 1000).toFixed(0)} ms (${(results.worker.cpuPerMB / results.referenceScan.cpuPerMB).toFixed(2)}x; the reference scan of the same day in a store of its own, ${results.referenceScan.findings} findings, ${results.referenceScan.newFindingsRouted} routed, its notifications included). The confirming daily scan after the watch, which finds everything stored and routed: ${(results.dailyScan.cpuPerMB * 1000).toFixed(0)} ms per MB.`,
      `Worker threads (busiest first): the watch ${results.worker.threads}; the reference scan ${results.referenceScan.threads}.`,
      `Findings: watch ${watched.length}, daily scan ${summary.findings} (${same ? 'identical ids, nothing stored or routed again' : 'DIFFERENT'}); other processes used ${(otherShare * 100).toFixed(0)} % of the machine.`,
      '',
      `Command: \`npm run bench -- --watch --records ${records} --minutes ${minutes}${poll ? ` --poll ${poll}` : ''}${batchWindow ? ` --batch-window ${batchWindow}` : ''}${incidents ? '' : ' --no-incidents'}\``,
    ].join('\n');
    writeFileSync(join(OUT, 'watch.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(OUT, 'watch.md'), `${md}\n`);
    process.stdout.write(`${md}\n`);
    if (!existsSync(join(work, 'notifications.jsonl'))) log('no notification was written');
  } finally {
    await connection.close();
    await stopWorkers(workers);
    await server.stop();
    moto.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
