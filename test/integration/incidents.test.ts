import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { Client, Connection } from '@temporalio/client';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import { signBody } from '../../src/notify/webhook';
import { createWorker } from '../../src/workers/worker';
import type { IncidentState } from '../../src/workflows/incident-types';
import { BIN, jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { TEST_NAMESPACES, s3Endpoint, temporalAddress } from '../helpers/services';
import { listWorkflows } from '../helpers/temporal-cli';
import { waitFor } from '../helpers/wait';
import { startWebhookReceiver } from '../helpers/webhook-receiver';

// Each test owns its days: "scan-<date>" and incident ids are shared by the whole dev server.
const SECRET = 'test-webhook-secret-7f3a';
const RULE1 = 'PH_Rule_ES_IMPORT_AWS_15';
const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';

function incidentsOf(stdout: string): IncidentState[] {
  return jsonLines<IncidentState>(stdout);
}

describe('incidents and notifications on a real dev server', () => {
  const taskQueue = `incidents-${Date.now()}`;
  let connection: Connection;

  beforeAll(async () => {
    process.env.TW_TEST_WEBHOOK_SECRET = SECRET;
    connection = await Connection.connect({ address: temporalAddress() });
  });

  afterAll(async () => {
    await connection?.close();
  });

  /** Each test has a namespace of its own: incidents are keyed by account and user, which the tests share. */
  async function inNamespace<T>(
    namespace: (typeof TEST_NAMESPACES)[number],
    work: (ctx: { env: NodeJS.ProcessEnv; client: Client; list: (q: string) => ReturnType<typeof listWorkflows> }) => Promise<T>,
    inProcessWorker = true,
  ): Promise<T> {
    const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: namespace, TRAILWARDEN_TASK_QUEUE: taskQueue, TW_TEST_WEBHOOK_SECRET: SECRET };
    const client = new Client({ connection, namespace });
    const ctx = { env, client, list: (q: string) => listWorkflows(q, namespace) };
    if (!inProcessWorker) return work(ctx);
    const { worker, connection: workerConnection } = await createWorker({ address: temporalAddress(), namespace, taskQueue });
    try {
      return await worker.runUntil(work(ctx));
    } finally {
      await workerConnection.close();
    }
  }

  function setup(name: string, date: string, extra: object) {
    const dir = tempDir(name);
    writeFiles(join(dir, 'logs'), buildSampleTrail(date));
    return writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' }, ...extra });
  }

  test('a webhook that answers 503 three times gets exactly one accepted delivery per incident, same key, valid signature', () =>
    inNamespace('tw-inc-webhook', async ({ env, list }) => {
      const receiver = await startWebhookReceiver((attempt) => (attempt <= 3 ? 503 : 200));
      try {
        const config = setup('webhook', '2026-06-10', { notifications: [{ type: 'webhook', url: receiver.url, secretEnv: 'TW_TEST_WEBHOOK_SECRET' }] });
        const scan = await runCli(['scan', '--config', config, '--date', '2026-06-10'], { env });
        expect(scan.stdout).toContain('6 new finding(s) sent to 6 incident(s)');
        expect(scan.code).toBe(0);
        await waitFor('6 accepted deliveries', () => (receiver.accepted.size >= 6 ? true : undefined));
        await new Promise((r) => setTimeout(r, 1500));
        expect(receiver.accepted.size).toBe(6);
        const byKey = new Map<string, number>();
        for (const attempt of receiver.attempts) byKey.set(attempt.key, (byKey.get(attempt.key) ?? 0) + 1);
        expect([...byKey.values()]).toEqual([4, 4, 4, 4, 4, 4]);
        for (const attempt of receiver.attempts) {
          expect(attempt.key).toMatch(/^notify-incident-/);
          expect(attempt.signature).toBe(signBody(attempt.body, SECRET));
          expect(JSON.parse(attempt.body).idempotencyKey).toBe(attempt.key);
        }
        const incidents = incidentsOf((await runCli(['incidents', '--json'], { env })).stdout);
        expect(incidents).toHaveLength(6);
        expect(incidents.flatMap((i) => i.notifications.map((n) => n.notificationId)).sort()).toEqual([...receiver.accepted.keys()].sort());
        const delivered = await waitFor(
          '6 delivered notifications listed',
          () => {
            const rows = list(`WorkflowType = 'NotificationWorkflow' AND NotificationStatus = 'Delivered'`);
            return rows.length >= 6 ? rows : undefined;
          },
          30_000,
        );
        expect(delivered).toHaveLength(6);
      } finally {
        await receiver.close();
      }
    }));

  test('a permanent 400 stops retrying at once; the notification fails visibly and the incident records it', () =>
    inNamespace('tw-inc-reject', async ({ env, list }) => {
      const receiver = await startWebhookReceiver(() => 400);
      try {
        const config = setup('reject', '2026-06-11', {
          notifications: [{ type: 'webhook', name: 'rejecting', url: receiver.url }],
          rules: { [RULE1]: { suppression: { duration: 'PT3S' } }, [RULE2]: { enabled: false } },
        });
        const scan = await runCli(['scan', '--config', config, '--date', '2026-06-11'], { env });
        expect(scan.code).toBe(0);
        const failed = await waitFor('5 failed notifications', () => {
          const rows = list(`WorkflowType = 'NotificationWorkflow' AND NotificationStatus = 'Failed' AND ExecutionStatus = 'Failed'`);
          return rows.length >= 5 ? rows : undefined;
        });
        expect(failed).toHaveLength(5);
        expect(receiver.attempts).toHaveLength(5);
        expect(new Set(receiver.attempts.map((a) => a.key))).toEqual(new Set(failed.map((r) => r.workflowId)));
        const closed = await waitFor('closed incidents recording the failure', async () => {
          const all = incidentsOf((await runCli(['incidents', '--json'], { env })).stdout);
          return all.length === 5 && all.every((i) => i.status === 'closed') ? all : undefined;
        });
        for (const incident of closed) {
          expect(incident.notifications).toEqual([
            expect.objectContaining({ channel: 'rejecting', status: 'Failed', error: expect.stringMatching(/HTTP 400/) }),
          ]);
          expect(incident.closeReason).toMatch(/notification failed on rejecting/);
        }
      } finally {
        await receiver.close();
      }
    }));

  test('a receiver that never recovers: retries stop after maxNotificationAge and the notification fails visibly', () =>
    inNamespace('tw-inc-reject', async ({ env, list }) => {
      const receiver = await startWebhookReceiver(() => 503);
      try {
        const config = setup('expire', '2026-06-17', {
          notifications: [{ type: 'webhook', name: 'never-up', url: receiver.url, maxNotificationAge: 'PT6S' }],
          rules: { [RULE1]: { enabled: false } },
        });
        expect((await runCli(['scan', '--config', config, '--date', '2026-06-17'], { env })).code).toBe(0);
        const failed = await waitFor(
          'the expired notification',
          () => {
            const rows = list(`WorkflowType = 'NotificationWorkflow' AND NotificationStatus = 'Failed' AND ExecutionStatus = 'Failed'`).filter((r) =>
              r.workflowId.endsWith('-never-up'),
            );
            return rows.length ? rows : undefined;
          },
          60_000,
        );
        expect(failed).toHaveLength(1);
        // several attempts with backoff, then none after the 6 s horizon
        expect(receiver.attempts.length).toBeGreaterThanOrEqual(3);
        const last = receiver.attempts[receiver.attempts.length - 1].at;
        expect(last - receiver.attempts[0].at).toBeLessThan(7000);
        await new Promise((r) => setTimeout(r, 3000));
        expect(receiver.attempts[receiver.attempts.length - 1].at).toBe(last);
      } finally {
        await receiver.close();
      }
    }));

  test('the worker killed (SIGKILL) between attempts and restarted still delivers exactly once', () =>
    inNamespace(
      'tw-inc-kill',
      async ({ env }) => {
        const receiver = await startWebhookReceiver((attempt) => (attempt <= 2 ? 503 : 200));
        const killEnv = { ...process.env, ...env };
        const start = (): ChildProcess => spawn(process.execPath, [BIN, 'worker'], { env: killEnv, stdio: 'ignore' });
        let worker = start();
        try {
          const config = setup('kill', '2026-06-12', {
            notifications: [{ type: 'webhook', url: receiver.url, secretEnv: 'TW_TEST_WEBHOOK_SECRET' }],
            rules: { [RULE2]: { enabled: false } },
          });
          const scan = await runCli(['scan', '--config', config, '--date', '2026-06-12'], { env: killEnv });
          expect(scan.code).toBe(0);
          await waitFor('a first failed attempt', () => (receiver.attempts.length > 0 ? true : undefined));
          worker.kill('SIGKILL');
          const attemptsAtKill = receiver.attempts.length;
          expect(receiver.accepted.size).toBe(0);
          await new Promise((r) => setTimeout(r, 2000));
          worker = start();
          await waitFor('5 accepted deliveries', () => (receiver.accepted.size >= 5 ? true : undefined), 120_000);
          await new Promise((r) => setTimeout(r, 2000));
          expect(receiver.accepted.size).toBe(5);
          expect(receiver.attempts.length).toBeGreaterThan(attemptsAtKill);
          expect(new Set(receiver.attempts.map((a) => a.key)).size).toBe(5);
          for (const attempt of receiver.attempts) expect(attempt.signature).toBe(signBody(attempt.body, SECRET));
        } finally {
          worker.kill('SIGKILL');
          await receiver.close();
        }
      },
      false,
    ));

  test('a day scanned three times (scan, range re-run, schedule backfill) notifies each incident once', () =>
    inNamespace('tw-inc-thrice', async ({ env, list }) => {
      const date = '2026-06-13';
      const dir = tempDir('thrice');
      writeFiles(join(dir, 'logs'), buildSampleTrail(date));
      const file = join(dir, 'notifications.jsonl');
      const config = writeConfig(dir, {
        sources: [{ type: 'directory', path: './logs' }],
        findings: { directory: './findings' },
        notifications: [{ type: 'file', path: './notifications.jsonl' }],
      });
      expect((await runCli(['scan', '--config', config, '--date', date], { env })).code).toBe(0);
      await waitFor('6 notifications', () => (existsSync(file) && jsonLines(readFileSync(file, 'utf8')).length >= 6 ? true : undefined));
      const rerun = await runCli(['scan', '--config', config, '--from', date, '--to', date], { env });
      expect(rerun.code).toBe(0);
      const id = `thrice-${Date.now()}`;
      expect((await runCli(['schedule', 'create', '--id', id, '--config', config, '--rescan-days', '0'], { env })).code).toBe(0);
      expect((await runCli(['schedule', 'backfill', '--id', id, '--config', config, '--from', date, '--to', date], { env })).code).toBe(0);
      await waitFor('the backfilled run', () =>
        list(`WorkflowType = 'ScheduledScanWorkflow' AND TemporalScheduledById = '${id}' AND ExecutionStatus = 'Completed'`).length ? true : undefined,
      );
      const scans = await waitFor(
        'three scans of the day',
        () => {
          const rows = list(`WorkflowId = 'scan-${date}' AND ExecutionStatus = 'Completed'`);
          return rows.length >= 3 ? rows : undefined;
        },
        30_000,
      );
      expect(scans).toHaveLength(3);
      await new Promise((r) => setTimeout(r, 2000));
      const lines = jsonLines<{ idempotencyKey: string }>(readFileSync(file, 'utf8'));
      expect(lines).toHaveLength(6);
      expect(new Set(lines.map((l) => l.idempotencyKey)).size).toBe(6);
      await runCli(['schedule', 'delete', '--id', id, '--config', config], { env });
    }));

  test('the suppression window: findings inside join the open incident, the window end closes it, a later finding opens a new one; ack and close', () =>
    inNamespace('tw-inc-window', async ({ env, client }) => {
      const date = '2026-06-14';
      const dir = tempDir('window');
      writeFiles(join(dir, 'logs'), buildSampleTrail(date));
      writeFiles(join(dir, 'logs-next'), buildSampleTrail('2026-06-20'));
      const file = join(dir, 'notifications.jsonl');
      const rules = { [RULE1]: { suppression: { duration: 'PT8S', keyFields: ['accountId'] } }, [RULE2]: { enabled: false } };
      // three findings stores: each scan's findings are new to its own ledger
      const configFor = (store: string, logs = 'logs') =>
        writeConfig(tempDir(`window-${store}`), {
          sources: [{ type: 'directory', path: join(dir, logs) }],
          notifications: [{ type: 'file', path: file }],
          findings: { directory: join(dir, store) },
          rules,
        });
      expect((await runCli(['scan', '--config', configFor('a'), '--date', date], { env })).code).toBe(0);
      expect((await runCli(['scan', '--config', configFor('b'), '--date', date], { env })).code).toBe(0);
      const open = incidentsOf((await runCli(['incidents', '--open', '--json'], { env })).stdout);
      // keyed by account: 111122223333 (4 users, one finding each) and 210987654321 (carol); the second scan joined them
      expect(open.map((i) => [i.key.accountId, i.findings]).sort()).toEqual([
        ['111122223333', 4],
        ['210987654321', 1],
      ]);
      await waitFor('2 notifications', () => (existsSync(file) && jsonLines(readFileSync(file, 'utf8')).length >= 2 ? true : undefined));
      expect(jsonLines(readFileSync(file, 'utf8'))).toHaveLength(2);

      const big = open.find((i) => i.key.accountId === '111122223333')!;
      const small = open.find((i) => i.key.accountId === '210987654321')!;
      expect((await runCli(['incident', 'ack', big.incidentId], { env })).code).toBe(0);
      expect((await client.workflow.getHandle(big.incidentId).query<IncidentState>('incident')).status).toBe('acknowledged');
      expect((await runCli(['incident', 'close', small.incidentId, '--reason', 'known maintenance'], { env })).code).toBe(0);
      expect(await client.workflow.getHandle(small.incidentId).result()).toMatchObject({ status: 'closed', closeReason: 'known maintenance', findings: 1 });
      const ended = (await client.workflow.getHandle(big.incidentId).result()) as IncidentState;
      expect(ended).toMatchObject({ status: 'closed', closeReason: 'suppression window ended', findings: 4, acknowledgedBy: expect.any(String) });
      expect(Date.parse(ended.closedAt!) - Date.parse(ended.openedAt)).toBeGreaterThanOrEqual(8000);
      const again = await runCli(['incident', 'close', small.incidentId], { env });
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('already closed');

      // after the window, the findings of another day open new incidents for the same keys, and notify again
      expect((await runCli(['scan', '--config', configFor('c', 'logs-next'), '--date', '2026-06-20'], { env })).code).toBe(0);
      await waitFor('2 more notifications', () => (jsonLines(readFileSync(file, 'utf8')).length >= 4 ? true : undefined));
      expect((await client.workflow.getHandle(big.incidentId).describe()).runId).not.toBe(big.runId);
      // already-notified findings reaching a new incident (a fourth store, after that window) never notify again
      await client.workflow.getHandle(big.incidentId).signal('close', { reason: 'test' });
      await client.workflow.getHandle(big.incidentId).result();
      expect((await runCli(['scan', '--config', configFor('d'), '--date', date], { env })).code).toBe(0);
      const reopened = await waitFor('the re-opened incident to settle its notifications', async () => {
        const state = await client.workflow.getHandle(big.incidentId).query<IncidentState>('incident');
        return state.notifications.length ? state : undefined;
      });
      expect(reopened.notifications).toEqual([expect.objectContaining({ status: 'AlreadyNotified' })]);
      expect(jsonLines(readFileSync(file, 'utf8'))).toHaveLength(4);
    }));

  test('Slack messages and SNS publishing against local endpoints', () =>
    inNamespace('tw-inc-slack', async ({ env }) => {
      const slack = await startWebhookReceiver(() => 200);
      const snsSubscriber = await startWebhookReceiver(() => 200);
      try {
        const sns = new SNSClient({ region: 'us-east-1', endpoint: s3Endpoint() });
        const topic = await sns.send(new CreateTopicCommand({ Name: 'trailwarden-test' }));
        await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'http', Endpoint: snsSubscriber.url }));
        sns.destroy();
        const config = setup('slack', '2026-06-15', {
          notifications: [
            { type: 'slack', url: slack.url },
            { type: 'sns', topicArn: topic.TopicArn, endpoint: s3Endpoint() },
          ],
          webUiUrl: 'http://temporal-ui.example:8233',
          rules: { [RULE1]: { enabled: false } },
        });
        expect((await runCli(['scan', '--config', config, '--date', '2026-06-15'], { env })).code).toBe(0);
        await waitFor('one Slack message and one SNS notification', () => (slack.accepted.size >= 1 && snsSubscriber.accepted.size >= 1 ? true : undefined));
        const message = JSON.parse([...slack.accepted.values()][0]) as { text: string; blocks: unknown[] };
        expect(message.text).toContain('High: Suspicious command sent to EC2');
        for (const fact of [
          'Account: 111122223333',
          'User: mallory',
          'Bucket: exfil-drop-7781 (owner 444455556666)',
          'First seen: 2026-06-15T21:15:03Z',
          'Last seen: 2026-06-15T21:15:10Z',
          'Findings: 1 finding(s), 3 event(s)',
        ]) {
          expect(message.text).toContain(fact);
        }
        expect(message.text).toMatch(/Scan run: http:\/\/temporal-ui\.example:8233\/namespaces\/tw-inc-slack\/workflows\/scan-2026-06-15\/[0-9a-f-]+\/history/);
        expect(message.blocks.length).toBeGreaterThanOrEqual(3);
        const delivered = JSON.parse([...snsSubscriber.accepted.values()][0]) as { Type: string; Message: string; Subject: string };
        expect(delivered.Type).toBe('Notification');
        expect(delivered.Subject).toBe('High: Suspicious command sent to EC2');
        expect(JSON.parse(delivered.Message).incident).toMatchObject({
          ruleId: RULE2,
          findings: 1,
          evidence: [expect.objectContaining({ buckets: ['exfil-drop-7781'] })],
        });
      } finally {
        await slack.close();
        await snsSubscriber.close();
      }
    }));

  test('a channel naming a missing environment variable is refused with exit 2', async () => {
    const config = setup('noenv', '2026-06-16', { notifications: [{ type: 'webhook', url: 'http://127.0.0.1:9/x', secretEnv: 'TW_TEST_NOT_SET' }] });
    const result = await runCli(['scan', '--config', config, '--date', '2026-06-16'], { env: { TEMPORAL_ADDRESS: temporalAddress() } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('environment variable TW_TEST_NOT_SET is not set');
  });
});
