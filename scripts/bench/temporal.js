'use strict';
/**
 * Stages (c) and (e): a Temporal dev server, worker processes (`trailwarden worker`, as deployed),
 * and a DailyScanWorkflow started and awaited as `trailwarden scan --date` does.
 */
const { spawn } = require('node:child_process');
const { createWriteStream, mkdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { DIST, ROOT, findingKey, peakRss, readJsonLines } = require('./common');

const seconds = (since) => Number(process.hrtime.bigint() - since) / 1e9;

async function startServer() {
  const { startDevServer } = require(join(DIST, 'local', 'dev-server.js'));
  const since = process.hrtime.bigint();
  const server = await startDevServer({});
  return { server, startupSeconds: seconds(since) };
}

/** Starts n `trailwarden worker` processes and waits until each says it polls the task queue. */
async function startWorkers({ address, taskQueue, n, env, logDir, nodeArgs = [] }) {
  mkdirSync(logDir, { recursive: true });
  const since = process.hrtime.bigint();
  const children = [];
  const ready = Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'trailwarden.js'), 'worker'], {
            cwd: logDir,
            env: { ...process.env, ...env, TEMPORAL_ADDRESS: address, TRAILWARDEN_TASK_QUEUE: taskQueue },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          children.push(child);
          const log = createWriteStream(join(logDir, `worker-${i}.log`));
          let seen = '';
          child.stderr.on('data', (chunk) => {
            log.write(chunk);
            seen += chunk;
            if (seen.includes('worker on task queue')) resolve(child);
          });
          child.once('exit', (code) => reject(new Error(`worker ${i} exited with ${code} before it was ready (see ${logDir})`)));
        }),
    ),
  );
  try {
    return { workers: await ready, startupSeconds: seconds(since) };
  } catch (error) {
    await stopWorkers(children);
    throw error;
  }
}

async function stopWorkers(workers) {
  await Promise.all(
    workers.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.removeAllListeners('exit');
          child.once('exit', resolve);
          child.kill('SIGINT');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
}

/**
 * Starts DailyScanWorkflow with the options `trailwarden scan` uses, waits for its result, and reads
 * the findings it stored (a fresh findings folder per run) and the size of its history.
 */
async function runScan({ address, taskQueue, date, sources, rules, findingsDirectory, workflowId = `scan-${date}` }) {
  const { Client, Connection } = require('@temporalio/client');
  const { searchAttributesRegistered } = require(join(DIST, 'cli', 'visibility.js'));
  rmSync(findingsDirectory, { recursive: true, force: true });
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const indexed = await searchAttributesRegistered(client, 'default');
    const config = { sources, rules, findingsDirectory };
    const since = process.hrtime.bigint();
    const handle = await client.workflow.start('DailyScanWorkflow', {
      taskQueue,
      workflowId,
      args: [{ date, config, indexed }],
      staticSummary: `Daily scan of ${date}`,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    const summary = await handle.result();
    const scanSeconds = seconds(since);
    const history = await handle.fetchHistory();
    const findings = summary.findings ? readJsonLines(join(findingsDirectory, `${date}.jsonl`)) : [];
    return { seconds: scanSeconds, summary, historyEvents: history.events.length, phases: phases(history), keys: findings.map(findingKey).sort() };
  } finally {
    await connection.close();
  }
}

/**
 * Where the workflow's time went, from its history: seconds from its start to the first partition batch
 * (a ScanBatchWorkflow child, or a scan activity in a history from before batches), the span of the
 * batches, and from the last one's end to the workflow's.
 */
function phases(history) {
  const { tsToMs } = require('@temporalio/common/lib/time');
  const at = (event) => tsToMs(event.eventTime);
  const scheduled = new Map();
  let scanStart = Infinity;
  let scanEnd = 0;
  for (const event of history.events) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled.set(Number(event.eventId), name);
    const done = event.activityTaskCompletedEventAttributes;
    if (done && /Partition$/.test(scheduled.get(Number(done.scheduledEventId)) ?? '')) scanEnd = Math.max(scanEnd, at(event));
    if (name && /Partition$/.test(name)) scanStart = Math.min(scanStart, at(event));
    if (event.startChildWorkflowExecutionInitiatedEventAttributes) scanStart = Math.min(scanStart, at(event));
    if (event.childWorkflowExecutionCompletedEventAttributes) scanEnd = Math.max(scanEnd, at(event));
  }
  const first = at(history.events[0]);
  const last = at(history.events[history.events.length - 1]);
  return { beforeScanSeconds: (scanStart - first) / 1000, scanSeconds: (scanEnd - scanStart) / 1000, afterScanSeconds: (last - scanEnd) / 1000 };
}

/** One scan on fresh workers (so their peak RSS is this scan's), reported with the workers' peak RSS. */
async function scanWithFreshWorkers({ address, workers: n, env, logDir, nodeArgs, ...scan }) {
  const taskQueue = `bench-${process.pid}-${Date.now()}`;
  const { workers, startupSeconds } = await startWorkers({ address, taskQueue, n, env, logDir, nodeArgs });
  try {
    // a running worker has run workflows before: the first workflow task of a fresh worker loads the
    // workflow bundle into its sandbox (~0.1 s), which is start-up, timed apart with it
    const since = process.hrtime.bigint();
    const empty = join(logDir, 'warm-up');
    mkdirSync(join(empty, 'logs'), { recursive: true });
    await Promise.all(
      Array.from({ length: 2 * n }, (_, i) =>
        runScan({
          address,
          taskQueue,
          date: scan.date,
          rules: scan.rules,
          workflowId: `warm-up-${taskQueue}-${i}`,
          sources: [{ type: 'directory', path: join(empty, 'logs') }],
          findingsDirectory: join(empty, `findings-${i}`),
        }),
      ),
    );
    const warmUpSeconds = Number(process.hrtime.bigint() - since) / 1e9;
    const result = await runScan({ address, taskQueue, ...scan });
    const rss = workers.map((w) => peakRss(w.pid));
    return { ...result, workerStartupSeconds: startupSeconds, warmUpSeconds, workerPeakRssBytes: Math.max(...rss), workerPeakRssEach: rss };
  } finally {
    await stopWorkers(workers);
  }
}

module.exports = { startServer, scanWithFreshWorkers, startWorkers, stopWorkers };
