#!/usr/bin/env node
// Runs real scans of the built-in sample trail on a private dev server and saves their event
// histories for the replay tests (test/fixtures/histories/):
//   daily-scan.json      DailyScanWorkflow of the demo day, with search attributes
//   scan-batch.json      its ScanBatchWorkflow child (the day's partitions)
//   range-scan.json      RangeScanWorkflow over 3 days, 2 per run (its first run: ends in continue-as-new)
//   scheduled-scan.json  ScheduledScanWorkflow (started directly: it scans the day before its start)
//   incident.json        IncidentWorkflow of the demo day's alice finding (2 s window, file channel)
//   notification.json    its NotificationWorkflow
//   watch.json           WatchWorkflow's first run over today's sample trail in a folder, polled every
//                        second, three rounds (it ends in continue-as-new)
// `node scripts/record-history.js --only watch` records watch.json alone.
// daily-scan-before-batches.json, a scan recorded before partitions ran in batches, is kept by hand: it
// replays through the patched path that scans of that version still take. So are the *-before-plan-store
// histories, watch-before-batch-window.json (a watch whose input had no batchWindowMs) and
// watch-before-heartbeats.json (a watch from before the WATCH_HEARTBEATS patch: watchCorrelate without a heartbeat timeout).
// Re-record deliberately, after a workflow change that is meant to be incompatible.
'use strict';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { mkdirSync, mkdtempSync, readFileSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { DefaultLogger, Runtime } = require('@temporalio/worker');
const { historyToJSON } = require('@temporalio/common/lib/proto-utils');
const { parseConfig, scanConfigFields } = require('../dist/config/load');
const { ssmCommandExecution } = require('../dist/rules');
const { DEMO_DATE, buildSampleTrail } = require('../dist/demo/sample-trail');
const { startDevServer } = require('../dist/local/dev-server');
const { createWorker } = require('../dist/workers/worker');
const { connectClient } = require('../dist/cli/temporal');
const { watchInputOf } = require('../dist/cli/watch');
const { shiftDay } = require('../dist/common/days');

const OUT = join(__dirname, '..', 'test', 'fixtures', 'histories');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

/** The watch: today's sample trail, three rounds of a one-second poll, then its continue-as-new. */
async function recordWatch(client, target, work, save) {
  const today = new Date().toISOString().slice(0, 10);
  for (const [key, body] of buildSampleTrail(today)) {
    mkdirSync(dirname(join(work, 'watched', key)), { recursive: true });
    writeFileSync(join(work, 'watched', key), body);
  }
  const loaded = parseConfig({
    sources: [{ type: 'directory', path: join(work, 'watched'), pollInterval: 'PT1S' }],
    findings: { directory: join(work, 'watch-findings') },
    notifications: [{ type: 'file', name: 'history-file', path: join(work, 'watch-notifications.jsonl') }],
  });
  const config = scanConfigFields(loaded);
  const handle = await client.workflow.start('WatchWorkflow', {
    taskQueue: target.taskQueue,
    workflowId: 'watch-history',
    args: [{ ...watchInputOf(loaded, config, true), roundsPerRun: 3 }],
  });
  for (;;) {
    const { runId } = await handle.describe();
    if (runId !== handle.firstExecutionRunId) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await handle.signal('stop');
  await handle.result();
  await save('watch.json', client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId));
}

(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const work = mkdtempSync(join(tmpdir(), 'tw-history-'));
  const yesterday = shiftDay(new Date().toISOString().slice(0, 10), -1);
  for (const day of [DEMO_DATE, shiftDay(DEMO_DATE, 1), shiftDay(DEMO_DATE, 2), yesterday, shiftDay(yesterday, -1)]) {
    for (const [key, body] of buildSampleTrail(day)) {
      mkdirSync(dirname(join(work, 'logs', key)), { recursive: true });
      writeFileSync(join(work, 'logs', key), body);
    }
  }
  const loaded = parseConfig({
    sources: [{ type: 'directory', path: join(work, 'logs') }],
    findings: { directory: join(work, 'findings') },
    notifications: [{ type: 'file', name: 'history-file', path: join(work, 'notifications.jsonl') }],
    rules: { [ssmCommandExecution.id]: { suppression: { duration: 'PT2S' } } },
  });
  const config = { sources: loaded.sources, rules: loaded.rules, findingsDirectory: loaded.findingsDirectory, incidents: loaded.incidents };
  const server = await startDevServer({});
  const target = { address: server.address, namespace: 'default', taskQueue: 'trailwarden' };
  try {
    const { worker, connection } = await createWorker(target);
    await worker.runUntil(async () => {
      const { client, close } = await connectClient(target);
      const previousIds = JSON.parse(readFileSync(join(OUT, 'workflow-ids.json'), 'utf8'));
      const ids = ONLY ? { ...previousIds } : {};
      const save = async (name, handle) => {
        const history = await handle.fetchHistory();
        mkdirSync(OUT, { recursive: true });
        writeFileSync(join(OUT, name), historyToJSON(history));
        // replay needs the workflow id where the code derives other ids from it
        ids[name] = handle.workflowId;
        ids['daily-scan-before-batches.json'] = `scan-${DEMO_DATE}`;
        // histories recorded before a deliberate change, kept to replay beside the new ones
        for (const kept of [
          'daily-scan-before-plan-store.json',
          'scan-batch-before-plan-store.json',
          'watch-before-batch-window.json',
          'watch-before-heartbeats.json',
        ])
          ids[kept] = previousIds[kept];
        writeFileSync(join(OUT, 'workflow-ids.json'), `${JSON.stringify(ids, null, 2)}\n`);
        console.log(`saved ${history.events.length} events of ${handle.workflowId} to ${name}`);
      };
      if (ONLY === 'watch') {
        await recordWatch(client, target, work, save);
        await close();
        return;
      }
      const daily = await client.workflow.start('DailyScanWorkflow', {
        taskQueue: target.taskQueue,
        workflowId: `scan-${DEMO_DATE}`,
        args: [{ date: DEMO_DATE, config, indexed: true }],
      });
      await daily.result();
      await save('daily-scan.json', daily);
      await save('scan-batch.json', client.workflow.getHandle(`${daily.workflowId}-${daily.firstExecutionRunId}-batch-0`));
      const range = await client.workflow.start('RangeScanWorkflow', {
        taskQueue: target.taskQueue,
        workflowId: 'scan-range-history',
        args: [{ from: shiftDay(DEMO_DATE, 1), to: shiftDay(DEMO_DATE, 3), config, concurrency: 2, indexed: true, daysPerRun: 2 }],
      });
      await range.result();
      await save('range-scan.json', client.workflow.getHandle(range.workflowId, range.firstExecutionRunId));
      const scheduled = await client.workflow.start('ScheduledScanWorkflow', {
        taskQueue: target.taskQueue,
        workflowId: 'scheduled-scan-history',
        args: [{ config, rescanDays: 1, indexed: true }],
      });
      await scheduled.result();
      await save('scheduled-scan.json', scheduled);
      const incidentRuns = [];
      for await (const run of client.workflow.list({ query: "WorkflowType = 'IncidentWorkflow'" })) incidentRuns.push(run);
      const alice = [];
      for (const run of incidentRuns) {
        const handle = client.workflow.getHandle(run.workflowId, run.runId);
        const state = await handle.result();
        if (state.key.user === 'alice' && state.evidence.some((e) => e.windowStart.startsWith(DEMO_DATE))) alice.push({ handle, state });
      }
      await save('incident.json', alice[0].handle);
      await save('notification.json', client.workflow.getHandle(alice[0].state.notifications[0].notificationId));
      await recordWatch(client, target, work, save);
      await close();
    });
    await connection.close();
  } finally {
    await server.stop();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
