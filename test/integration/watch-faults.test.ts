import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import type { ScanSummary } from '../../src/activities/types';
import { watchInputOf } from '../../src/cli/watch';
import { classifyKey } from '../../src/cloudtrail/keys';
import { parseConfig, scanConfigFields } from '../../src/config/load';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import { freePort, startDevServer } from '../../src/local/dev-server';
import { findingsStoreOf } from '../../src/store/findings-store';
import { WATCH_WORKFLOW_ID, type WatchProgress, watchProgressQuery } from '../../src/workflows/watch';
import { BIN, jsonLines, tempDir } from '../helpers/cli';
import { s3Endpoint } from '../helpers/services';
import { projectFindings } from '../helpers/trail-records';
import { waitFor } from '../helpers/wait';
import { deliveryOrder, notifiedBucket, s3 } from '../helpers/watched-trail';
import { expectedRule1, expectedRule2 } from './expected-demo-findings';

const DAY = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const TODAY = new Date().toISOString().slice(0, 10);

test('watch: a worker SIGKILLed and the Temporal server restarted mid-day lose nothing and notify nothing twice', async () => {
  const dir = tempDir('watch-faults');
  const bucket = `watch-faults-${Date.now()}`;
  const loaded = parseConfig({
    sources: [{ type: 's3', bucket, endpoint: s3Endpoint(), notifications: { sqsQueueUrl: await notifiedBucket(bucket), endpoint: s3Endpoint() } }],
    findings: { directory: join(dir, 'findings') },
    notifications: [{ type: 'file', path: join(dir, 'notifications.jsonl') }],
    watch: { dayEndsAfter: 'P1D' },
  });
  const config = scanConfigFields(loaded);
  const files = buildSampleTrail(DAY);
  const order = deliveryOrder(files, TODAY);
  const upload = async (keys: string[]) => {
    for (const key of keys) {
      await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: files.get(key) }));
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  const port = await freePort();
  const dbFile = join(dir, 'temporal.db');
  let server = await startDevServer({ port, dbFile });
  const taskQueue = `watch-faults-${Date.now()}`;
  // a killed worker's notifications come back after 5 s, not the default 2 minutes
  const workerEnv = { ...process.env, TEMPORAL_ADDRESS: server.address, TRAILWARDEN_TASK_QUEUE: taskQueue, TRAILWARDEN_WATCH_VISIBILITY_S: '5' };
  // each worker's log in the test's folder: a timeout below shows its last lines
  let workers = 0;
  const logs: string[] = [];
  const startWorker = (): ChildProcess => {
    const log = join(dir, `worker-${workers++}.log`);
    logs.push(log);
    return spawn(process.execPath, [BIN, 'worker'], { env: { ...workerEnv, TRAILWARDEN_LOG_FILE: log }, stdio: 'ignore' });
  };
  let worker = startWorker();
  let connection = await Connection.connect({ address: server.address });
  try {
    let client = new Client({ connection });
    await client.workflow.start('WatchWorkflow', { taskQueue, workflowId: WATCH_WORKFLOW_ID, args: [watchInputOf(loaded, config, false)] });
    const half = Math.floor(order.length / 2);
    await upload(order.slice(0, half));
    // killed in the middle of the day's deliveries, with the server gone too for a while
    await waitFor(
      'the watch to have scanned some objects',
      async () => ((await client.workflow.getHandle(WATCH_WORKFLOW_ID).query(watchProgressQuery)).totals.objects > 3 ? true : undefined),
      60_000,
    );
    worker.kill('SIGKILL');
    await connection.close();
    await server.stop();
    await upload(order.slice(half, half + 3));
    // as faults.test does: the stopped server's port and database take a moment to be free again
    await new Promise((r) => setTimeout(r, 1500));
    server = await startDevServer({ port, dbFile }).catch(async () => {
      await new Promise((r) => setTimeout(r, 3000));
      return startDevServer({ port, dbFile });
    });
    worker = startWorker();
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });
    await upload(order.slice(half + 3));

    const trailObjects = [...files.keys()].filter((key) => classifyKey(key) === 'trail').length;
    const handle = client.workflow.getHandle(WATCH_WORKFLOW_ID);
    await waitFor(
      'the watch to scan and correlate every object after the restart',
      async () => {
        const p: WatchProgress = await handle.query(watchProgressQuery);
        return p.objectsByDay?.[DAY] === trailObjects && p.dirty.length === 0 ? p : undefined;
      },
      180_000,
    ).catch(async (error) => {
      const p = await handle.query(watchProgressQuery);
      // what the watch waits on: an activity a killed worker held shows its attempt, worker and last heartbeat
      const pending = ((await handle.describe()).raw.pendingActivities ?? []).map((a) => ({
        activity: a.activityType?.name,
        state: a.state,
        attempt: a.attempt,
        worker: a.lastWorkerIdentity,
        started: a.lastStartedTime?.seconds && new Date(Number(a.lastStartedTime.seconds) * 1000).toISOString(),
        heartbeat: a.lastHeartbeatTime?.seconds && new Date(Number(a.lastHeartbeatTime.seconds) * 1000).toISOString(),
      }));
      const tails = logs.map((log) => `${log}:\n${existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-40).join('\n') : '(none)'}`);
      throw new Error(
        `${error.message}: ${trailObjects} objects; progress ${JSON.stringify({ ...p, days: undefined })}; pending ${JSON.stringify(pending)}\n${tails.join('\n')}`,
      );
    });
    await handle.signal('stop');
    const state = await handle.result();
    expect(state.totals.objects).toBe(trailObjects); // each object scanned once, across both workers
    const watched = await findingsStoreOf({ directory: join(dir, 'findings') }).read(DAY);
    expect(projectFindings(watched)).toEqual({ rule1: expectedRule1(DAY), rule2: expectedRule2(DAY) });
    const notifications = () =>
      jsonLines<{ incident: { incidentId: string } }>(
        existsSync(join(dir, 'notifications.jsonl')) ? readFileSync(join(dir, 'notifications.jsonl'), 'utf8') : '',
      );
    const incidents = notifications().map((n) => n.incident.incidentId);
    expect(incidents).toHaveLength(6);
    expect(new Set(incidents).size).toBe(6);

    // and the daily scan confirms it: nothing new stored, nothing routed again
    const summary = (await client.workflow.execute('DailyScanWorkflow', {
      taskQueue,
      workflowId: `scan-${DAY}`,
      args: [{ date: DAY, config }],
    })) as ScanSummary;
    expect([...(summary.findingIds ?? [])].sort()).toEqual(watched.map((f) => f.id).sort());
    expect(summary.store).toMatchObject({ added: 0, updated: 0 });
    expect(summary.incidents).toEqual({ incidents: 0, newFindings: 0, alreadyRouted: watched.length });
    await new Promise((r) => setTimeout(r, 2000));
    expect(notifications()).toHaveLength(6);
  } finally {
    worker.kill('SIGKILL');
    await connection.close().catch(() => undefined);
    await server.stop();
  }
}, 400_000);
