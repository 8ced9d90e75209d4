/**
 * The securityhub channel against moto's Security Hub: every finding of an incident imported as ASFF,
 * at most 100 a call, the same Id updating instead of duplicating, a failed finding failing the
 * attempt (retryably, so Temporal retries it), and the importing account found through STS.
 */
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { parseConfig } from '../../src/config/load';
import { buildSampleTrail, DEMO_DATE } from '../../src/demo/sample-trail';
import { PermanentDeliveryError } from '../../src/notify/errors';
import { briefOf, type IncidentNotice } from '../../src/notify/notice';
import { batches, sendSecurityHub } from '../../src/notify/securityhub';
import { viewOf } from '../../src/rules';
import type { Finding } from '../../src/rules/types';
import { referenceEvaluation } from '../helpers/reference-evaluator';
import { type SecurityHubProxy, startSecurityHubProxy } from '../helpers/securityhub-proxy';
import { s3Endpoint } from '../helpers/services';
import { day } from '../rules/fixtures';

const demo: Finding[] = referenceEvaluation(
  [...buildSampleTrail()].map(([key, bytes]) => ({ key, bytes })),
  parseConfig({ sources: [] }).rules,
  day(DEMO_DATE),
).findings;

/** n findings of the demo's shape, with ids of their own. */
function noticeOf(n: number): IncidentNotice {
  const evidence = Array.from({ length: n }, (_, i) => ({ ...briefOf(demo[i % demo.length]), id: `f-test-${String(i).padStart(4, '0')}` }));
  return {
    incidentId: 'incident-test',
    ruleId: evidence[0].ruleId,
    ruleName: 'test',
    severity: 'Low',
    key: {},
    openedAt: '2026-11-03T00:00:00.000Z',
    findings: n,
    events: n,
    firstSeen: evidence[0].firstSeen,
    lastSeen: evidence[0].lastSeen,
    evidence,
    evidenceTotal: n,
    runLink: 'http://localhost:8233/x',
  };
}

async function findingsIn(region: string) {
  const client = new SecurityHubClient({ region, endpoint: s3Endpoint() });
  try {
    const found = [];
    let token: string | undefined;
    do {
      const page = await client.send(new GetFindingsCommand({ MaxResults: 100, NextToken: token }));
      found.push(...(page.Findings ?? []));
      token = page.NextToken || undefined;
    } while (token);
    return found;
  } finally {
    client.destroy();
  }
}

let proxy: SecurityHubProxy;
beforeAll(async () => {
  proxy = await startSecurityHubProxy(s3Endpoint());
});
afterAll(() => proxy.close());
beforeEach(() => {
  proxy.imports.length = 0;
  proxy.failNext = 0;
});

test('batches of at most 100, in order', () => {
  expect(batches([...Array(250).keys()], 100).map((b) => b.length)).toEqual([100, 100, 50]);
  expect(batches([], 100)).toEqual([]);
});

test('250 findings are imported 100 a call; GetFindings shows exactly them; importing them again updates, never duplicates', async () => {
  const region = 'ap-southeast-2';
  const notice = noticeOf(250);
  await sendSecurityHub({ region, accountId: '111122223333', endpoint: proxy.endpoint }, notice);
  expect(proxy.imports).toEqual([100, 100, 50]);
  const first = await findingsIn(region);
  expect(first.map((f) => f.Id).sort()).toEqual(notice.evidence.map((b) => b.id).sort());
  const one = first.find((f) => f.Id === notice.evidence[1].id)!;
  expect(one).toMatchObject({
    SchemaVersion: '2018-10-08',
    ProductArn: 'arn:aws:securityhub:ap-southeast-2:111122223333:product/111122223333/default',
    GeneratorId: notice.evidence[1].ruleId,
    AwsAccountId: notice.evidence[1].accountId,
    Title: notice.evidence[1].title,
  });

  await sendSecurityHub({ region, accountId: '111122223333', endpoint: proxy.endpoint }, notice);
  const again = await findingsIn(region);
  expect(again).toHaveLength(250);
  expect(Date.parse(again.find((f) => f.Id === one.Id)!.UpdatedAt!)).toBeGreaterThanOrEqual(Date.parse(one.UpdatedAt!));
});

test('a finding Security Hub refuses fails the attempt with a retryable error naming it; the retry imports it, with no copy', async () => {
  const region = 'ap-northeast-3';
  const notice = noticeOf(3);
  const target = { region, accountId: '111122223333', endpoint: proxy.endpoint };
  proxy.failNext = 1;
  const error = await sendSecurityHub(target, notice).catch((e: Error) => e);
  expect(error).toBeInstanceOf(Error);
  expect(error).not.toBeInstanceOf(PermanentDeliveryError);
  expect((error as Error).message).toContain(`1 of 3 finding(s) not imported: ${notice.evidence[0].id}: InternalException`);
  await sendSecurityHub(target, notice);
  expect((await findingsIn(region)).map((f) => f.Id).sort()).toEqual(notice.evidence.map((b) => b.id));
});

test("without accountId the importing account comes from STS; findings naming no account are that account's", async () => {
  const region = 'sa-east-1';
  const notice = noticeOf(2);
  notice.evidence[1] = { ...notice.evidence[1], accountId: '' };
  await sendSecurityHub({ region, endpoint: proxy.endpoint }, notice);
  const found = await findingsIn(region);
  expect(found.map((f) => f.ProductArn)).toEqual([
    'arn:aws:securityhub:sa-east-1:123456789012:product/123456789012/default',
    'arn:aws:securityhub:sa-east-1:123456789012:product/123456789012/default',
  ]);
  expect(found.find((f) => f.Id === notice.evidence[0].id)?.AwsAccountId).toBe(viewOf(demo[0]).accountId);
  expect(found.find((f) => f.Id === notice.evidence[1].id)?.AwsAccountId).toBe('123456789012');
});

test('a finding of a rule the worker does not know is a permanent failure: retrying cannot help', async () => {
  const notice = noticeOf(2);
  notice.evidence[1] = { ...notice.evidence[1], ruleId: 'no-such-rule' };
  const error = await sendSecurityHub({ region: 'ca-central-1', accountId: '111122223333', endpoint: proxy.endpoint }, notice).catch((e: Error) => e);
  expect(error).toBeInstanceOf(PermanentDeliveryError);
  expect((error as Error).message).toContain('is of rule no-such-rule');
  expect(proxy.imports).toEqual([]);
});
