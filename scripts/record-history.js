#!/usr/bin/env node
// Runs one real daily scan of the built-in sample trail on a private dev server and saves its event
// history for the replay tests:  node scripts/record-history.js [test/fixtures/histories/daily-scan.json]
// Re-record deliberately, after a workflow change that is meant to be incompatible, and keep the old file.
'use strict';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { mkdirSync, mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join, resolve } = require('node:path');
const { DefaultLogger, Runtime } = require('@temporalio/worker');
const { parseConfig } = require('../dist/config/load');
const { DEMO_DATE, buildSampleTrail } = require('../dist/demo/sample-trail');
const { startDevServer } = require('../dist/local/dev-server');
const { createWorker } = require('../dist/workers/worker');
const { connectClient } = require('../dist/cli/temporal');
const { runDailyScan } = require('../dist/cli/scan');

(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const out = resolve(process.argv[2] ?? join(__dirname, '..', 'test', 'fixtures', 'histories', 'daily-scan.json'));
  const work = mkdtempSync(join(tmpdir(), 'tw-history-'));
  for (const [key, body] of buildSampleTrail()) {
    mkdirSync(dirname(join(work, 'logs', key)), { recursive: true });
    writeFileSync(join(work, 'logs', key), body);
  }
  const config = parseConfig({ sources: [{ type: 'directory', path: join(work, 'logs') }], findings: { directory: join(work, 'findings') } });
  const server = await startDevServer({});
  const target = { address: server.address, namespace: 'default', taskQueue: 'trailwarden' };
  try {
    const { worker, connection } = await createWorker(target);
    await worker.runUntil(async () => {
      const { client, close } = await connectClient(target);
      const outcome = await runDailyScan(client, target, DEMO_DATE, { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory });
      const history = await client.workflow.getHandle(outcome.workflowId, outcome.runId).fetchHistory();
      const { historyToJSON } = require('@temporalio/common/lib/proto-utils');
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, historyToJSON(history));
      console.log(`saved ${history.events.length} events of ${outcome.workflowId} to ${out}`);
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
