'use strict';
/**
 * Stage (b): the real scanPartition activity in-process (MockActivityEnvironment gives it an activity
 * Context), then the real correlate. The trail is split the way the S3 source plans a trail: one
 * directory partition per AWSLogs/<account>/CloudTrail/<region> folder. As in a worker, up to `slots`
 * partitions run at once on the main thread and share the process's scan threads (TRAILWARDEN_SCAN_THREADS,
 * default one per core), which are started before the clock starts, as a running worker has them.
 * Child process: node inproc.js '{"dir":…,"date":"YYYY-MM-DD","slots":N,"rulesConfig":{…}}'
 */
const { join } = require('node:path');
const { DIST, partitionFolders, findingKey, report, scanPeriod } = require('./common');

const { MockActivityEnvironment } = require('@temporalio/testing');
const { scanPartition } = require(join(DIST, 'activities', 'scan-partition.js'));
const { sharedScanPool } = require(join(DIST, 'scan', 'scan-pool.js'));
const { parseConfig } = require(join(DIST, 'config', 'load.js'));
const { correlate, cleanupScratch } = require(join(DIST, 'activities', 'correlate.js'));
const { blobLines } = require(join(DIST, 'activities', 'scratch.js'));

const { dir, date, slots = 8, rulesConfig } = JSON.parse(process.argv[2]);
// rulesConfig: the config's "rules" (npm run bench -- --sigma turns on the Sigma pack), else the defaults
const rules = parseConfig({ sources: [], ...(rulesConfig ? { rules: rulesConfig } : {}) }).rules;
const period = scanPeriod(date);
const scanId = `bench-inproc-${process.pid}`;
const queue = partitionFolders(dir).map(({ path }, i) => ({
  scanId,
  partition: { id: `${i}-dir`, sourceIndex: i, label: `directory ${path}` },
  source: { type: 'directory', path },
  rules,
  period,
}));

async function main() {
  const pool = sharedScanPool();
  await pool?.warm();
  const started = process.hrtime.bigint();
  const results = [];
  await Promise.all(
    Array.from({ length: Math.min(slots, queue.length) }, async () => {
      while (queue.length) results.push(await new MockActivityEnvironment().run(scanPartition, queue.shift()));
    }),
  );
  results.sort((a, b) => a.partitionId.localeCompare(b.partitionId));
  const correlated = await correlate({ scanId, period, rules, selected: results.map((r) => r.selected) });
  const findings = [...blobLines(correlated.findings)].map((line) => JSON.parse(line));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await cleanupScratch(scanId);
  await pool?.close();
  const sum = (key) => results.reduce((total, r) => total + r.stats[key], 0);
  report({
    seconds,
    threads: pool?.size ?? 0,
    partitions: results.length,
    objects: sum('objects'),
    records: sum('records'),
    parsed: sum('parsed'),
    selected: sum('selected'),
    bytesRaw: sum('bytes'),
    skipped: results.reduce((total, r) => total + r.skippedCount, 0),
    findingsByRule: correlated.findingsByRule,
    keys: findings.map(findingKey).sort(),
  });
}
main();
