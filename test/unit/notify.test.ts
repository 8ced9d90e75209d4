import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentDeliveryError, isRetryableStatus } from '../../src/notify/errors';
import { writeToFile } from '../../src/notify/file';
import { postBody } from '../../src/notify/http';
import type { IncidentNotice } from '../../src/notify/notice';
import { slackMessage } from '../../src/notify/slack';
import { signBody } from '../../src/notify/webhook';
import { startWebhookReceiver } from '../helpers/webhook-receiver';

const notice: IncidentNotice = {
  incidentId: 'incident-x',
  ruleId: 'PH_Rule_ES_IMPORT_AWS_15',
  ruleName: 'AWS Execution via System Manager',
  severity: 'Low',
  key: { accountId: '111122223333', user: 'alice' },
  openedAt: '2026-11-26T10:00:00.000Z',
  findings: 2,
  events: 5,
  firstSeen: '2026-11-25T10:01:12Z',
  lastSeen: '2026-11-25T10:09:59Z',
  evidence: [
    {
      id: 'f-1',
      ruleId: 'PH_Rule_ES_IMPORT_AWS_15',
      firstSeen: '2026-11-25T10:01:12Z',
      lastSeen: '2026-11-25T10:04:59Z',
      count: 3,
      accountId: '111122223333',
      user: 'alice',
    },
  ],
  evidenceTotal: 2,
  runLink: 'http://localhost:8233/namespaces/default/workflows/scan-2026-11-25/r/history',
};

describe('notification channels', () => {
  test.each([
    [500, true],
    [503, true],
    [408, true],
    [429, true],
    [400, false],
    [401, false],
    [404, false],
    [410, false],
  ])('HTTP %i retryable: %s', (status, retryable) => {
    expect(isRetryableStatus(status)).toBe(retryable);
  });

  test('postBody: 2xx passes, 503 throws a retryable error, 400 a permanent one, a refused connection a retryable one', async () => {
    const statuses = [201, 503, 400];
    const receiver = await startWebhookReceiver(() => statuses.shift() ?? 200);
    try {
      await expect(postBody(receiver.url, '{}', { 'Idempotency-Key': 'a' }, 'test')).resolves.toBe(201);
      const retryable = await postBody(receiver.url, '{}', { 'Idempotency-Key': 'b' }, 'test').catch((e: Error) => e);
      expect(retryable).toBeInstanceOf(Error);
      expect(retryable).not.toBeInstanceOf(PermanentDeliveryError);
      expect((retryable as Error).message).toContain('HTTP 503');
      await expect(postBody(receiver.url, '{}', { 'Idempotency-Key': 'c' }, 'test')).rejects.toBeInstanceOf(PermanentDeliveryError);
    } finally {
      await receiver.close();
    }
    const refused = await postBody('http://127.0.0.1:9/nothing', '{}', {}, 'test').catch((e: Error) => e);
    expect(refused).not.toBeInstanceOf(PermanentDeliveryError);
  });

  test('the webhook signature is HMAC-SHA256 of the exact body', () => {
    const body = JSON.stringify({ a: 1 });
    expect(signBody(body, 's3cret')).toBe(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
    expect(signBody(`${body} `, 's3cret')).not.toBe(signBody(body, 's3cret'));
  });

  test('a Slack message names rule, severity, account, user, counts, times and the run link', () => {
    const message = slackMessage(notice);
    for (const part of [
      'Low: AWS Execution via System Manager',
      'Account: 111122223333',
      'User: alice',
      'Findings: 2 finding(s), 5 event(s)',
      'First seen: 2026-11-25T10:01:12Z',
      'Last seen: 2026-11-25T10:09:59Z',
      notice.runLink,
    ]) {
      expect(message.text).toContain(part);
    }
    expect(message.text).not.toContain('Bucket:');
    expect(JSON.stringify(message.blocks)).toContain(`<${notice.runLink}|Open the scan run in the Temporal Web UI>`);
  });

  test('the file channel writes a notice once per idempotency key', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tw-notify-')), 'out', 'n.jsonl');
    writeToFile(file, notice, 'key-1');
    writeToFile(file, notice, 'key-1');
    writeToFile(file, notice, 'key-2');
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.idempotencyKey)).toEqual(['key-1', 'key-2']);
    expect(lines[0].incident).toEqual(notice);
  });
});
