import type { CloudTrailRecord, ResourceRef } from '../../src/cloudtrail/record';
import { candidateMatcher } from '../../src/scan/candidate-matcher';
import { RecordsReader } from '../../src/scan/records-reader';
import { nativeScanner } from '../../src/scan/native-scanner';
import { findingId } from '../../src/rules/finding-id';
import {
  optionsSchema,
  ssmOutputToForeignBucket as rule,
  type ForeignPutSelected,
  type SsmCommandSelected,
  type SsmOutputToForeignBucketSelected,
} from '../../src/rules/ssm-output-to-foreign-bucket';
import type { ScanPeriod, SsmOutputToForeignBucketFinding } from '../../src/rules/types';
import {
  ACCOUNT,
  ASSOCIATION_ID,
  COMMAND_ID,
  FOREIGN_ACCOUNT,
  INSTANCE_ID,
  agentKey,
  between,
  createAssociation,
  day,
  iamUser,
  instanceRole,
  loadSample,
  loadSampleJson,
  reorder,
  roundTrip,
  s3Put,
  sendCommand,
  ssoSession,
  type PutFixture,
} from './fixtures';

const RULE_ID = '21702832-aff3-4bd6-a8e1-663b6818503d';
const D = day('2026-11-25');

function options(input: Record<string, unknown> = {}) {
  return optionsSchema.parse(input);
}

function selectAll(records: CloudTrailRecord[], input: Record<string, unknown> = {}): SsmOutputToForeignBucketSelected[] {
  const opts = options(input);
  return records.flatMap((r) => rule.select(r, opts) ?? []);
}

function run(records: CloudTrailRecord[], period: ScanPeriod = D, input: Record<string, unknown> = {}): SsmOutputToForeignBucketFinding[] {
  return rule.correlate(roundTrip(selectAll(records, input)), period, options(input)) as SsmOutputToForeignBucketFinding[];
}

/** SendCommand by alice that sends its output to `bucket`. */
function command(id: string, eventTime: string, bucket = 'exfil-bucket', extra: Parameters<typeof sendCommand>[0] = {}) {
  return sendCommand({ eventID: id, eventTime, outputS3BucketName: bucket, outputS3KeyPrefix: 'out', ...extra });
}

/** The SSM agent's foreign PutObject of that command's stdout. */
function put(id: string, eventTime: string, extra: Parameters<typeof s3Put>[0] = {}) {
  return s3Put({ eventID: id, eventTime, ...extra });
}

describe('rule card', () => {
  test('identity, severity and MITRE mapping follow the Sentinel seed', () => {
    expect(rule.id).toBe(RULE_ID);
    expect(rule.name).toBe('Suspicious command sent to EC2');
    expect(rule.severity).toBe('High');
    expect(rule.tactics).toEqual(['Execution']);
    expect(rule.techniques).toEqual(['T1204']);
  });

  test('eventNames: the commands and PutObject, plus the multipart names when enabled', () => {
    expect(rule.eventNames(options())).toEqual(['SendCommand', 'CreateAssociation', 'PutObject']);
    expect(rule.eventNames(options({ includeMultipartUploads: true }))).toEqual([
      'SendCommand',
      'CreateAssociation',
      'PutObject',
      'CreateMultipartUpload',
      'CompleteMultipartUpload',
    ]);
    expect(rule.eventNames(options({ enabled: false }))).toEqual([]);
  });

  test('lookbackMs is the parsed commandLookback, 0 without it', () => {
    expect(rule.lookbackMs(options())).toBe(0);
    expect(rule.lookbackMs(options({ commandLookback: 'PT1H' }))).toBe(3_600_000);
    expect(rule.lookbackMs(options({ commandLookback: 'P1DT30M' }))).toBe(88_200_000);
  });

  test('a disabled rule selects and finds nothing', () => {
    const records = [command('c1', '2026-11-25T10:00:00Z'), put('p1', '2026-11-25T10:00:30Z')];
    expect(selectAll(records, { enabled: false })).toEqual([]);
    expect(rule.correlate(selectAll(records), D, options({ enabled: false }))).toEqual([]);
    expect(run(records)).toHaveLength(1);
  });
});

describe('SendCommand output written by the SSM agent to a foreign bucket', () => {
  const records = [
    command('c1', '2026-11-25T11:00:00Z', 'output-bucket'),
    put('p1', '2026-11-25T11:00:31Z', { bucket: 'output-bucket', key: agentKey(COMMAND_ID, INSTANCE_ID, 'out', 'stdout') }),
  ];

  test('one finding with every field of INTERFACE.md', () => {
    expect(run(records)).toEqual([
      {
        id: findingId(RULE_ID, 'c1'),
        ruleId: RULE_ID,
        ruleName: 'Suspicious command sent to EC2',
        severity: 'High',
        tactics: ['Execution'],
        techniques: ['T1204'],
        s3Bucket: 'output-bucket',
        bucketOwnerAccountId: FOREIGN_ACCOUNT,
        commandEventId: 'c1',
        commandEventName: 'SendCommand',
        executionId: COMMAND_ID,
        commandUser: 'alice',
        commandUserArn: `arn:aws:iam::${ACCOUNT}:user/alice`,
        commandSourceIpAddress: '198.51.100.7',
        documentName: 'AWS-RunShellScript',
        instanceIds: [INSTANCE_ID],
        awsRegion: 'us-east-1',
        accountName: INSTANCE_ID,
        accountUpnSuffix: '',
        recipientAccountId: ACCOUNT,
        sourceIpAddress: '203.0.113.9',
        putObjectEventIds: ['p1'],
        firstSeen: '2026-11-25T11:00:00Z',
        lastSeen: '2026-11-25T11:00:31Z',
        count: 2,
        eventIds: ['c1', 'p1'],
      },
    ]);
  });

  test('it reads as the command, its sender and where its output went; its id is the command eventID', () => {
    const [finding] = run(records);
    expect(rule.view(finding)).toEqual({
      title: `SendCommand by alice sent its output to s3://output-bucket, a bucket of account ${FOREIGN_ACCOUNT} (1 put by ${INSTANCE_ID})`,
      fields: {
        Account: ACCOUNT,
        User: 'alice',
        'User ARN': `arn:aws:iam::${ACCOUNT}:user/alice`,
        'Command from': '198.51.100.7',
        Command: 'SendCommand AWS-RunShellScript',
        Bucket: `output-bucket (owner ${FOREIGN_ACCOUNT})`,
        'Put by': `${INSTANCE_ID} from 203.0.113.9`,
        Region: 'us-east-1',
        Time: '2026-11-25T11:00:00Z .. 2026-11-25T11:00:31Z',
      },
      accountId: ACCOUNT,
      region: 'us-east-1',
      users: ['alice', `arn:aws:iam::${ACCOUNT}:user/alice`, INSTANCE_ID],
      ips: ['198.51.100.7', '203.0.113.9'],
      buckets: ['output-bucket'],
    });
    expect(rule.identity(finding)).toEqual(['c1']);
    expect(rule.dataEventNames!(options())).toEqual(['PutObject']);
  });

  test('the selected events are a compact discriminated union that survives JSON', () => {
    const selected = selectAll(records);
    expect(selected.map((e) => e.kind)).toEqual(['command', 'put']);
    const [cmd, p] = selected as [SsmCommandSelected, ForeignPutSelected];
    expect(cmd).toEqual({
      kind: 'command',
      eventID: 'c1',
      eventTimeMs: Date.parse('2026-11-25T11:00:00Z'),
      bucket: 'output-bucket',
      executionId: COMMAND_ID,
      commandEventName: 'SendCommand',
      commandUser: 'alice',
      commandUserArn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      commandSourceIpAddress: '198.51.100.7',
      documentName: 'AWS-RunShellScript',
      instanceIds: [INSTANCE_ID],
      awsRegion: 'us-east-1',
    });
    expect(p).toEqual({
      kind: 'put',
      eventID: 'p1',
      eventTimeMs: Date.parse('2026-11-25T11:00:31Z'),
      bucket: 'output-bucket',
      key: agentKey(),
      bucketOwnerAccountId: FOREIGN_ACCOUNT,
      recipientAccountId: ACCOUNT,
      sourceIpAddress: '203.0.113.9',
      accountName: INSTANCE_ID,
      accountUpnSuffix: '',
    });
    expect(roundTrip(selected)).toEqual(selected);
  });

  test('a command by an SSO session reports the session as commandUser and its arn', () => {
    const [finding] = run([
      command('c1', '2026-11-25T11:00:00Z', 'exfil-bucket', { userIdentity: ssoSession('mallory@evil.example') }),
      put('p1', '2026-11-25T11:00:31Z'),
    ]);
    expect(finding.commandUser).toBe('mallory@evil.example');
    expect(finding.commandUserArn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/mallory@evil.example`);
  });

  test('a command with targets instead of instanceIds reports targets', () => {
    const targets = [{ Key: 'tag:Env', Values: ['prod'] }];
    const [finding] = run([command('c1', '2026-11-25T11:00:00Z', 'exfil-bucket', { targets }), put('p1', '2026-11-25T11:00:31Z')]);
    expect(finding.targets).toEqual(targets);
    expect(finding.instanceIds).toBeUndefined();
  });

  test('the command side matches on eventName from any eventSource, exactly and case-sensitively', () => {
    const records2 = [
      command('other-source', '2026-11-25T11:00:00Z', 'exfil-bucket', { eventSource: 'ssm-guiconnect.amazonaws.com' }),
      command('lower', '2026-11-25T11:00:01Z', 'exfil-bucket', { eventName: 'sendcommand' }),
      command('longer', '2026-11-25T11:00:02Z', 'exfil-bucket', { eventName: 'SendCommandAsync' }),
    ];
    expect(selectAll(records2).map((e) => e.eventID)).toEqual(['other-source']);
  });
});

describe('CreateAssociation', () => {
  test('output bucket from outputLocation.s3Location; executionId is the associationId; documentName is the name', () => {
    const [finding] = run([
      createAssociation({ eventID: 'a1', eventTime: '2026-11-25T11:00:00Z', name: 'Custom-Exfil', bucket: 'exfil-bucket' }),
      put('p1', '2026-11-25T11:05:00Z', { key: agentKey(ASSOCIATION_ID) }),
    ]);
    expect(finding).toMatchObject({
      id: findingId(RULE_ID, 'a1'),
      commandEventId: 'a1',
      commandEventName: 'CreateAssociation',
      executionId: ASSOCIATION_ID,
      documentName: 'Custom-Exfil',
      s3Bucket: 'exfil-bucket',
      commandUser: 'alice@example.com',
      commandSourceIpAddress: '198.51.100.8',
      targets: [{ key: 'InstanceIds', values: [INSTANCE_ID] }],
      eventIds: ['a1', 'p1'],
    });
    expect(finding.instanceIds).toBeUndefined();
  });

  test('for CreateAssociation, documentName is requestParameters.name, whatever else the request holds (docs/rules.md)', () => {
    const record = createAssociation({ eventID: 'a1' });
    record.requestParameters!.documentName = 'AWS-RunPowerShellScript';
    const [event] = selectAll([record]) as SsmCommandSelected[];
    expect(event.documentName).toBe('AWS-RunShellScript');
    const unnamed = createAssociation({ eventID: 'a2' });
    delete unnamed.requestParameters!.name;
    unnamed.requestParameters!.documentName = 'AWS-RunPowerShellScript';
    expect((selectAll([unnamed]) as SsmCommandSelected[])[0].documentName).toBe('');
  });

  test('a bucket or eventName that is not a string matches nothing (docs/rules.md "String fields")', () => {
    const command = sendCommand({ eventID: 'c1' });
    command.requestParameters!.outputS3BucketName = 7;
    const put = s3Put({ eventID: 'p1' });
    put.requestParameters!.bucketName = 7;
    expect(selectAll([command, { ...sendCommand({ eventID: 'c2' }), eventName: ['SendCommand'] as unknown as string }, put])).toEqual([]);
  });

  test('requestParameters.outputS3BucketName is preferred over outputLocation', () => {
    const record = createAssociation({ eventID: 'a1', bucket: 'location-bucket' });
    record.requestParameters!.outputS3BucketName = 'direct-bucket';
    expect((selectAll([record])[0] as SsmCommandSelected).bucket).toBe('direct-bucket');
    record.requestParameters!.outputS3BucketName = '';
    expect((selectAll([record])[0] as SsmCommandSelected).bucket).toBe('location-bucket');
  });

  test('executionId prefers command.commandId when the response has both', () => {
    const record = createAssociation({ eventID: 'a1' });
    (record.responseElements as Record<string, unknown>).command = { commandId: 'cmd-1' };
    expect((selectAll([record])[0] as SsmCommandSelected).executionId).toBe('cmd-1');
  });
});

describe('command filters', () => {
  test('failed commands are dropped: errorCode, or errorMessage alone', () => {
    const records = [
      command('code', '2026-11-25T11:00:00Z', 'exfil-bucket', { errorCode: 'AccessDenied', errorMessage: 'denied' }),
      command('message', '2026-11-25T11:00:01Z', 'exfil-bucket', { errorMessage: 'throttled' }),
      createAssociation({ eventID: 'assoc-code', errorCode: 'InvalidDocument' }),
      createAssociation({ eventID: 'assoc-message', errorMessage: 'Document not found' }),
      put('p1', '2026-11-25T11:00:31Z'),
    ];
    expect(selectAll(records).map((e) => e.eventID)).toEqual(['p1']);
    expect(run(records)).toEqual([]);
  });

  test('a blank errorCode/errorMessage is empty, so the command is kept', () => {
    const record = command('c1', '2026-11-25T11:00:00Z');
    record.errorCode = '';
    record.errorMessage = null;
    expect(selectAll([record])).toHaveLength(1);
  });

  test('parameters: missing, null or "" drops the command; an object, even {}, is kept (KQL tostring)', () => {
    const kept = (parameters: unknown, useKey = true) => {
      const fixture = useKey ? { parameters } : {};
      return selectAll([command('c1', '2026-11-25T11:00:00Z', 'exfil-bucket', fixture)]).length === 1;
    };
    expect(kept(undefined)).toBe(false); // key removed
    expect(kept(null)).toBe(false);
    expect(kept('')).toBe(false);
    expect(kept({})).toBe(true);
    expect(kept({ commands: ['id'] })).toBe(true);
    expect(kept([])).toBe(true);
    expect(kept('HIDDEN_DUE_TO_SECURITY_REASONS')).toBe(true);
    expect(kept(undefined, false)).toBe(true); // the fixture's default hidden parameters
    expect(selectAll([createAssociation({ parameters: undefined })])).toEqual([]);
    expect(selectAll([createAssociation({ parameters: {} })])).toHaveLength(1);
  });

  test('only the request names the bucket: responseElements.command.outputS3BucketName is not used', () => {
    const record = command('c1', '2026-11-25T11:00:00Z');
    delete record.requestParameters!.outputS3BucketName;
    (record.responseElements!.command as Record<string, unknown>).outputS3BucketName = 'exfil-bucket';
    expect(selectAll([record])).toEqual([]);
  });

  test('a command without an output bucket is never selected (it can never join)', () => {
    expect(selectAll([sendCommand()])).toEqual([]);
    expect(selectAll([command('c1', '2026-11-25T11:00:00Z', '')])).toEqual([]);
    expect(selectAll([createAssociation({ bucket: '' })])).toEqual([]);
  });

  test('the real SendCommand samples name no output bucket and give nothing', () => {
    for (const file of ['stratus_ssm_send_command.json', 'stratus_ec2_steal_instance_credentials_subset.json', 'panther_ssm_send_command_assumedrole.json']) {
      expect(selectAll(loadSample(file))).toEqual([]);
    }
  });

  test('records without eventID or with an unparsable eventTime are not selected', () => {
    const noId = command('c1', '2026-11-25T11:00:00Z');
    delete noId.eventID;
    const badPut = put('p1', 'not a time');
    expect(selectAll([noId, badPut, command('', '2026-11-25T11:00:00Z')])).toEqual([]);
  });
});

describe('foreign puts', () => {
  test('failed puts are dropped: errorCode, or errorMessage alone', () => {
    const records = [
      command('c1', '2026-11-25T11:00:00Z'),
      put('p-code', '2026-11-25T11:00:30Z', { errorCode: 'AccessDenied', errorMessage: 'Access Denied' }),
      put('p-message', '2026-11-25T11:00:31Z', { errorMessage: 'Access Denied' }),
    ];
    expect(selectAll(records).map((e) => e.eventID)).toEqual(['c1']);
    expect(run(records)).toEqual([]);
  });

  test('a put to a bucket of the account that logged it is not foreign', () => {
    expect(selectAll([put('p1', '2026-11-25T11:00:30Z', { bucketOwner: ACCOUNT })])).toEqual([]);
    // real data events: both panther puts are to buckets of their own account
    expect(selectAll(loadSample('panther_s3_putobject_data_events.json'))).toEqual([]);
  });

  test('deviation: a blank resources accountId never makes a put foreign', () => {
    expect(selectAll([put('p1', '2026-11-25T11:00:30Z', { bucketOwner: '' })])).toEqual([]);
    expect(selectAll([put('p2', '2026-11-25T11:00:30Z', { bucketOwner: null })])).toEqual([]);
    const snippets = loadSampleJson<Record<'historic' | 'current', { resources: [] }>>('awsdoc_s3_resources_bucket_owner_redaction.json');
    const withResources = (resources: []) => put('p3', '2026-11-25T11:00:30Z', { resources, recipientAccountId: ACCOUNT });
    expect(selectAll([withResources(snippets.current.resources)])).toEqual([]);
    const historic = selectAll([withResources(snippets.historic.resources)]) as ForeignPutSelected[];
    expect(historic.map((e) => e.bucketOwnerAccountId)).toEqual(['123456789012']);
  });

  test('a put without resources, or with no accountId in them, is not foreign', () => {
    expect(selectAll([put('p1', '2026-11-25T11:00:30Z', { resources: null })])).toEqual([]);
    expect(selectAll([put('p2', '2026-11-25T11:00:30Z', { resources: [] })])).toEqual([]);
    expect(selectAll([put('p3', '2026-11-25T11:00:30Z', { resources: [{ type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::b/k' }] })])).toEqual([]);
  });

  test('the first resource with a foreign accountId gives bucketOwnerAccountId', () => {
    const resources = [
      { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::exfil-bucket/k', accountId: ACCOUNT },
      { type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::exfil-bucket', accountId: '222222222222' },
      { type: 'AWS::S3::AccessPoint', ARN: 'arn:aws:s3:::ap', accountId: '333333333333' },
    ];
    const [event] = selectAll([put('p1', '2026-11-25T11:00:30Z', { resources })]) as ForeignPutSelected[];
    expect(event.bucketOwnerAccountId).toBe('222222222222');
  });

  test('the AWS cross-account PutObject example (any eventSource, recipient differs from owner) is foreign', () => {
    const [event] = selectAll(loadSample('awsdoc_s3outposts_putobject_crossaccount.json')) as ForeignPutSelected[];
    expect(event).toMatchObject({
      kind: 'put',
      eventID: 'ee3b4e0c-ab12-459b-9998-0a5a6f2e4015',
      bucket: 'DOC-EXAMPLE-BUCKET1',
      bucketOwnerAccountId: '222222222222',
      recipientAccountId: '444455556666',
      sourceIpAddress: '26.29.66.20',
      accountName: 'yourUserName',
    });
  });

  test('a put without bucketName is not selected (a blank bucket never joins)', () => {
    const record = put('p1', '2026-11-25T11:00:30Z');
    record.requestParameters!.bucketName = '';
    expect(selectAll([record])).toEqual([]);
  });

  test('only PutObject by default; the multipart calls with includeMultipartUploads; never other S3 calls', () => {
    const records = [
      command('c1', '2026-11-25T11:00:00Z'),
      put('create', '2026-11-25T11:00:30Z', { eventName: 'CreateMultipartUpload' }),
      put('complete', '2026-11-25T11:00:40Z', { eventName: 'CompleteMultipartUpload' }),
      put('part', '2026-11-25T11:00:35Z', { eventName: 'UploadPart' }),
      put('copy', '2026-11-25T11:00:36Z', { eventName: 'CopyObject' }),
      put('lower', '2026-11-25T11:00:37Z', { eventName: 'putobject' }),
    ];
    expect(run(records)).toEqual([]);
    const [finding] = run(records, D, { includeMultipartUploads: true });
    expect(finding.putObjectEventIds).toEqual(['complete', 'create']);
    expect(finding.eventIds).toEqual(['c1', 'complete', 'create']);
    expect(finding.lastSeen).toBe('2026-11-25T11:00:40Z');
  });
});

describe('join on the bucket', () => {
  test('buckets must be equal exactly (case-sensitive)', () => {
    const records = [command('c1', '2026-11-25T11:00:00Z', 'Exfil-Bucket'), put('p1', '2026-11-25T11:00:30Z', { bucket: 'exfil-bucket' })];
    expect(selectAll(records)).toHaveLength(2);
    expect(run(records)).toEqual([]);
  });

  test('the real cross-account PutObject example joins a command naming its (upper-case) bucket', () => {
    const [awsPut] = loadSample('awsdoc_s3outposts_putobject_crossaccount.json');
    const records = [command('c1', '2020-11-30T15:40:00Z', 'DOC-EXAMPLE-BUCKET1'), awsPut];
    const [finding] = run(records, day('2020-11-30'));
    expect(finding).toMatchObject({
      s3Bucket: 'DOC-EXAMPLE-BUCKET1',
      bucketOwnerAccountId: '222222222222',
      recipientAccountId: '444455556666',
      accountName: 'yourUserName',
      putObjectEventIds: ['ee3b4e0c-ab12-459b-9998-0a5a6f2e4015'],
    });
    expect(run([command('c1', '2020-11-30T15:40:00Z', 'doc-example-bucket1'), awsPut], day('2020-11-30'))).toEqual([]);
  });

  test('a blank bucket never joins, even for hand-made selected events', () => {
    const cmd: SsmCommandSelected = {
      kind: 'command',
      eventID: 'c1',
      eventTimeMs: Date.parse('2026-11-25T11:00:00Z'),
      bucket: '',
      executionId: '',
      commandEventName: 'SendCommand',
      commandUser: 'alice',
      commandUserArn: '',
      commandSourceIpAddress: '',
      documentName: '',
      awsRegion: 'us-east-1',
    };
    const p: ForeignPutSelected = {
      kind: 'put',
      eventID: 'p1',
      eventTimeMs: Date.parse('2026-11-25T11:00:30Z'),
      bucket: '',
      key: '',
      bucketOwnerAccountId: FOREIGN_ACCOUNT,
      recipientAccountId: ACCOUNT,
      sourceIpAddress: '',
      accountName: '',
      accountUpnSuffix: '',
    };
    expect(rule.correlate([cmd, p], D, options())).toEqual([]);
    expect(
      rule.correlate(
        [
          { ...cmd, bucket: 'b' },
          { ...p, bucket: 'b' },
        ],
        D,
        options(),
      ),
    ).toHaveLength(1);
  });

  test('either order: a put before its command joins too', () => {
    const [finding] = run([command('c1', '2026-11-25T12:00:00Z'), put('p1', '2026-11-25T08:00:00Z')]);
    expect(finding.firstSeen).toBe('2026-11-25T08:00:00Z');
    expect(finding.lastSeen).toBe('2026-11-25T12:00:00Z');
  });

  test('puts and commands outside the period are ignored', () => {
    const records = [command('c1', '2026-11-25T11:00:00Z'), put('before', '2026-11-24T23:59:59Z'), put('at-end', '2026-11-26T00:00:00Z')];
    expect(run(records)).toEqual([]);
    const inside = run([...records, put('start', '2026-11-25T00:00:00Z'), put('last', '2026-11-25T23:59:59Z')]);
    expect(inside.map((f) => f.putObjectEventIds)).toEqual([['last', 'start']]);
    const outsideCommand = run([command('c0', '2026-11-24T23:59:59Z'), put('p1', '2026-11-25T00:00:01Z')]);
    expect(outsideCommand).toEqual([]);
  });

  test('all matching puts are evidence of the one finding per command', () => {
    const [finding] = run([
      command('c1', '2026-11-25T11:00:00Z'),
      put('p-stdout', '2026-11-25T11:00:31Z', { key: agentKey(COMMAND_ID, INSTANCE_ID, 'out', 'stdout') }),
      put('p-stderr', '2026-11-25T11:00:32Z', { key: agentKey(COMMAND_ID, INSTANCE_ID, 'out', 'stderr') }),
      put('p-other', '2026-11-25T11:00:33Z', { key: agentKey(COMMAND_ID, 'i-0fedcba9876543210'), userIdentity: instanceRole('i-0fedcba9876543210') }),
    ]);
    expect(finding.putObjectEventIds).toEqual(['p-other', 'p-stderr', 'p-stdout']);
    expect(finding.eventIds).toEqual(['c1', 'p-other', 'p-stderr', 'p-stdout']);
    expect(finding.count).toBe(4);
    expect(finding.lastSeen).toBe('2026-11-25T11:00:33Z');
  });

  test('eventIds sort the command among its puts', () => {
    const [finding] = run([command('m-cmd', '2026-11-25T11:00:00Z'), put('z-put', '2026-11-25T11:00:31Z'), put('a-put', '2026-11-25T11:00:32Z')]);
    expect(finding.eventIds).toEqual(['a-put', 'm-cmd', 'z-put']);
    expect(finding.putObjectEventIds).toEqual(['a-put', 'z-put']);
    expect(finding.count).toBe(3);
  });

  test('several commands sharing a bucket give one finding each, sorted by (firstSeen, commandEventId)', () => {
    const findings = run([
      command('c-late', '2026-11-25T15:00:00Z', 'exfil-bucket', { commandId: 'cmd-late' }),
      command('c-b', '2026-11-25T09:00:00Z', 'exfil-bucket', { commandId: 'cmd-b' }),
      command('c-a', '2026-11-25T09:00:00Z', 'exfil-bucket', { commandId: 'cmd-a' }),
      put('p1', '2026-11-25T10:00:00Z'),
    ]);
    expect(findings.map((f) => [f.commandEventId, f.firstSeen, f.executionId, f.putObjectEventIds])).toEqual([
      ['c-a', '2026-11-25T09:00:00Z', 'cmd-a', ['p1']],
      ['c-b', '2026-11-25T09:00:00Z', 'cmd-b', ['p1']],
      ['c-late', '2026-11-25T10:00:00Z', 'cmd-late', ['p1']],
    ]);
    expect(findings.map((f) => f.id)).toEqual([findingId(RULE_ID, 'c-a'), findingId(RULE_ID, 'c-b'), findingId(RULE_ID, 'c-late')]);
  });

  test('a command and its put in different buckets do not join; a put joins only commands of its bucket', () => {
    const findings = run([
      command('c1', '2026-11-25T11:00:00Z', 'bucket-one'),
      command('c2', '2026-11-25T11:00:00Z', 'bucket-two'),
      put('p1', '2026-11-25T11:00:30Z', { bucket: 'bucket-two' }),
    ]);
    expect(findings.map((f) => [f.commandEventId, f.s3Bucket])).toEqual([['c2', 'bucket-two']]);
  });
});

describe('commandLookback', () => {
  const records = [command('c-night', '2026-11-24T23:59:00Z'), put('p-night', '2026-11-25T00:01:00Z')];

  test('a command at 23:59 joins a put at 00:01 of the next day only with the option', () => {
    expect(run(records, D)).toEqual([]);
    const [finding] = run(records, D, { commandLookback: 'PT1H' });
    expect(finding).toMatchObject({ commandEventId: 'c-night', putObjectEventIds: ['p-night'], firstSeen: '2026-11-24T23:59:00Z' });
    expect(run(records, D, { commandLookback: 'PT30S' })).toEqual([]);
  });

  test('the finding id is the same whether found by the day-D scan with lookback or by a scan covering both', () => {
    const [withLookback] = run(records, D, { commandLookback: 'PT1H' });
    const [covering] = run(records, between('2026-11-24T00:00:00Z', '2026-11-26T00:00:00Z'));
    expect(withLookback.id).toBe(findingId(RULE_ID, 'c-night'));
    expect(covering.id).toBe(withLookback.id);
    expect(covering).toEqual(withLookback);
  });

  test('the lookback widens commands only: a put before the period stays out', () => {
    const putEarly = [command('c1', '2026-11-25T00:10:00Z'), put('p-early', '2026-11-24T23:59:30Z')];
    expect(run(putEarly, D, { commandLookback: 'PT1H' })).toEqual([]);
  });
});

describe('matchExecutionIdInKey', () => {
  const records = [
    command('c1', '2026-11-25T11:00:00Z', 'exfil-bucket', { commandId: 'aaaa1111-0000-4000-8000-000000000001' }),
    command('c2', '2026-11-25T11:00:10Z', 'exfil-bucket', { commandId: 'bbbb2222-0000-4000-8000-000000000002' }),
    put('p1', '2026-11-25T11:00:31Z', { key: agentKey('aaaa1111-0000-4000-8000-000000000001') }),
    put('p2', '2026-11-25T11:00:41Z', { key: agentKey('bbbb2222-0000-4000-8000-000000000002') }),
  ];

  test('without it every put of the bucket joins every command', () => {
    expect(run(records).map((f) => f.putObjectEventIds)).toEqual([
      ['p1', 'p2'],
      ['p1', 'p2'],
    ]);
  });

  test('with it a put joins only the command whose executionId its key contains', () => {
    expect(run(records, D, { matchExecutionIdInKey: true }).map((f) => [f.commandEventId, f.putObjectEventIds])).toEqual([
      ['c1', ['p1']],
      ['c2', ['p2']],
    ]);
  });

  test('with it the associationId of a CreateAssociation must be in the key', () => {
    const assoc = createAssociation({ eventID: 'a1', eventTime: '2026-11-25T11:00:00Z' });
    expect(run([assoc, put('p1', '2026-11-25T11:00:31Z', { key: agentKey(ASSOCIATION_ID) })], D, { matchExecutionIdInKey: true })).toHaveLength(1);
    expect(run([assoc, put('p1', '2026-11-25T11:00:31Z', { key: 'loot/data.tar' })], D, { matchExecutionIdInKey: true })).toEqual([]);
  });

  test('with it a command without executionId never joins', () => {
    const noId = command('c1', '2026-11-25T11:00:00Z');
    noId.responseElements = null;
    const records2 = [noId, put('p1', '2026-11-25T11:00:31Z', { key: 'out//i-0abc/awsrunShellScript/0.awsrunShellScript/stdout' })];
    expect(run(records2)).toHaveLength(1);
    expect(run(records2)[0].executionId).toBe('');
    expect(run(records2, D, { matchExecutionIdInKey: true })).toEqual([]);
  });
});

describe('representative put and entities', () => {
  test('the earliest put by eventTime gives the entities, bucket owner, recipient and source IP', () => {
    const [finding] = run([
      command('c1', '2026-11-25T11:00:00Z'),
      put('p-late', '2026-11-25T11:00:50Z', { userIdentity: iamUser('late-user'), sourceIPAddress: '192.0.2.50', bucketOwner: '555555555555' }),
      put('z-early', '2026-11-25T11:00:20Z', { sourceIPAddress: '192.0.2.20', bucketOwner: '666666666666', recipientAccountId: '777777777777' }),
    ]);
    expect(finding).toMatchObject({
      accountName: INSTANCE_ID,
      accountUpnSuffix: '',
      bucketOwnerAccountId: '666666666666',
      recipientAccountId: '777777777777',
      sourceIpAddress: '192.0.2.20',
      putObjectEventIds: ['p-late', 'z-early'],
    });
  });

  test('a tie on eventTime is broken by eventID, whatever the input order', () => {
    const records = [
      command('c1', '2026-11-25T11:00:00Z'),
      put('p-b', '2026-11-25T11:00:30Z', { userIdentity: iamUser('bee'), sourceIPAddress: '192.0.2.2' }),
      put('p-a', '2026-11-25T11:00:30Z', { userIdentity: iamUser('ay'), sourceIPAddress: '192.0.2.1' }),
    ];
    for (const order of [records, reorder(records, 0), reorder(records, 1), reorder(records, 2)]) {
      const [finding] = run(order);
      expect([finding.accountName, finding.sourceIpAddress]).toEqual(['ay', '192.0.2.1']);
    }
  });

  test('accountName is "Anonymous" for an anonymous principal, even with a userName', () => {
    const anonymous = put('p1', '2026-11-25T11:00:30Z', {
      userIdentity: { type: 'AWSAccount', principalId: 'Anonymous', accountId: 'anonymous', userName: 'someone' },
    });
    const [finding] = run([command('c1', '2026-11-25T11:00:00Z'), anonymous]);
    expect([finding.accountName, finding.accountUpnSuffix]).toEqual(['Anonymous', '']);
  });

  test('accountName is userName if set, else the arn last segment, else empty', () => {
    const nameOf = (userIdentity: PutFixture['userIdentity']) =>
      (selectAll([put('p1', '2026-11-25T11:00:30Z', { userIdentity })])[0] as ForeignPutSelected).accountName;
    expect(nameOf(iamUser('bob'))).toBe('bob');
    expect(nameOf(instanceRole('i-0123456789abcdef0'))).toBe('i-0123456789abcdef0');
    expect(nameOf({ type: 'AWSAccount', principalId: 'AIDAONLY' })).toBe('');
    expect(nameOf(null)).toBe('');
  });

  test('an "@" splits accountName (before the first "@") from accountUpnSuffix (after it)', () => {
    const entity = (userIdentity: PutFixture['userIdentity']) => {
      const event = selectAll([put('p1', '2026-11-25T11:00:30Z', { userIdentity })])[0] as ForeignPutSelected;
      return [event.accountName, event.accountUpnSuffix];
    };
    expect(entity(ssoSession('mallory@evil.example'))).toEqual(['mallory', 'evil.example']);
    expect(entity(iamUser('svc@corp.example'))).toEqual(['svc', 'corp.example']);
    expect(entity(ssoSession('a@b@c'))).toEqual(['a', 'b@c']);
    expect(entity(ssoSession('trailing@'))).toEqual(['trailing', '']);
  });

  test('the entities come from the put, not from the command sender', () => {
    const [finding] = run([
      command('c1', '2026-11-25T11:00:00Z', 'exfil-bucket', { userIdentity: ssoSession('alice@example.com') }),
      put('p1', '2026-11-25T11:00:30Z', { userIdentity: ssoSession('mallory@evil.example', FOREIGN_ACCOUNT), sourceIPAddress: '192.0.2.99' }),
    ]);
    expect(finding).toMatchObject({
      commandUser: 'alice@example.com',
      commandSourceIpAddress: '198.51.100.7',
      accountName: 'mallory',
      accountUpnSuffix: 'evil.example',
      sourceIpAddress: '192.0.2.99',
    });
  });
});

describe('exclude (applies to the command)', () => {
  const records = [
    command('alice', '2026-11-25T11:00:00Z'),
    command('deploy', '2026-11-25T11:00:01Z', 'exfil-bucket', { userIdentity: ssoSession('deploy-bot', ACCOUNT, 'AWSReservedSSO_Deploy_0123') }),
    createAssociation({ eventID: 'assoc', eventTime: '2026-11-25T11:00:02Z', name: 'Corp-Backup', userIdentity: iamUser('backup') }),
    command('sandbox', '2026-11-25T11:00:03Z', 'exfil-bucket', { recipientAccountId: '999988887777', userIdentity: iamUser('carol', '999988887777') }),
    put('p1', '2026-11-25T11:00:30Z'),
  ];
  const found = (exclude: unknown[]) => run(records, D, { exclude }).map((f) => f.commandEventId);

  test('no entry: every command is found', () => {
    expect(found([])).toEqual(['alice', 'deploy', 'assoc', 'sandbox']);
  });

  test('by user, arn glob, documentName (the association name) and accountId', () => {
    expect(found([{ user: 'alice' }])).toEqual(['deploy', 'assoc', 'sandbox']);
    expect(found([{ arn: '*:assumed-role/AWSReservedSSO_Deploy_*' }])).toEqual(['alice', 'assoc', 'sandbox']);
    expect(found([{ documentName: 'Corp-Backup' }])).toEqual(['alice', 'deploy', 'sandbox']);
    expect(found([{ accountId: '999988887777' }])).toEqual(['alice', 'deploy', 'assoc']);
  });

  test('combined fields must all match', () => {
    expect(found([{ user: 'alice', documentName: 'AWS-RunShellScript' }])).toEqual(['deploy', 'assoc', 'sandbox']);
    expect(found([{ user: 'alice', documentName: 'Corp-Backup' }])).toEqual(['alice', 'deploy', 'assoc', 'sandbox']);
    expect(found([{ user: 'carol', accountId: ACCOUNT }])).toEqual(['alice', 'deploy', 'assoc', 'sandbox']);
  });

  test('entries do not filter puts (the put identity is the instance, not the sender)', () => {
    expect(found([{ user: INSTANCE_ID }])).toEqual(['alice', 'deploy', 'assoc', 'sandbox']);
  });
});

describe('determinism', () => {
  const records = [
    command('c2', '2026-11-25T11:00:10Z', 'exfil-bucket', { commandId: 'cmd-2' }),
    command('c1', '2026-11-25T11:00:00Z', 'exfil-bucket', { commandId: 'cmd-1' }),
    createAssociation({ eventID: 'a1', eventTime: '2026-11-25T12:00:00Z', bucket: 'other-bucket' }),
    put('p2', '2026-11-25T11:00:40Z', { sourceIPAddress: '192.0.2.2' }),
    put('p1', '2026-11-25T11:00:40Z', { sourceIPAddress: '192.0.2.1' }),
    put('p3', '2026-11-25T12:00:40Z', { bucket: 'other-bucket' }),
  ];

  test('the same findings whatever the input order', () => {
    const selected = selectAll(records);
    const expected = rule.correlate(selected, D, options());
    expect(expected.map((f) => f.id)).toEqual([findingId(RULE_ID, 'c1'), findingId(RULE_ID, 'c2'), findingId(RULE_ID, 'a1')]);
    for (const rotate of [0, 1, 2, 3, 4, 5]) expect(rule.correlate(reorder(selected, rotate), D, options())).toEqual(expected);
  });

  test('duplicate inputs change nothing', () => {
    const selected = selectAll(records);
    const expected = rule.correlate(selected, D, options());
    const doubled = rule.correlate([...reorder(selected, 2), ...selected, ...selected], D, options());
    expect(doubled).toEqual(expected);
    expect(doubled[0]).toMatchObject({ count: 3, putObjectEventIds: ['p1', 'p2'], sourceIpAddress: '192.0.2.1' });
  });

  test('copies of an eventID that differ: the earliest copy counts, in either order; at the same time, the first given', () => {
    const [elsewhere, joined] = selectAll([
      put('p1', '2026-11-25T11:00:20Z', { bucket: 'other-bucket' }),
      put('p1', '2026-11-25T11:00:40Z', { sourceIPAddress: '192.0.2.40' }),
    ]);
    const c1 = selectAll([command('c1', '2026-11-25T11:00:00Z', 'exfil-bucket', { commandId: 'cmd-1' })]);
    expect(rule.correlate([...c1, elsewhere, joined], D, options())).toEqual([]);
    expect(rule.correlate([...c1, joined, elsewhere], D, options())).toEqual([]);
    const sameTime = { ...elsewhere, eventTimeMs: joined.eventTimeMs };
    expect(rule.correlate([...c1, sameTime, joined], D, options())).toEqual([]);
    expect(rule.correlate([...c1, joined, sameTime], D, options())).toMatchObject([{ putObjectEventIds: ['p1'], sourceIpAddress: '192.0.2.40' }]);
  });
});

describe('rawSkip: the raw test before parsing never drops a put select would keep', () => {
  /** whether the reader hands the record on to be parsed (not ruled out by the skip test), on both routes */
  const test1 = (record: CloudTrailRecord | string, input: Record<string, unknown> = {}) => {
    const configured = options(input);
    const matcher = candidateMatcher([{ ...rule.candidates(configured), rawSkip: rule.rawSkip!(configured) }]);
    const document = Buffer.from(`{"Records":[${typeof record === 'string' ? record : JSON.stringify(record)}]}`);
    const reader = new RecordsReader(matcher);
    reader.push(document);
    const inJs = reader.end().candidates.length > 0;
    const native = nativeScanner()!;
    const found = native.findRecords(
      document,
      matcher.nameBuffers,
      matcher.containsBuffers,
      matcher.skipTests.map((t) => [t.topLevelKey, t.everyKey]),
      matcher.skipsByName.map((t) => Int32Array.from(t)),
    );
    expect(found.length > 3).toBe(inJs);
    return inJs;
  };

  test('covers the puts the options select, and no command; none when the rule is off', () => {
    expect(rule.rawSkip!(options())).toEqual({ eventNames: ['PutObject'], everyValueOf: 'accountId', topLevelValueOf: 'recipientAccountId' });
    expect(rule.rawSkip!(options({ includeMultipartUploads: true }))?.eventNames).toEqual(['PutObject', 'CreateMultipartUpload', 'CompleteMultipartUpload']);
    expect(rule.rawSkip!(options({ enabled: false }))).toBeUndefined();
  });

  const puts: [string, CloudTrailRecord][] = [
    ['a foreign put', s3Put()],
    ['an own put', s3Put({ bucketOwner: ACCOUNT })],
    ['a put with a blank owner', s3Put({ bucketOwner: '' })],
    ['a put with no owner', s3Put({ bucketOwner: null })],
    ['a put with a numeric owner', s3Put({ resources: [{ type: 'AWS::S3::Bucket', accountId: 444455556666 as unknown as string }] })],
    ['a put with a null owner', s3Put({ resources: [{ type: 'AWS::S3::Bucket', accountId: null }] })],
    ['a put with no recipientAccountId', { ...s3Put(), recipientAccountId: undefined }],
    ['a put with an empty recipientAccountId', s3Put({ recipientAccountId: '' })],
    ['an own put by a caller from another account', s3Put({ bucketOwner: ACCOUNT, userIdentity: iamUser('bob', FOREIGN_ACCOUNT) })],
    ['a foreign put with an escaped character', s3Put({ key: 'out/"quoted"/x' })],
    ['a multipart completion into a foreign bucket', s3Put({ eventName: 'CompleteMultipartUpload' })],
    ...loadSample('panther_s3_putobject_data_events.json').map((r, i): [string, CloudTrailRecord] => [`panther sample ${i}`, r]),
    ...loadSample('awsdoc_s3outposts_putobject_crossaccount.json').map((r, i): [string, CloudTrailRecord] => [`s3 outposts sample ${i}`, r]),
    ...Object.entries(loadSampleJson<Record<string, { resources: ResourceRef[] }>>('awsdoc_s3_resources_bucket_owner_redaction.json')).map(
      ([name, { resources }]): [string, CloudTrailRecord] => [`owner redaction sample "${name}"`, s3Put({ resources })],
    ),
  ];

  test.each(puts)('%s: kept by select implies kept by the raw test', (_name, record) => {
    for (const input of [{}, { includeMultipartUploads: true }]) {
      if (rule.select(record, options(input))) expect(test1(record, input)).toBe(true);
    }
  });

  test("says no to puts into the account's own buckets, and to puts with a blank owner", () => {
    expect(test1(s3Put({ bucketOwner: ACCOUNT }))).toBe(false);
    expect(test1(s3Put({ bucketOwner: '' }))).toBe(false);
    expect(test1(s3Put({ bucketOwner: null }))).toBe(false);
  });

  test('says yes whenever it cannot be sure, and always to commands', () => {
    expect(test1(s3Put())).toBe(true);
    expect(test1({ ...s3Put({ bucketOwner: ACCOUNT }), recipientAccountId: undefined })).toBe(true);
    // an escape anywhere else does not matter; an escaped key (it may spell accountId) or owner does
    expect(test1(s3Put({ bucketOwner: ACCOUNT, key: 'a\\b' }))).toBe(false);
    const own = JSON.stringify(s3Put({ bucketOwner: ACCOUNT }));
    expect(test1(own.replace(/"accountId"/g, '"acc\\u006funtId"'))).toBe(true);
    expect(test1(own.replace(`"accountId":"${ACCOUNT}"`, `"accountId":"${ACCOUNT.slice(0, -1)}\\u003${ACCOUNT.slice(-1)}"`))).toBe(true);
    expect(test1(own)).toBe(false);
    // a recipientAccountId nested elsewhere is not the record's own (issue 12, case 5)
    expect(test1({ ...s3Put({ bucketOwner: ACCOUNT }), recipientAccountId: undefined, additionalEventData: { recipientAccountId: ACCOUNT } })).toBe(true);
    expect(test1(s3Put({ resources: [{ type: 'AWS::S3::Bucket', accountId: null }] }))).toBe(true);
    expect(test1(s3Put({ bucketOwner: ACCOUNT, userIdentity: iamUser('bob', FOREIGN_ACCOUNT) }))).toBe(true);
    expect(test1(sendCommand())).toBe(true);
    expect(test1(createAssociation())).toBe(true);
  });
});
