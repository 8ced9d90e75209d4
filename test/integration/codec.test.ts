import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startCodecServer } from '../../src/codec/codec-server';
import { EncryptionCodec, codecKeysFromEnvironment } from '../../src/codec/encryption-codec';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import { freePort } from '../../src/local/dev-server';
import { createWorker } from '../../src/workers/worker';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { temporalAddress } from '../helpers/services';
import { startWebhookReceiver } from '../helpers/webhook-receiver';

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const payload = (text: string): Payload => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(text) });

describe('payload encryption (AES-256-GCM codec)', () => {
  test('round trip, key rotation by adding a key, unknown keys and tampering refused', async () => {
    const old = new EncryptionCodec(codecKeysFromEnvironment({ TRAILWARDEN_CODEC_KEYS: `a:${keyA}` })!);
    const rotated = new EncryptionCodec(codecKeysFromEnvironment({ TRAILWARDEN_CODEC_KEYS: `b:${keyB},a:${keyA}` })!);
    const [sealed] = await old.encode([payload('"mallory"')]);
    expect(Buffer.from(sealed.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(sealed.metadata!['encryption-key-id']!).toString()).toBe('a');
    expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('mallory');
    const [opened] = await rotated.decode([sealed]);
    expect(Buffer.from(opened.data!).toString()).toBe('"mallory"');
    const [resealed] = await rotated.encode([payload('"x"')]);
    expect(Buffer.from(resealed.metadata!['encryption-key-id']!).toString()).toBe('b');
    await expect(old.decode([resealed])).rejects.toThrow(/no codec key "b"/);
    const tampered = { ...sealed, data: Buffer.from(sealed.data!).map((b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(rotated.decode([tampered])).rejects.toThrow();
    expect(() => codecKeysFromEnvironment({ TRAILWARDEN_CODEC_KEYS: 'a:c2hvcnQ=' })).toThrow(/32 bytes/);
  });

  test('a scan with keys set: history holds no plaintext and no secret; the codec server decrypts for key holders', async () => {
    const secret = `webhook-secret-${randomBytes(6).toString('hex')}`;
    const env = { TRAILWARDEN_CODEC_KEYS: `k1:${keyA}`, TW_CODEC_TEST_SECRET: secret };
    Object.assign(process.env, env);
    const taskQueue = `codec-${Date.now()}`;
    const receiver = await startWebhookReceiver(() => 200);
    const dir = tempDir('codec');
    writeFiles(join(dir, 'logs'), buildSampleTrail('2026-05-05'));
    const config = writeConfig(dir, {
      sources: [{ type: 'directory', path: './logs' }],
      findings: { directory: './findings' },
      notifications: [{ type: 'webhook', url: receiver.url, secretEnv: 'TW_CODEC_TEST_SECRET' }],
      rules: { PH_Rule_ES_IMPORT_AWS_15: { enabled: false } },
    });
    const { worker, connection: workerConnection } = await createWorker({ address: temporalAddress(), namespace: 'default', taskQueue });
    const plain = await Connection.connect({ address: temporalAddress() });
    try {
      const scan = await worker.runUntil(async () => {
        const result = await runCli(['scan', '--json', '--config', config, '--date', '2026-05-05'], {
          env: { ...env, TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: taskQueue },
        });
        for (let i = 0; i < 100 && receiver.accepted.size < 1; i++) await new Promise((r) => setTimeout(r, 200));
        return result;
      });
      expect(scan.stderr).toContain('scan 2026-05-05: 1 finding(s)');
      expect(scan.code).toBe(0);
      expect(jsonLines(scan.stdout)[0]).toMatchObject({ s3Bucket: 'exfil-drop-7781', commandUser: 'mallory' });
      expect(receiver.accepted.size).toBe(1);
      expect(scan.stderr).not.toContain(secret);

      // a client without the key sees only ciphertext, in the scan's and the notification's histories
      const client = new Client({ connection: plain });
      const histories: string[] = [];
      const { executions } = await client.workflowService.listWorkflowExecutions({ namespace: 'default', query: `TaskQueue = '${taskQueue}'` });
      for (const run of executions) {
        histories.push(historyToJSON(await client.workflow.getHandle(run.execution!.workflowId!, run.execution!.runId!).fetchHistory()));
      }
      expect(histories.length).toBeGreaterThanOrEqual(3);
      for (const text of histories) {
        for (const plainText of ['mallory', 'exfil-drop-7781', 'AWS-RunShellScript', secret, Buffer.from(secret).toString('base64')]) {
          expect(text).not.toContain(plainText);
        }
        expect(text).toContain(Buffer.from('binary/encrypted').toString('base64'));
      }

      // the codec server turns the scan's result back into plaintext
      const port = await freePort();
      const server = await startCodecServer(new EncryptionCodec(codecKeysFromEnvironment()!), { port });
      try {
        const scanHistory = JSON.parse(histories.find((h) => h.includes('workflowExecutionCompletedEventAttributes') && h.includes('"DailyScanWorkflow"'))!);
        const completed = scanHistory.events.find((e: Record<string, unknown>) => e.workflowExecutionCompletedEventAttributes);
        const response = await fetch(`http://127.0.0.1:${port}/decode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-namespace': 'default' },
          body: JSON.stringify({ payloads: completed.workflowExecutionCompletedEventAttributes.result.payloads }),
        });
        const decoded = (await response.json()) as { payloads: { data: string }[] };
        const summary = JSON.parse(Buffer.from(decoded.payloads[0].data, 'base64').toString());
        expect(summary).toMatchObject({ date: '2026-05-05', findings: 1 });
      } finally {
        server.close();
      }
    } finally {
      delete process.env.TRAILWARDEN_CODEC_KEYS;
      await plain.close();
      await workerConnection.close();
      await receiver.close();
    }
  });
});
