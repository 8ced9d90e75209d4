#!/usr/bin/env node
// Shows durable, exactly-once notifications: a webhook receiver that is down for a while, a worker
// killed with SIGKILL while deliveries are being retried, a new worker, and in the end exactly one
// accepted delivery per incident.      npm run build && node scripts/outage-demo.js [--down-seconds 15]
'use strict';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { spawn } = require('node:child_process');
const { createServer } = require('node:http');
const { mkdirSync, mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { DEMO_DATE, buildSampleTrail } = require('../dist/demo/sample-trail');
const { startDevServer } = require('../dist/local/dev-server');

const downSeconds = Number(process.argv[process.argv.indexOf('--down-seconds') + 1]) || 15;
const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

(async () => {
  const work = mkdtempSync(join(tmpdir(), 'tw-outage-'));
  for (const [key, body] of buildSampleTrail()) {
    mkdirSync(dirname(join(work, 'logs', key)), { recursive: true });
    writeFileSync(join(work, 'logs', key), body);
  }
  const upAt = Date.now() + downSeconds * 1000;
  const accepted = new Map();
  let attempts = 0;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      attempts++;
      const key = req.headers['idempotency-key'];
      if (Date.now() < upAt) {
        res.writeHead(503).end('down');
        return;
      }
      if (!accepted.has(key)) accepted.set(key, body);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  writeFileSync(
    join(work, 'cfg.json'),
    JSON.stringify({
      sources: [{ type: 'directory', path: join(work, 'logs') }],
      findings: { directory: join(work, 'findings') },
      notifications: [{ type: 'webhook', url, secretEnv: 'OUTAGE_DEMO_SECRET' }],
    }),
  );
  const server = await startDevServer({});
  const env = { ...process.env, TEMPORAL_ADDRESS: server.address, TRAILWARDEN_CONFIG: join(work, 'cfg.json'), OUTAGE_DEMO_SECRET: 'demo-secret' };
  const bin = join(__dirname, '..', 'bin', 'trailwarden.js');
  const startWorker = () => spawn(process.execPath, [bin, 'worker'], { env, stdio: 'ignore' });
  let worker = startWorker();
  log(`Temporal dev server at ${server.address}; webhook receiver at ${url} answers 503 for ${downSeconds} s`);
  try {
    const scan = spawn(process.execPath, [bin, 'scan', '--date', DEMO_DATE], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    scan.stdout.on('data', (c) => (out += c));
    await new Promise((r) => scan.on('close', r));
    log(`scan done: ${(out.match(/incidents: .*/) || ['?'])[0]}`);
    await new Promise((r) => setTimeout(r, 3000));
    log(`receiver still down; ${attempts} attempt(s) refused so far; killing the worker with SIGKILL`);
    worker.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    worker = startWorker();
    log('started a new worker');
    const deadline = Date.now() + downSeconds * 1000 + 120_000;
    while (accepted.size < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, 3000));
    log(
      `receiver up since ${Math.max(0, Math.round((Date.now() - upAt) / 1000))} s: ${attempts} attempt(s) in all, ${accepted.size} accepted delivery(ies), one per incident:`,
    );
    for (const [key] of accepted) log(`  ${key}`);
    process.exitCode = accepted.size === 6 ? 0 : 1;
  } finally {
    worker.kill('SIGKILL');
    receiver.close();
    await server.stop();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
