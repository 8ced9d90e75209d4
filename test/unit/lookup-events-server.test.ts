import {
  CloudTrailClient,
  DescribeTrailsCommand,
  LookupEventsCommand,
  ThrottlingException,
  paginateLookupEvents,
  type LookupEventsCommandInput,
  type Event as LookupEvent,
} from '@aws-sdk/client-cloudtrail';
import { startLookupEventsServer, type LookupServer, type LookupServerOptions } from '../helpers/lookup-events-server';

const ACCOUNT_A = '111111111111';
const ACCOUNT_B = '222222222222';
const T0 = Date.parse('2024-03-01T00:00:00Z');

type CtRecord = Record<string, unknown>;

function record(n: number, overrides: Partial<{ eventName: string; account: string; region: string; seconds: number; eventID: string }> = {}): CtRecord {
  const account = overrides.account ?? ACCOUNT_A;
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLE:alice',
      arn: `arn:aws:sts::${account}:assumed-role/Admin/alice`,
      accountId: account,
      accessKeyId: 'ASIAEXAMPLE',
      sessionContext: { sessionIssuer: { type: 'Role', userName: 'Admin' } },
    },
    eventTime: new Date(T0 + (overrides.seconds ?? n) * 1000).toISOString().replace('.000Z', 'Z'),
    eventSource: 'ssm.amazonaws.com',
    eventName: overrides.eventName ?? 'SendCommand',
    awsRegion: overrides.region ?? 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: { instanceIds: [`i-${String(n).padStart(17, '0')}`], documentName: 'AWS-RunShellScript', parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
    responseElements: { command: { commandId: `cmd-${n}`, outputS3BucketName: '' } },
    requestID: `req-${n}`,
    eventID: overrides.eventID ?? `ev-${String(n).padStart(5, '0')}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
}

const servers: LookupServer[] = [];
async function start(options: LookupServerOptions): Promise<LookupServer> {
  const server = await startLookupEventsServer(options);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function client(server: LookupServer, overrides: { accessKeyId?: string; region?: string; maxAttempts?: number } = {}): CloudTrailClient {
  return new CloudTrailClient({
    endpoint: server.endpoint,
    region: overrides.region ?? 'us-east-1',
    credentials: { accessKeyId: overrides.accessKeyId ?? 'AKIDTEST', secretAccessKey: 'x' },
    maxAttempts: overrides.maxAttempts ?? 1,
  });
}

async function lookupAll(ct: CloudTrailClient, input: LookupEventsCommandInput, pageSize?: number): Promise<{ events: LookupEvent[]; pages: number }> {
  const events: LookupEvent[] = [];
  let pages = 0;
  for await (const page of paginateLookupEvents({ client: ct, ...(pageSize ? { pageSize } : {}) }, input)) {
    pages++;
    events.push(...(page.Events ?? []));
  }
  return { events, pages };
}

const sendCommand = [{ AttributeKey: 'EventName' as const, AttributeValue: 'SendCommand' }];

async function errorOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

describe('LookupEvents test server', () => {
  test('paginates over 3+ pages, newest first, deduplicated, with CloudTrailEvent holding the record', async () => {
    const matching = Array.from({ length: 120 }, (_, i) => record(i));
    // Ties on eventTime are ordered by eventID descending.
    const ties = [record(1000, { seconds: 60, eventID: 'ev-tie-a' }), record(1001, { seconds: 60, eventID: 'ev-tie-b' })];
    const other = Array.from({ length: 30 }, (_, i) => record(500 + i, { eventName: 'CreateAssociation' }));
    const duplicates = [matching[5]!, matching[77]!, ties[0]!];
    const server = await start({ records: [...matching, ...other, ...ties, ...duplicates], requestsPerSecond: 1000 });

    const { events, pages } = await lookupAll(client(server), { LookupAttributes: sendCommand }, 50);

    const expected = [...matching, ...ties].sort((a, b) => {
      const dt = Date.parse(b.eventTime as string) - Date.parse(a.eventTime as string);
      return dt !== 0 ? dt : (b.eventID as string).localeCompare(a.eventID as string);
    });
    expect(pages).toBe(3);
    expect(events).toHaveLength(122);
    expect(events.map((e) => e.EventId)).toEqual(expected.map((r) => r.eventID));
    const tieIndex = events.findIndex((e) => e.EventId === 'ev-tie-b');
    expect(events[tieIndex + 1]!.EventId).toBe('ev-tie-a');
    for (const [i, event] of events.entries()) {
      expect(JSON.parse(event.CloudTrailEvent!)).toEqual(expected[i]);
      expect(event.EventTime).toBeInstanceOf(Date);
      expect(event.EventTime!.toISOString().replace('.000Z', 'Z')).toBe(expected[i]!.eventTime);
    }
    expect(events[0]).toMatchObject({
      EventName: 'SendCommand',
      EventSource: 'ssm.amazonaws.com',
      Username: 'alice',
      ReadOnly: 'false',
      AccessKeyId: 'ASIAEXAMPLE',
      Resources: [],
    });

    expect(server.requests.map((r) => [r.returned, r.nextToken === undefined, r.maxResults])).toEqual([
      [50, true, 50],
      [50, false, 50],
      [22, false, 50],
    ]);
  });

  test('default MaxResults is 50 and out-of-range MaxResults is InvalidMaxResultsException', async () => {
    const server = await start({ records: Array.from({ length: 60 }, (_, i) => record(i)), requestsPerSecond: 1000 });
    const ct = client(server);
    const first = await ct.send(new LookupEventsCommand({}));
    expect(first.Events).toHaveLength(50);
    expect(first.NextToken).toEqual(expect.any(String));
    for (const MaxResults of [0, 51]) {
      const err = await errorOf(ct.send(new LookupEventsCommand({ MaxResults })));
      expect(err.name).toBe('InvalidMaxResultsException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
    }
  });

  test('filters by inclusive time range and by EventName, validates range and attributes', async () => {
    const records = [
      ...Array.from({ length: 10 }, (_, i) => record(i * 10)), // SendCommand at T0 + 0, 10, ..., 90 s
      record(35, { eventName: 'CreateAssociation' }),
    ];
    const server = await start({ records, requestsPerSecond: 1000 });
    const ct = client(server);

    const ranged = await lookupAll(ct, { LookupAttributes: sendCommand, StartTime: new Date(T0 + 20_000), EndTime: new Date(T0 + 50_000) });
    expect(ranged.events.map((e) => e.EventId)).toEqual(['ev-00050', 'ev-00040', 'ev-00030', 'ev-00020']);

    const openStart = await lookupAll(ct, { LookupAttributes: sendCommand, EndTime: new Date(T0 + 9_999) });
    expect(openStart.events.map((e) => e.EventId)).toEqual(['ev-00000']);
    const openEnd = await lookupAll(ct, { LookupAttributes: sendCommand, StartTime: new Date(T0 + 80_500) });
    expect(openEnd.events.map((e) => e.EventId)).toEqual(['ev-00090']);

    const all = await lookupAll(ct, { StartTime: new Date(T0 + 30_000), EndTime: new Date(T0 + 40_000) });
    expect(all.events.map((e) => e.EventName)).toEqual(['SendCommand', 'CreateAssociation', 'SendCommand']);
    const assoc = await lookupAll(ct, { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateAssociation' }] });
    expect(assoc.events.map((e) => e.EventId)).toEqual(['ev-00035']);
    const byId = await lookupAll(ct, { LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: 'ev-00070' }] });
    expect(byId.events.map((e) => e.EventId)).toEqual(['ev-00070']);
    const byUser = await lookupAll(ct, { LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'alice' }] });
    expect(byUser.events).toHaveLength(11);

    const badRange = await errorOf(ct.send(new LookupEventsCommand({ StartTime: new Date(T0 + 2000), EndTime: new Date(T0 + 1000) })));
    expect(badRange.name).toBe('InvalidTimeRangeException');
    const twoAttributes = await errorOf(
      ct.send(new LookupEventsCommand({ LookupAttributes: [...sendCommand, { AttributeKey: 'EventSource', AttributeValue: 'ssm.amazonaws.com' }] })),
    );
    expect(twoAttributes.name).toBe('InvalidLookupAttributesException');
    expect(twoAttributes.$metadata?.httpStatusCode).toBe(400);
  });

  test('filters by the signing region and by the account of a known access key', async () => {
    const records = [
      record(1, { account: ACCOUNT_A, region: 'us-east-1' }),
      record(2, { account: ACCOUNT_A, region: 'eu-west-1' }),
      record(3, { account: ACCOUNT_B, region: 'us-east-1' }),
      record(4, { account: ACCOUNT_B, region: 'eu-west-1' }),
    ];
    const server = await start({ records, accounts: { AKIDTEST: ACCOUNT_A, AKIDB: ACCOUNT_B }, requestsPerSecond: 1000 });
    const ids = async (accessKeyId: string, region: string) =>
      (await lookupAll(client(server, { accessKeyId, region }), { LookupAttributes: sendCommand })).events.map((e) => e.EventId);

    expect(await ids('AKIDTEST', 'us-east-1')).toEqual(['ev-00001']);
    expect(await ids('AKIDTEST', 'eu-west-1')).toEqual(['ev-00002']);
    expect(await ids('AKIDB', 'us-east-1')).toEqual(['ev-00003']);
    expect(await ids('AKIDUNKNOWN', 'eu-west-1')).toEqual(['ev-00004', 'ev-00002']);
    expect(await ids('AKIDTEST', 'ap-south-1')).toEqual([]);
    expect(server.requests.map((r) => `${r.accessKeyId}@${r.region}`)).toEqual([
      'AKIDTEST@us-east-1',
      'AKIDTEST@eu-west-1',
      'AKIDB@us-east-1',
      'AKIDUNKNOWN@eu-west-1',
      'AKIDTEST@ap-south-1',
    ]);
  });

  test('a NextToken reused with other parameters is InvalidNextTokenException', async () => {
    const records = [
      ...Array.from({ length: 5 }, (_, i) => record(i)),
      ...Array.from({ length: 5 }, (_, i) => record(100 + i, { eventName: 'CreateAssociation' })),
    ];
    const server = await start({ records, requestsPerSecond: 1000 });
    const ct = client(server);
    const base = { LookupAttributes: sendCommand, StartTime: new Date(T0), EndTime: new Date(T0 + 3600_000), MaxResults: 2 };
    const first = await ct.send(new LookupEventsCommand(base));
    const token = first.NextToken!;
    expect(token).toEqual(expect.any(String));

    // Same parameters: continues.
    const second = await ct.send(new LookupEventsCommand({ ...base, NextToken: token }));
    expect(second.Events!.map((e) => e.EventId)).toEqual(['ev-00002', 'ev-00001']);

    const variants: LookupEventsCommandInput[] = [
      { ...base, LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateAssociation' }] },
      { ...base, StartTime: new Date(T0 + 1000) },
      { ...base, EndTime: new Date(T0 + 7200_000) },
      { ...base, MaxResults: 3 },
      { ...base, NextToken: `${token}x` },
      { ...base, NextToken: 'not-a-token' },
    ];
    for (const variant of variants) {
      const err = await errorOf(ct.send(new LookupEventsCommand({ NextToken: token, ...variant })));
      expect(err.name).toBe('InvalidNextTokenException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
    }
    // The same token from another region (another scope) is rejected too.
    const otherRegion = await errorOf(client(server, { region: 'eu-west-1' }).send(new LookupEventsCommand({ ...base, NextToken: token })));
    expect(otherRegion.name).toBe('InvalidNextTokenException');
  });

  test('injected throttles surface as ThrottlingException and are counted', async () => {
    const server = await start({ records: Array.from({ length: 5 }, (_, i) => record(i)), requestsPerSecond: 1000, throttle: (i) => i === 1 });
    const ct = client(server);
    await expect(ct.send(new LookupEventsCommand({ LookupAttributes: sendCommand }))).resolves.toBeDefined();
    const err = await errorOf(ct.send(new LookupEventsCommand({ LookupAttributes: sendCommand })));
    expect(err.name).toBe('ThrottlingException');
    expect(err).toBeInstanceOf(ThrottlingException);
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(server.injectedThrottles).toBe(1);
    expect(server.budgetViolations).toBe(0);

    server.setThrottle((i) => i % 2 === 0);
    await expect(ct.send(new LookupEventsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException' }); // index 2
    await expect(ct.send(new LookupEventsCommand({}))).resolves.toBeDefined(); // index 3
    expect(server.injectedThrottles).toBe(2);
    expect(server.requests.map((r) => r.errorType ?? r.status)).toEqual([200, 'ThrottlingException', 'ThrottlingException', 200]);

    // The SDK treats it as a throttling error: with retries allowed it retries and succeeds.
    server.setThrottle((i) => i === 4);
    const retried = await client(server, { maxAttempts: 3 }).send(new LookupEventsCommand({ LookupAttributes: sendCommand }));
    expect(retried.Events).toHaveLength(5);
    expect(retried.$metadata.attempts).toBe(2);
    expect(server.injectedThrottles).toBe(3);
  });

  test('a burst of 5 requests within a second exceeds the budget of 2 per second', async () => {
    const server = await start({ records: Array.from({ length: 3 }, (_, i) => record(i)) });
    const ct = client(server);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => ct.send(new LookupEventsCommand({ LookupAttributes: sendCommand }))));
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(rejected).toHaveLength(3);
    for (const r of rejected) expect((r.reason as Error).name).toBe('ThrottlingException');
    expect(server.budgetViolations).toBe(3);
    expect(server.injectedThrottles).toBe(0);

    // The budget is per (access key, region): another region is not affected.
    await expect(client(server, { region: 'eu-west-1' }).send(new LookupEventsCommand({}))).resolves.toBeDefined();
    // Once the window has passed, requests go through again.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await expect(ct.send(new LookupEventsCommand({}))).resolves.toBeDefined();
    expect(server.budgetViolations).toBe(3);
  });

  test('paced requests stay within the budget', async () => {
    const server = await start({ records: Array.from({ length: 7 }, (_, i) => record(i)) });
    const ct = client(server);
    for (let i = 0; i < 4; i++) {
      await ct.send(new LookupEventsCommand({ MaxResults: 2 }));
      await new Promise((resolve) => setTimeout(resolve, 510));
    }
    expect(server.budgetViolations).toBe(0);
  });

  test('logs each request', async () => {
    const server = await start({ records: Array.from({ length: 3 }, (_, i) => record(i)), requestsPerSecond: 1000, delayMs: 50 });
    const ct = client(server);
    const before = Date.now();
    const first = await ct.send(
      new LookupEventsCommand({ LookupAttributes: sendCommand, StartTime: new Date(T0), EndTime: new Date(T0 + 60_000), MaxResults: 2 }),
    );
    expect(Date.now() - before).toBeGreaterThanOrEqual(45);
    await ct.send(
      new LookupEventsCommand({
        LookupAttributes: sendCommand,
        StartTime: new Date(T0),
        EndTime: new Date(T0 + 60_000),
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    await errorOf(ct.send(new LookupEventsCommand({ StartTime: new Date(T0 + 1000), EndTime: new Date(T0) })));

    expect(server.requests).toHaveLength(3);
    const [a, b, c] = server.requests;
    expect(a).toEqual({
      at: expect.any(Number),
      accessKeyId: 'AKIDTEST',
      region: 'us-east-1',
      eventName: 'SendCommand',
      startTime: T0 / 1000,
      endTime: T0 / 1000 + 60,
      maxResults: 2,
      status: 200,
      returned: 2,
    });
    expect(a!.at).toBeGreaterThanOrEqual(before);
    expect(b).toMatchObject({ nextToken: first.NextToken, status: 200, returned: 1 });
    expect(b!.at).toBeGreaterThanOrEqual(a!.at);
    expect(c).toMatchObject({ status: 400, errorType: 'InvalidTimeRangeException', returned: 0 });
    expect(c!.eventName).toBeUndefined();
  });

  test('answers other operations with UnknownOperationException', async () => {
    const server = await start({ records: [] });
    const err = await errorOf(client(server).send(new DescribeTrailsCommand({})));
    expect(err.name).toBe('UnknownOperationException');
    expect(err.$metadata?.httpStatusCode).toBe(400);

    const raw = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'CloudTrail_20131101.Nope' },
      body: '{}',
    });
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await raw.json()).toMatchObject({ __type: expect.stringMatching(/#UnknownOperationException$/) });
    expect(server.requests.map((r) => r.errorType)).toEqual(['UnknownOperationException', 'UnknownOperationException']);
  });

  test('serves only management events unless Insights are asked for', async () => {
    const putObject = {
      ...record(1, { eventName: 'PutObject' }),
      eventSource: 's3.amazonaws.com',
      eventCategory: 'Data',
      managementEvent: false,
      eventID: 'ev-data',
    };
    const insight = { ...record(2), eventType: 'AwsCloudTrailInsight', eventCategory: 'Insight', eventID: 'ev-insight' };
    const server = await start({ records: [putObject, insight, record(3)], requestsPerSecond: 1000 });
    const ct = client(server);
    expect((await lookupAll(ct, {})).events.map((e) => e.EventId)).toEqual(['ev-00003']);
    expect((await lookupAll(ct, { EventCategory: 'insight' })).events.map((e) => e.EventId)).toEqual(['ev-insight']);
  });
});
