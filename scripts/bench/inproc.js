'use strict';
/**
 * Stage (b): the real scanPartition activity in-process (MockActivityEnvironment gives it an activity
 * Context), then the real correlate. The trail is split the way the S3 source plans a trail: one
 * directory partition per AWSLogs/<account>/CloudTrail/<region> folder. `threads` worker_threads
 * (default: every core) each take the next partition, largest first, as a worker's activity slots would.
 * Child process: node inproc.js '{"dir":…,"date":"YYYY-MM-DD","threads":N}'
 */
const os = require('node:os');
const { join } = require('node:path');
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
const { DIST, partitionFolders, findingKey, report, scanPeriod } = require('./common');

if (!isMainThread) {
  const { MockActivityEnvironment } = require('@temporalio/testing');
  const { scanPartition } = require(join(DIST, 'activities', 'scan-partition.js'));
  parentPort.postMessage('ready');
  parentPort.on('message', async (input) => {
    if (!input) return parentPort.close();
    const env = new MockActivityEnvironment();
    parentPort.postMessage(await env.run(scanPartition, input));
  });
} else {
  const { dir, date, threads = os.availableParallelism() } = JSON.parse(process.argv[2]);
  const { parseConfig } = require(join(DIST, 'config', 'load.js'));
  const { correlate, cleanupScratch } = require(join(DIST, 'activities', 'correlate.js'));
  const { blobLines } = require(join(DIST, 'activities', 'scratch.js'));
  const rules = parseConfig({ sources: [] }).rules;
  const period = scanPeriod(date);
  const scanId = `bench-inproc-${process.pid}`;
  const queue = partitionFolders(dir).map(({ path }, i) => ({
    scanId, partition: { id: `${i}-dir`, sourceIndex: i, label: `directory ${path}` }, source: { type: 'directory', path }, rules, period,
  }));

  // Threads load their modules first (a worker has them loaded before its first activity); the clock starts after.
  const results = [];
  let started;
  const startThread = () => new Promise((ready, reject) => {
    const worker = new Worker(join(__dirname, 'inproc.js'));
    worker.once('error', reject);
    worker.once('message', () => ready(worker));
  });
  const drain = (worker) => new Promise((resolve) => {
    const next = () => worker.postMessage(queue.shift() ?? null);
    worker.on('message', (result) => {
      results.push(result);
      next();
    });
    worker.once('exit', resolve);
    next();
  });

  Promise.all(Array.from({ length: Math.min(threads, queue.length) }, startThread)).then(async (workers) => {
    started = process.hrtime.bigint();
    await Promise.all(workers.map(drain));
    results.sort((a, b) => a.partitionId.localeCompare(b.partitionId));
    const correlated = await correlate({ scanId, period, rules, selected: results.map((r) => r.selected) });
    const findings = [...blobLines(correlated.findings)].map((line) => JSON.parse(line));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await cleanupScratch(scanId);
    const sum = (key) => results.reduce((total, r) => total + r.stats[key], 0);
    report({
      seconds, threads, partitions: results.length,
      objects: sum('objects'), records: sum('records'), parsed: sum('parsed'), selected: sum('selected'), bytesRaw: sum('bytes'),
      skipped: results.reduce((total, r) => total + r.skippedCount, 0),
      findingsByRule: correlated.findingsByRule, keys: findings.map(findingKey).sort(),
    });
  });
}
