import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import type { ScanSummary } from '../../src/activities/types';
import { parseConfig } from '../../src/config/load';
import { freePort, startDevServer } from '../../src/local/dev-server';
import type { RangeScanResult } from '../../src/workflows/range-scan';
import { gzipSync } from 'node:zlib';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import type { Finding } from '../../src/rules/types';
import { BIN, jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { startFaultProxy } from '../helpers/fault-proxy';
import { s3Endpoint, temporalAddress } from '../helpers/services';
import { projectFindings } from '../helpers/trail-records';
import { expectedRule1, expectedRule2 } from './expected-demo-findings';

const DATE = '2026-04-04';

async function upload(bucket: string, files: Map<string, Buffer>): Promise<void> {
  const client = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint(), forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of files) await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  client.destroy();
}

describe('faults: the scan completes with exactly the findings of a clean run', () => {
  test('S3 answering SlowDown and InternalError for a while, and connections reset in the middle of bodies', async () => {
    await upload('fault-trail', buildSampleTrail(DATE));
    const proxy = await startFaultProxy(s3Endpoint(), (i) =>
      i < 6 ? 'slowdown' : i < 9 ? 'internal-error' : i % 7 === 0 && i < 40 ? 'reset-mid-body' : undefined,
    );
    try {
      const dir = tempDir('faults');
      const config = writeConfig(dir, {
        sources: [{ type: 's3', bucket: 'fault-trail', endpoint: proxy.endpoint }],
        findings: { directory: join(dir, 'findings') },
      });
      const result = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DATE]);
      expect(result.code).toBe(0);
      expect(proxy.injected.slowdown).toBe(6);
      expect(proxy.injected['internal-error']).toBe(3);
      expect(proxy.injected['reset-mid-body']).toBeGreaterThanOrEqual(3);
      expect(projectFindings(jsonLines<Finding>(result.stdout))).toEqual({ rule1: expectedRule1(DATE), rule2: expectedRule2(DATE) });
      // only the trail's one corrupt object is reported: no object was lost to the faults
      expect(result.stderr).toMatch(/skipped or reported 1 object\(s\) or record\(s\)/);
    } finally {
      await proxy.close();
    }
  });

  test('bad data: truncated gzip, invalid JSON, Records not an array, records without eventTime, eventID or userIdentity, non-UTF-8 bytes, a huge record', async () => {
    const dir = tempDir('baddata');
    const files = buildSampleTrail(DATE);
    const record = (extra: object) => ({
      eventVersion: '1.09',
      eventSource: 'ssm.amazonaws.com',
      eventName: 'SendCommand',
      recipientAccountId: '111122223333',
      userIdentity: { type: 'IAMUser', userName: 'eve' },
      ...extra,
    });
    const add = (name: string, body: Buffer) => files.set(`extra/${name}`, body);
    add('truncated.json.gz', gzipSync(JSON.stringify({ Records: [record({ eventID: 't1', eventTime: `${DATE}T01:00:00Z` })] })).subarray(0, 30));
    add('invalid.json', Buffer.from('{"Records":[{"eventID": nope}'));
    add('not-array.json', Buffer.from('{"Records":{"eventID":"x"}}'));
    add(
      'no-fields.json',
      Buffer.from(
        JSON.stringify({
          Records: [record({ eventID: 'no-time' }), record({ eventTime: `${DATE}T02:00:00Z` }), record({ eventID: 'ok-1', eventTime: `${DATE}T03:00:00Z` })],
        }),
      ),
    );
    add(
      'no-identity.json',
      Buffer.from(JSON.stringify({ Records: [{ ...record({ eventID: 'no-identity', eventTime: `${DATE}T06:00:00Z` }), userIdentity: undefined }] })),
    );
    add(
      'latin1.json',
      Buffer.concat([
        Buffer.from(
          '{"Records":[{"eventID":"l1","eventTime":"' +
            DATE +
            'T04:00:00Z","eventName":"SendCommand","eventSource":"ssm.amazonaws.com","recipientAccountId":"111122223333","userIdentity":{"userName":"j',
        ),
        Buffer.from([0xf6]),
        Buffer.from('rg"}}]}'),
      ]),
    );
    add(
      'huge.json.gz',
      gzipSync(JSON.stringify({ Records: [record({ eventID: 'huge', eventTime: `${DATE}T05:00:00Z`, requestParameters: { blob: 'x'.repeat(20_000_000) } })] })),
    );
    writeFiles(join(dir, 'logs'), files);
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' } });
    const result = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DATE]);
    expect(result.code).toBe(0);
    for (const reason of [
      'truncated.json.gz: unexpected end of file',
      'not-array.json: "Records" is not an array',
      'no-fields.json: malformed record: record no-time has no parsable eventTime',
      'no-fields.json: malformed record: record has no eventID',
      'no-identity.json: record no-identity has no userIdentity: kept, with an empty user',
    ]) {
      expect(result.stderr).toContain(reason);
    }
    expect(result.stderr).toMatch(/invalid\.json: /);
    const findings = jsonLines<Finding>(result.stdout);
    const users = findings.filter((f) => f.ruleId === 'PH_Rule_ES_IMPORT_AWS_15').map((f) => (f as { user: string }).user);
    // the good records of the damaged files still count; the demo's findings are all there
    expect(users).toEqual(expect.arrayContaining(['eve', 'j\ufffdrg', 'alice', 'bob@example.com', 'mallory', 'carol']));
    expect(findings.find((f) => f.eventIds.includes('huge'))).toBeDefined();
    // reported, and still counted, with the empty user docs/rules.md's userOf gives it
    expect(findings.find((f) => f.eventIds.includes('no-identity'))).toMatchObject({ user: '' });
  });
});

describe('faults: workers killed and the Temporal server restarted', () => {
  // a fixed number of scan threads, so that how far a worker reads ahead does not depend on the machine
  const SCAN_THREADS = 2;
  // each object's GET through the proxy takes this long: slow enough that a second of objects is fewer than were read before the kill
  const OBJECT_DELAY_MS = 600;
  const workerEnv = (address: string, taskQueue: string) => ({
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TRAILWARDEN_TASK_QUEUE: taskQueue,
    TRAILWARDEN_SCAN_THREADS: String(SCAN_THREADS),
  });
  const startWorker = (env: NodeJS.ProcessEnv): ChildProcess => spawn(process.execPath, [BIN, 'worker'], { env, stdio: 'ignore' });

  test('the worker SIGKILLed in the middle of an S3 partition: the next one resumes after the last object it finished', async () => {
    await upload('kill-trail', buildSampleTrail('2026-04-05'));
    const proxy = await startFaultProxy(s3Endpoint(), () => undefined, OBJECT_DELAY_MS);
    const taskQueue = `s3-kill-${Date.now()}`;
    let worker = startWorker(workerEnv(temporalAddress(), taskQueue));
    const dir = tempDir('s3kill');
    const config = parseConfig({ sources: [{ type: 's3', bucket: 'kill-trail', endpoint: proxy.endpoint }], findings: { directory: join(dir, 'findings') } });
    const connection = await Connection.connect({ address: temporalAddress() });
    try {
      const client = new Client({ connection });
      const handle = await client.workflow.start('DailyScanWorkflow', {
        taskQueue,
        workflowId: `scan-kill-${taskQueue}`,
        args: [{ date: '2026-04-05', config: { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory } }],
      });
      while (proxy.getObjects.length < 20) await new Promise((r) => setTimeout(r, 50));
      worker.kill('SIGKILL');
      const readBeforeKill = new Set(proxy.getObjects).size;
      worker = startWorker(workerEnv(temporalAddress(), taskQueue));
      const summary = (await handle.result()) as ScanSummary;
      expect(summary.findings).toBe(6);
      expect(summary.objects).toBe(28);
      const reads = proxy.getObjects.length;
      const distinct = new Set(proxy.getObjects).size;
      expect(distinct).toBe(29); // 28 objects and the corrupt one
      // resumed from the last heartbeat (at most a second old): the objects read ahead and those finished in
      // that last second are read again, not the 20 read before the kill. A partition reads ahead as many
      // objects as the scan threads hold (two each) and one more: 5 with 2 threads; through the proxy's
      // 600 ms per object that is at most 9 finished in a second, 14 read again at most (fewer than 19).
      const readAhead = 2 * SCAN_THREADS + 1;
      expect(readBeforeKill).toBeGreaterThanOrEqual(19);
      expect(reads - distinct).toBeLessThanOrEqual(readAhead + Math.ceil((readAhead * 1000) / OBJECT_DELAY_MS));
    } finally {
      worker.kill('SIGKILL');
      await connection.close();
      await proxy.close();
    }
  }, 300_000);

  test('a range re-run survives the Temporal server stopping and restarting (persistent history) and its worker being killed', async () => {
    const days = ['2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13'];
    const dir = tempDir('restart');
    const files = new Map<string, Buffer>();
    for (const day of days) for (const [key, body] of buildSampleTrail(day)) files.set(key, body);
    writeFiles(join(dir, 'logs'), files);
    const cleanConfig = writeConfig(tempDir('restart-clean'), {
      sources: [{ type: 'directory', path: join(dir, 'logs') }],
      findings: { directory: join(dir, 'clean') },
      incidents: { enabled: false },
    });
    const step = (what: string) => process.stderr.write(`[restart test ${new Date().toISOString()}] ${what}\n`);
    step('clean run');
    const clean = await runCli(['scan', '--embedded', '--config', cleanConfig, '--from', days[0], '--to', days[3]]);
    if (clean.code !== 0) process.stderr.write(`the clean run failed:\n${clean.stderr}\n`);
    expect(clean.code).toBe(0);

    const port = await freePort();
    const dbFile = join(dir, 'temporal.db');
    let server = await startDevServer({ port, dbFile });
    const taskQueue = `restart-${Date.now()}`;
    let worker = startWorker(workerEnv(server.address, taskQueue));
    const loaded = parseConfig({
      sources: [{ type: 'directory', path: join(dir, 'logs') }],
      findings: { directory: join(dir, 'faulty') },
      incidents: { enabled: false },
    });
    const config = { sources: loaded.sources, rules: loaded.rules, findingsDirectory: loaded.findingsDirectory, incidents: loaded.incidents };
    try {
      let connection = await Connection.connect({ address: server.address });
      const handle = await new Client({ connection }).workflow.start('RangeScanWorkflow', {
        taskQueue,
        workflowId: `range-restart-${taskQueue}`,
        args: [{ from: days[0], to: days[3], config, concurrency: 1, daysPerRun: 2 }],
      });
      await connection.close();
      step('range started');
      while (!existsSync(join(dir, 'faulty', `${days[0]}.jsonl`))) await new Promise((r) => setTimeout(r, 100));
      step('first day stored; stopping the server');
      await server.stop();
      worker.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1000));
      server = await startDevServer({ port, dbFile });
      step('server restarted');
      worker = startWorker(workerEnv(server.address, taskQueue));
      connection = await Connection.connect({ address: server.address });
      const result = (await new Client({ connection }).workflow.getHandle(handle.workflowId).result()) as RangeScanResult;
      await connection.close();
      expect(result.days.map((d) => [d.date, d.status])).toEqual(days.map((d) => [d, 'Completed']));
      for (const day of days) {
        expect(readFileSync(join(dir, 'faulty', `${day}.jsonl`), 'utf8')).toBe(readFileSync(join(dir, 'clean', `${day}.jsonl`), 'utf8'));
      }
    } finally {
      worker.kill('SIGKILL');
      await server.stop();
    }
    // the killed worker's activity is only retried after its 30 s heartbeat timeout
  }, 300_000);
});
