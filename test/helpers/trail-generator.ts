/**
 * Seeded CloudTrail trails (a few log files of tens of records) that are valid JSON written in every
 * way JSON allows, for the reader's differential test (test/cloudtrail/differential.test.ts): what
 * trailwarden finds in them must be what reference-evaluator.ts finds by parsing every file whole.
 *
 * The records are real-shaped (test/rules/fixtures.ts, test/fixtures/cloudtrail-samples); the traps are
 * in how they are written (json-writer.ts) and what surrounds them: repeated keys (JSON.parse keeps the
 * last), complete record look-alikes nested in records and in other top-level keys, a second "Records"
 * key, strings holding record separators, numbers JSON.parse cannot give back, event names that contain
 * SendCommand, puts whose own recipientAccountId is absent, malformed records, duplicates across and
 * within files, a byte order mark, gzip (by content, in several members), huge records, and corrupt
 * files (which contribute no record at all).
 *
 * One limitation, which the reader's design allows (it learns the eventID of a record only when some
 * rule could select the record by its eventName): copies of one eventID that differ are either both
 * commands (an eventName that contains SendCommand, or CreateAssociation) or both PutObject with the
 * same recipientAccountId and resources. Identical copies can be of any record.
 */
import { gzipSync } from 'node:zlib';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { createAssociation, iamUser, instanceRole, loadSample, s3Put, sendCommand, ssoSession } from '../rules/fixtures';
import { Dice, JsonWriter, Members, Raw, type Style, Styled, chaotic, compact, compactSpelled, pretty } from './json-writer';

export const OWN = '111122223333';
export const FOREIGN = '444455556666';
export const THIRD = '777788889999';
export const REGION = 'us-east-1';

export interface TrailFile {
  /** in the CloudTrail key layout; keys sort in file order */
  key: string;
  bytes: Buffer;
  /** how the file was written, for failure messages */
  notes: string[];
}

export interface Trail {
  seed: number;
  files: TrailFile[];
}

const BUCKETS = ['exfil-bucket', 'ssm-output-bucket', 'own-logs', 'shared-out'];
/**
 * Bucket values that are not strings (docs/rules.md "String fields": they match nothing); a command's never
 * stringifies like a put's, so no finding depends on how the rules compare them.
 */
const COMMAND_ODD_BUCKETS = [new Raw('12345678901234567890123'), new Raw('1e400'), 7, false];
const PUT_ODD_BUCKETS = [{ name: 'exfil-bucket' }, ['exfil-bucket'], true, new Raw('-0'), null];

/** Names every rule 1 match needs (eventName contains SendCommand) or rule 2 selects. */
const COMMAND_NAMES = [
  'SendCommand',
  'SendCommand',
  'SendCommand',
  'CreateAssociation',
  'SendCommandX',
  'xSendCommand',
  'SendCommandViaProxy',
  'SendCommand\u00e9',
  '☃SendCommand',
];
/** Names that look like selected ones but are not (case, spacing, a Cyrillic "е", a NUL). */
const NEAR_MISS_NAMES = [
  'sendCommand',
  'Send Command',
  'SendComman',
  'S\u0435ndCommand',
  'CreateAssociationBatch',
  'createAssociation',
  'PutObjectAcl',
  'PutObjectTagging',
  'putObject',
  ' PutObject',
  'PutObject ',
  'PutObject\u0000',
  'CreateAssociation\n',
];
const NOISE_NAMES = ['DescribeInstances', 'GetObject', 'ListBuckets', 'AssumeRole', 'GetCommandInvocation', 'ListCommands', 'DescribeInstanceInformation', ''];
/** eventName values that are not strings: never selected, whatever str() of them holds. */
const ODD_NAMES: unknown[] = [42, null, true, new Raw('1e400'), { name: 'SendCommand' }, ['PutObject'], { eventName: 'SendCommand' }, []];

/** Text that holds record separators, event names, escapes' text and non-ASCII: only ever inside strings. */
const TRAPS = [
  '},{"eventVersion":',
  '},{"eventVersion":"1.08","eventID":"trap-id","eventTime":"2026-11-25T10:00:00Z","eventName":"SendCommand"}',
  '"eventName":"SendCommand"',
  '"eventName" : "PutObject"',
  '{"Records":[',
  ']}',
  '}]}',
  '"recipientAccountId":"444455556666"',
  '"accountId":"444455556666"',
  '\\',
  '\\"',
  '"',
  '\\u0053endCommand',
  'SendCommand',
  '\u2028\u2029',
  '\u0000\u001f',
  'émile ☃ 😀',
  '\ud83d',
  '/* not a comment */',
];

/** Valid JSON numbers, some of which JSON.parse cannot give back exactly. */
const NUMBERS = ['-0', '1e400', '-1e400', '1E-7', '12345678901234567890123', '0.0', '-0.0e-0', '1e-400', '123.456e+2', '9007199254740993', '0'];

/** Event times that make a record malformed: not YYYY-MM-DDTHH:MM:SS[.fraction]Z, or no such instant. */
const BAD_TIMES: unknown[] = [
  '2026-11-25 10:00:00Z',
  '2026-11-32T10:00:00Z',
  '2026-11-25T10:00:00',
  '2026-11-25T10:00:00+00:00',
  '2026-11-25t10:00:00z',
  '2026-11-25T10:00Z',
  '2026-11-25T10:00:00.Z',
  '20261125T100000Z',
  'Nov 25, 2026, 10:00:00 AM',
  '',
  ' 2026-11-25T10:00:00Z',
  '2026-11-25T10:00:00Z ',
  '2026-13-25T10:00:00Z',
  '2026-11-25T25:00:00Z',
  1795600800000,
  null,
  true,
  {},
  ['2026-11-25T10:00:00Z'],
  new Raw('1e400'),
];
const BAD_IDS: unknown[] = ['', null, 123, ['id'], { id: 'x' }, true];

/** The strings the reader compares: the writer spells them with escapes now and then. */
const SPELLED = new Set([
  'Records',
  'eventVersion',
  'eventID',
  'eventTime',
  'eventName',
  'eventSource',
  'recipientAccountId',
  'accountId',
  'resources',
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'userIdentity',
  'userName',
  'arn',
  'principalId',
  'bucketName',
  'outputS3BucketName',
  'outputLocation',
  's3Location',
  'parameters',
  'errorCode',
  'errorMessage',
  'commandId',
  'command',
  'SendCommand',
  'CreateAssociation',
  'PutObject',
  'SendCommandViaProxy',
  'ssm.amazonaws.com',
  's3.amazonaws.com',
  OWN,
  FOREIGN,
  THIRD,
  'alice',
  'bob',
  ...BUCKETS,
]);

const SAMPLE_FILES = [
  'otrf_ec2_proxy_s3_exfiltration_subset.json',
  'stratus_ec2_steal_instance_credentials_subset.json',
  'stratus_ssm_send_command.json',
  'panther_ssm_send_command_assumedrole.json',
  'panther_s3_putobject_data_events.json',
  'awsdoc_s3outposts_putobject_crossaccount.json',
];
const SAMPLES: readonly CloudTrailRecord[] = SAMPLE_FILES.flatMap((file) => loadSample(file));

type Group = 'command' | 'put' | 'other';

function isObject(value: unknown): value is CloudTrailRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Raw) && !(value instanceof Members);
}

/** Which copies of this record may differ (see the limitation above). */
function groupOf(record: unknown): Group {
  if (!isObject(record)) return 'other';
  const name = record.eventName;
  if (typeof name === 'string' && (name.includes('SendCommand') || name === 'CreateAssociation')) return 'command';
  return name === 'PutObject' ? 'put' : 'other';
}

/** A deep copy of plain data; Raw values are immutable and shared. */
function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T;
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) as T;
  return value;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

// ---- record fields ------------------------------------------------------------------------------

function inDayTime(d: Dice): string {
  const roll = d.float();
  // most in a busy 20 minutes, so that rule 1's 5-minute windows gather several events
  if (roll < 0.6) return `2026-11-25T10:${pad(d.int(0, 19))}:${pad(d.int(0, 59))}Z`;
  if (roll < 0.8) return `2026-11-25T${pad(d.int(0, 23))}:${pad(d.int(0, 59))}:${pad(d.int(0, 59))}Z`;
  if (roll < 0.9) return `2026-11-25T10:${pad(d.int(0, 19))}:${pad(d.int(0, 59))}.${d.text(d.int(1, 9), '0123456789')}Z`;
  return d.pick([
    '2026-11-25T00:00:00Z',
    '2026-11-25T00:00:00.000Z',
    '2026-11-25T23:59:59Z',
    '2026-11-25T23:59:59.999Z',
    '2026-11-25T10:04:59.999Z',
    '2026-11-25T10:05:00Z',
  ]);
}

/** Just outside the scan day (2026-11-24T23:30 is inside a one-hour command look-back). */
function outsideTime(d: Dice): string {
  return d.pick([
    '2026-11-24T23:59:59Z',
    '2026-11-24T23:59:59.999999Z',
    '2026-11-26T00:00:00Z',
    '2026-11-26T00:00:00.000Z',
    '2026-11-24T10:00:00Z',
    '2026-11-26T10:00:00Z',
    '2026-11-24T23:30:00Z',
    // Date.parse rolls a 31st of November over into December: a valid time, the day after
    '2026-11-31T10:00:00Z',
  ]);
}

function eventTime(d: Dice): string {
  return d.chance(0.88) ? inDayTime(d) : outsideTime(d);
}

function identity(d: Dice): unknown {
  return d.pick([
    () => iamUser('alice'),
    () => iamUser('alice'),
    () => iamUser('bob'),
    () => iamUser('alice', FOREIGN),
    () => ssoSession('carol@example.com'),
    () => instanceRole(),
    () => ({ type: 'AssumedRole', principalId: 'AROAEXAMPLE:dave', arn: `arn:aws:sts::${OWN}:assumed-role/Admin/dave`, accountId: OWN }),
    () => ({ type: 'AWSService', invokedBy: 'ssm.amazonaws.com' }),
    () => ({ type: 'Root', principalId: OWN, arn: '', accountId: OWN }),
    () => ({ type: 'AWSAccount', principalId: 'Anonymous', accountId: 'ANONYMOUS_PRINCIPAL' }),
    () => ({ type: 'IAMUser', userName: 'émile ☃ 😀', accountId: OWN }),
    () => ({ type: 'IAMUser', userName: '', arn: `arn:aws:iam::${OWN}:user/path/to/erin`, accountId: OWN }),
    () => null,
    () => ({}),
  ])();
}

function recipient(d: Dice, record: CloudTrailRecord): void {
  const roll = d.float();
  if (roll < 0.08) delete record.recipientAccountId;
  else if (roll < 0.11) record.recipientAccountId = null;
  else if (roll < 0.13) record.recipientAccountId = '';
}

function failure(d: Dice, record: CloudTrailRecord): void {
  const roll = d.float();
  if (roll < 0.12) Object.assign(record, { errorCode: 'AccessDenied', errorMessage: 'User is not authorized to perform this operation' });
  else if (roll < 0.15) record.errorMessage = 'Throttled';
  else if (roll < 0.18) record.errorCode = d.pick(['', null]);
}

// ---- records ------------------------------------------------------------------------------------

function command(d: Dice, bucket?: unknown): CloudTrailRecord {
  const eventName = d.pick(COMMAND_NAMES);
  const eventID = d.uuid();
  const time = eventTime(d);
  const user = identity(d) as CloudTrailRecord['userIdentity'];
  let record: CloudTrailRecord;
  if (eventName === 'CreateAssociation') {
    record = createAssociation({ eventID, eventTime: time, associationId: d.uuid(), name: d.pick(['AWS-RunShellScript', 'AWS-RunPowerShellScript']) });
    record.userIdentity = user;
    const location = (record.requestParameters as Record<string, any>).outputLocation; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (bucket === undefined) delete (record.requestParameters as Record<string, unknown>).outputLocation;
    else location.s3Location.outputS3BucketName = bucket;
  } else {
    const parameters = d.pick<unknown>([
      'HIDDEN_DUE_TO_SECURITY_REASONS',
      'HIDDEN_DUE_TO_SECURITY_REASONS',
      { commands: ['whoami'] },
      '',
      {},
      [],
      undefined,
      null,
    ]);
    record = sendCommand({
      eventID,
      eventTime: time,
      userIdentity: user as never,
      eventName,
      commandId: d.uuid(),
      parameters,
      documentName: d.pick(['AWS-RunShellScript', 'AWS-RunPowerShellScript']),
    });
    const request = record.requestParameters as Record<string, unknown>;
    if (bucket !== undefined && d.chance(0.2)) request.outputLocation = { s3Location: { outputS3BucketName: bucket } };
    else if (bucket !== undefined) request.outputS3BucketName = bucket;
    if (d.chance(0.2)) request.targets = [{ key: 'tag:Role', values: ['web'] }];
    record.eventSource = d.pick([
      'ssm.amazonaws.com',
      'ssm.amazonaws.com',
      'ssm.amazonaws.com',
      'ssm.amazonaws.com',
      'ssm',
      'ec2.amazonaws.com',
      'SSM.AMAZONAWS.COM',
      'ssm.amazonaws.com.cn',
    ]);
  }
  recipient(d, record);
  failure(d, record);
  return record;
}

function put(d: Dice, bucket: unknown, foreign: boolean): CloudTrailRecord {
  const owner = foreign ? d.pick([FOREIGN, FOREIGN, THIRD]) : d.pick<string | null>([OWN, OWN, '', null]);
  const record = s3Put({
    eventID: d.uuid(),
    eventTime: eventTime(d),
    eventName: d.chance(0.92) ? 'PutObject' : d.pick(['CreateMultipartUpload', 'CompleteMultipartUpload']),
    userIdentity: d.pick([
      instanceRole(),
      instanceRole(),
      iamUser('alice'),
      ssoSession('frank@corp.example'),
      { type: 'AWSAccount', principalId: 'Anonymous' },
    ]),
    bucket: typeof bucket === 'string' ? bucket : 'odd-bucket',
    bucketOwner: owner,
    key: `out/${d.uuid()}/i-0abc1234def567890/awsrunShellScript/0.awsrunShellScript/stdout`,
    sourceIPAddress: d.pick(['203.0.113.9', '198.51.100.20', 's3.amazonaws.com']),
  });
  (record.requestParameters as Record<string, unknown>).bucketName = bucket;
  const roll = d.float();
  if (roll < 0.15) {
    // docs/rules.md: the record's own recipientAccountId, never one nested elsewhere
    delete record.recipientAccountId;
    const nested = d.pick([OWN, owner ?? OWN]);
    (record.additionalEventData as Record<string, unknown>).recipientAccountId = nested;
    // every accountId equal to the nested one: a skip test that took it for the record's own would skip a foreign put
    if (d.chance(0.5)) for (const resource of record.resources ?? []) if (resource.accountId !== undefined) resource.accountId = nested;
  } else if (roll < 0.18) record.recipientAccountId = d.pick(['', null]) as string;
  const resources = d.float();
  if (resources < 0.05) record.resources = [{ type: 'AWS::S3::Bucket', accountId: OWN }, { type: 'AWS::S3::Bucket', accountId: FOREIGN }, { accountId: THIRD }];
  else if (resources < 0.08) record.resources = [{ accountId: '' }, { type: 'AWS::S3::Bucket', accountId: THIRD }];
  else if (resources < 0.11) record.resources = d.pick<unknown>([null, {}, [], undefined, [null, 5]]) as never;
  if (record.resources === undefined) delete record.resources;
  failure(d, record);
  return record;
}

function noise(d: Dice): CloudTrailRecord {
  if (d.chance(0.4)) {
    const sample = clone(d.pick(SAMPLES));
    // a sample of a selected name stays one: its copies then follow the limitation
    return Object.assign(sample, { eventID: d.uuid(), eventTime: eventTime(d) });
  }
  const roll = d.float();
  const eventName = roll < 0.5 ? d.pick(NOISE_NAMES) : roll < 0.8 ? d.pick(NEAR_MISS_NAMES) : d.pick(ODD_NAMES);
  const record: CloudTrailRecord = {
    eventVersion: '1.08',
    userIdentity: identity(d) as CloudTrailRecord['userIdentity'],
    eventTime: eventTime(d),
    eventSource: d.pick(['ec2.amazonaws.com', 'ssm.amazonaws.com', 's3.amazonaws.com', 'sts.amazonaws.com']),
    eventName: eventName as string,
    awsRegion: REGION,
    sourceIPAddress: '198.51.100.8',
    userAgent: 'aws-cli/2.15.30',
    requestParameters: d.pick<unknown>([
      { maxResults: 100 },
      null,
      { bucketName: d.pick(BUCKETS), key: 'x' },
      { outputS3BucketName: d.pick(BUCKETS), parameters: 'x' },
    ]) as never,
    responseElements: null,
    requestID: d.uuid(),
    eventID: d.uuid(),
    eventType: 'AwsApiCall',
    recipientAccountId: OWN,
    resources: [{ type: 'AWS::S3::Bucket', accountId: d.pick([OWN, FOREIGN]) }],
  };
  if (d.chance(0.1)) delete record.eventName;
  return record;
}

/** A record whose eventTime or eventID makes it malformed, or a Records element that is not an object. */
function malformed(d: Dice, base?: CloudTrailRecord): unknown {
  if (!base && d.chance(0.3)) return d.pick<unknown>([5, 'SendCommand', null, true, new Raw('-0'), [command(d)], [], 'x']);
  const record = clone(base ?? (d.chance(0.7) ? command(d) : put(d, d.pick(BUCKETS), true)));
  const roll = d.float();
  if (roll < 0.5) record.eventTime = d.pick(BAD_TIMES) as string;
  else if (roll < 0.65) delete record.eventTime;
  else if (roll < 0.85) record.eventID = d.pick(BAD_IDS) as string;
  else delete record.eventID;
  return record;
}

/** A complete record, inside another one or in another top-level key: never a record itself. */
function lookalike(d: Dice, eventID = d.uuid()): CloudTrailRecord {
  const time = inDayTime(d);
  return d.pick([
    // of a name no rule selects: read as the record's own, it would hide a selected record
    () => ({ ...noise(d), eventID, eventTime: time, eventName: d.pick(NOISE_NAMES), recipientAccountId: FOREIGN }),
    () => sendCommand({ eventID, eventTime: time, userIdentity: iamUser('mallory'), outputS3BucketName: d.pick(BUCKETS), commandId: d.uuid() }),
    () => sendCommand({ eventID, eventTime: time, userIdentity: iamUser('mallory'), eventName: 'SendCommandViaProxy' }),
    () => createAssociation({ eventID, eventTime: time, userIdentity: iamUser('mallory'), bucket: d.pick(BUCKETS) }),
    () => s3Put({ eventID, eventTime: time, bucket: d.pick(BUCKETS), bucketOwner: FOREIGN, userIdentity: iamUser('mallory') }),
  ])();
}

/** Puts look-alikes inside a record, where a reader that only looks for separators and keys would see records. */
function nestLookalikes(d: Dice, record: CloudTrailRecord, lookalikes: CloudTrailRecord[]): void {
  const request = isObject(record.requestParameters) ? record.requestParameters : (record.requestParameters = {});
  d.pick([
    () => (request.items = lookalikes),
    () => (request.items = [{ eventVersion: '1.08', note: 'first' }, ...lookalikes]),
    // between objects that begin like records: each look-alike sits between two record separators
    () => (request.items = [{ eventVersion: '1.08', note: 'first' }, ...lookalikes, { eventVersion: '1.08', note: 'last' }]),
    () => (request.nested = { record: lookalikes[0], more: lookalikes.slice(1) }),
    () => (record.serviceEventDetails = { Records: lookalikes }),
    () => (record.additionalEventData = lookalikes[0]),
    () => (record.responseElements = { history: lookalikes }),
    // only the keys the reader looks for, after the record's own
    () =>
      (request.filter = {
        eventName: d.pick(['DescribeInstances', 'SendCommand', 'PutObject']),
        eventID: d.uuid(),
        eventTime: '2026-11-25 10:00:00Z',
        recipientAccountId: FOREIGN,
      }),
  ])();
}

// ---- differing copies and decoys ----------------------------------------------------------------

/** A copy that differs from the record in what the rules read, within the limitation (see the top). */
function differingCopy(d: Dice, record: CloudTrailRecord, group: Group): CloudTrailRecord {
  const copy = clone(record);
  const request = isObject(copy.requestParameters) ? copy.requestParameters : undefined;
  const changes =
    group === 'command'
      ? [
          () => (copy.userIdentity = iamUser(d.pick(['bob', 'oscar']))),
          () => (copy.eventTime = eventTime(d)),
          () => (copy.eventTime = outsideTime(d)),
          () => (copy.errorCode === undefined ? (copy.errorCode = 'AccessDenied') : delete copy.errorCode),
          () => (copy.eventName = d.pick(COMMAND_NAMES)),
          () => request && (request.outputS3BucketName = d.pick(BUCKETS)),
          () => (copy.sourceIPAddress = '192.0.2.77'),
        ]
      : [
          () => (copy.userIdentity = iamUser(d.pick(['bob', 'oscar']))),
          () => (copy.eventTime = eventTime(d)),
          () => (copy.errorCode === undefined ? (copy.errorCode = 'AccessDenied') : delete copy.errorCode),
          () => request && (request.bucketName = d.pick(BUCKETS)),
          () => (copy.sourceIPAddress = '192.0.2.78'),
        ];
  for (let i = d.int(1, 2); i > 0; i--) d.pick(changes)();
  return copy;
}

/** Members written before the real one of the same key: JSON.parse keeps the last, so they mean nothing. */
function decoys(d: Dice, record: CloudTrailRecord, ids: readonly string[]): [string, unknown][] {
  const options: [string, () => unknown][] = [
    ['eventName', () => d.pick(['SendCommand', 'PutObject', 'CreateAssociation', 'DescribeInstances', 42])],
    ['eventID', () => (ids.length && d.chance(0.5) ? d.pick(ids) : d.uuid())],
    ['eventTime', () => d.pick([inDayTime(d), outsideTime(d), '2026-11-25 10:00:00Z'])],
    ['recipientAccountId', () => d.pick([OWN, FOREIGN, null])],
    ['resources', () => [{ type: 'AWS::S3::Bucket', accountId: FOREIGN }]],
    ['requestParameters', () => ({ outputS3BucketName: 'exfil-bucket', bucketName: 'exfil-bucket', parameters: 'x' })],
    ['userIdentity', () => iamUser('mallory')],
    ['errorCode', () => d.pick([null, 'AccessDenied'])],
  ];
  // the eventName most of all: it decides what is read
  const present = [options[0], ...options].filter(([key]) => record[key] !== undefined);
  return Array.from({ length: Math.min(present.length, d.int(1, 2)) }, () => {
    const [key, value] = d.pick(present);
    return [key, value()];
  });
}

function withDecoys(d: Dice, record: CloudTrailRecord, extra: [string, unknown][], shuffle: boolean): Members {
  const entries: [string | Raw, unknown][] = Object.entries(record).filter(([, v]) => v !== undefined);
  if (shuffle) d.shuffle(entries);
  for (const [key, value] of extra)
    entries.splice(
      d.int(
        0,
        entries.findIndex(([k]) => k === key),
      ),
      0,
      [key, value],
    );
  return new Members(entries);
}

// ---- the trail ----------------------------------------------------------------------------------

interface Entry {
  /** the element as JSON.parse gives it back (Raw: a number JSON.parse cannot give back exactly) */
  record: unknown;
  file: number;
  order: number;
  decoys: [string, unknown][];
}

/** The records of a trail, before they are written: stories of commands and puts, then the rest. */
function entries(d: Dice, fileCount: number): Entry[] {
  const records: unknown[] = [];
  // commands whose output bucket foreign puts join (or not: own puts, puts outside the day)
  for (let i = d.int(0, 3); i > 0; i--) {
    const bucket = d.chance(0.05) ? d.pick(COMMAND_ODD_BUCKETS) : d.pick(BUCKETS);
    records.push(command(d, bucket));
    for (let j = d.int(0, 3); j > 0; j--) records.push(put(d, bucket, d.chance(0.75)));
  }
  for (let i = d.int(3, 25); i > 0; i--) {
    const roll = d.float();
    if (roll < 0.2) records.push(command(d, d.chance(0.6) ? d.pick(BUCKETS) : undefined));
    else if (roll < 0.45) records.push(put(d, d.chance(0.04) ? d.pick(PUT_ODD_BUCKETS) : d.pick(BUCKETS), d.chance(0.5)));
    else if (roll < 0.9) records.push(noise(d));
    else records.push(malformed(d));
  }
  if (d.chance(0.03)) {
    // a huge record (a few MB), of a selected name or not
    const host = records.find(isObject) ?? command(d);
    const script = `#!/bin/sh\n${'echo "},{\\"eventVersion\\":" SendCommand\n'.repeat(d.int(30_000, 90_000))}`;
    host.requestParameters = { ...(isObject(host.requestParameters) ? host.requestParameters : {}), script };
  }
  const objects = records.filter(isObject);
  const ids = objects.map((r) => r.eventID).filter((id): id is string => typeof id === 'string');
  const commandIds = objects.filter((r) => groupOf(r) === 'command').map((r) => r.eventID as string);
  for (const record of objects) {
    if (d.chance(0.12)) {
      // half of them reuse the eventID of a real command, which may lie in a later file
      const reuse = () => (commandIds.length && d.chance(0.5) ? d.pick(commandIds) : d.uuid());
      nestLookalikes(
        d,
        record,
        Array.from({ length: d.int(1, 3) }, () => lookalike(d, reuse())),
      );
    }
    if (d.chance(0.1)) record.userAgent = d.pick(TRAPS);
    if (d.chance(0.1) && isObject(record.requestParameters)) record.requestParameters.comment = d.pick(TRAPS) + d.pick(TRAPS);
    if (d.chance(0.1))
      record.additionalEventData = {
        ...(isObject(record.additionalEventData) ? record.additionalEventData : {}),
        bytesTransferredIn: new Raw(d.pick(NUMBERS)),
      };
  }

  const place = (record: unknown): Entry => ({ record, file: d.int(0, fileCount - 1), order: d.float(), decoys: [] });
  const placed = records.map(place);
  for (const record of objects) {
    const group = groupOf(record);
    if (d.chance(group === 'other' ? 0.05 : 0.12)) placed.push(place(clone(record)));
    if (group !== 'other' && d.chance(0.12)) placed.push(place(differingCopy(d, record, group)));
    // a malformed copy claims nothing: a well-formed copy anywhere still counts
    if (d.chance(0.05)) placed.push(place(malformed(d, record)));
  }
  for (const entry of placed) if (isObject(entry.record) && d.chance(0.12)) entry.decoys = decoys(d, entry.record, ids);
  return placed;
}

type Corruption =
  | 'deep-invalid'
  | 'between-records'
  | 'no-records'
  | 'records-not-array'
  | 'last-records-not-array'
  | 'not-an-object'
  | 'trailing-data'
  | 'truncated-text'
  | 'empty'
  | 'bad-gzip'
  | 'truncated-gzip';

const CORRUPTIONS: Corruption[] = [
  'deep-invalid',
  'deep-invalid',
  'deep-invalid',
  'deep-invalid',
  'deep-invalid',
  'deep-invalid',
  'between-records',
  'no-records',
  'records-not-array',
  'last-records-not-array',
  'not-an-object',
  'trailing-data',
  'truncated-text',
  'empty',
  'bad-gzip',
  'truncated-gzip',
];

/** Text that is not JSON, to write as a value deep inside a record no rule selects. */
const INVALID_VALUES = [
  'tru',
  'nul',
  'True',
  'NaN',
  'Infinity',
  'undefined',
  "'single'",
  '01',
  '1.',
  '.5',
  '+1',
  '0x1F',
  '-',
  '1e',
  '1e+',
  '"\\x41"',
  '"\\u12G4"',
  '"\\u00"',
  '"a\u0001b"',
  '"tab\there"',
  '"line\nbreak"',
  '{"a":1,}',
  '[1,2,]',
  '[,1]',
  '{"a" 1}',
  '{"a":1 "b":2}',
  '{a:1}',
  '{"a":1}}',
  '[1]]',
  '/*c*/1',
  '\f1',
  '\u00a01',
  '\v1',
  '{"a":}',
  '"\\"',
  '{"a":{"b":1},}',
  '{"name":"x","values":[],}',
  '[{"a":1},]',
  '{"a":1,,"b":2}',
  '{"a"}',
  '{"a":1:2}',
  '["a":1]',
];
const INVALID_ELEMENTS = ['', '}', ']', '{"a":1}{"b":2}', ',', '{', '"x":1'];
const NOT_RECORDS_KEYS = ['records', 'Record', 'RECORDS', 'Records ', ' Records', 'Recordss', new Raw('"Rec\\u006frds2"'), new Raw('"Records\\u0000"')];

function fileStyle(d: Dice): Style {
  const roll = d.float();
  if (roll < 0.45) return compact;
  if (roll < 0.6) return compactSpelled;
  if (roll < 0.75) return pretty(d.pick([' ', '  ', '\t', '    ']));
  return chaotic(d.pick([0.01, 0.05, 0.2]));
}

/** A top-level member other than Records: look-alikes, nested "Records" keys, text, numbers. */
function extraMember(d: Dice, ids: readonly string[]): [string, unknown] {
  const reuse = () => (ids.length && d.chance(0.5) ? d.pick(ids) : d.uuid());
  return d.pick<() => [string, unknown]>([
    () => ['digest', lookalike(d, reuse())],
    () => ['moreRecords', [lookalike(d, reuse()), lookalike(d, reuse())]],
    () => ['moreRecords', [{ eventVersion: '1.08', note: 'not a record' }, lookalike(d, reuse())]],
    () => ['records', [lookalike(d, reuse())]],
    () => ['meta', { Records: [lookalike(d, reuse())] }],
    () => ['note', '{"Records":[{"eventVersion":"1.08"}]}'],
    () => ['count', new Raw(d.pick(NUMBERS))],
    () => ['flag', true],
    () => ['nothing', null],
    () => ['list', []],
  ])();
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** gzip in one member, or the bytes cut anywhere (even inside a UTF-8 sequence) into several members. */
function gzip(d: Dice, bytes: Buffer, notes: string[]): { bytes: Buffer; firstMember: number } {
  if (bytes.length < 2 || d.chance(0.7)) {
    const whole = gzipSync(bytes);
    return { bytes: whole, firstMember: whole.length };
  }
  const cuts = [...new Set(Array.from({ length: d.int(1, 2) }, () => d.int(1, bytes.length - 1)))].sort((a, b) => a - b);
  const members = [0, ...cuts].map((start, i) => gzipSync(bytes.subarray(start, i < cuts.length ? cuts[i] : bytes.length)));
  notes.push(`${members.length} gzip members`);
  return { bytes: Buffer.concat(members), firstMember: members[0].length };
}

function writeFile(d: Dice, index: number, records: Entry[], ids: readonly string[]): TrailFile {
  const notes: string[] = [];
  const style = fileStyle(d);
  notes.push(style.name);
  const writer = new JsonWriter(d, SPELLED);
  const elements: unknown[] = records.map((entry) => {
    let value = entry.record;
    if (isObject(value) && entry.decoys.length) {
      value = withDecoys(d, value, entry.decoys, d.chance(style.shuffleRate));
      notes.push(`repeated keys ${entry.decoys.map(([key]) => key).join(',')}`);
    }
    // a record written unlike the rest of a compact file
    if (style.escapeRate === 0 && d.chance(0.08)) value = new Styled(d.pick([chaotic(0.05), pretty('  ')]), value);
    return value;
  });

  let recordsKey: string | Raw = 'Records';
  if (d.chance(0.05)) {
    recordsKey = new Raw('"Rec\\u006frds"');
    notes.push('Records key escaped');
  }
  const members: [string | Raw, unknown][] = [[recordsKey, elements]];
  if (d.chance(0.1)) {
    members.unshift(extraMember(d, ids));
    notes.push('a key before Records');
  }
  if (d.chance(0.18)) {
    members.push(extraMember(d, ids));
    notes.push('a key after Records');
  }
  const secondRecords = d.chance(0.05);
  if (secondRecords && d.chance(0.5)) {
    // JSON.parse keeps the last Records: the first one's elements are not records
    members.splice(members.indexOf(members.find(([k]) => k === recordsKey)!), 0, ['Records', [lookalike(d, d.pick([...ids, d.uuid()])), lookalike(d)]]);
    notes.push('an earlier Records key');
  } else if (secondRecords) {
    members.push(['Records', []]);
    notes.push('a later, empty Records key');
  }

  const corruption = d.chance(0.15) ? d.pick(CORRUPTIONS) : undefined;
  let top: unknown = new Members(members);
  if (corruption) notes.push(`corrupt: ${corruption}`);
  if (corruption === 'deep-invalid') {
    // deep inside a record that no rule selects
    const host = noise(d);
    host.eventName = 'DescribeInstances';
    host.requestParameters = { filters: [{ name: 'instance-state-name', values: ['running', new Raw(d.pick(INVALID_VALUES))] }] };
    elements.splice(d.int(0, elements.length), 0, host);
  } else if (corruption === 'between-records') elements.splice(d.int(0, elements.length), 0, new Raw(d.pick(INVALID_ELEMENTS)));
  else if (corruption === 'no-records') members.forEach((member) => member[0] === recordsKey && (member[0] = d.pick(NOT_RECORDS_KEYS)));
  else if (corruption === 'records-not-array')
    members.forEach(
      (member) => member[0] === recordsKey && (member[1] = d.pick<unknown>([{}, null, 'Records', 5, true, { 0: elements[0] ?? {} }, new Raw('1e400')])),
    );
  else if (corruption === 'last-records-not-array') members.push(['Records', d.pick<unknown>([{}, null, 'x'])]);
  else if (corruption === 'not-an-object') top = d.pick<unknown>([[top], null, '{"Records":[]}', 5]);

  let text = writer.document(top, style);
  if (corruption === 'trailing-data') text += d.pick(['x', '{}', ']', '}', ',', '{"Records":[]}', '\u0000', 'null', '0']);
  else if (corruption === 'truncated-text') text = text.slice(0, d.int(0, text.trimEnd().length - 1));
  else if (corruption === 'empty') text = d.pick(['', ' ', '\n']);

  let bytes: Buffer = Buffer.from(text, 'utf8');
  if (d.chance(0.06)) {
    bytes = Buffer.concat([BOM, bytes]);
    notes.push('byte order mark');
  }
  if (corruption === 'bad-gzip' || corruption === 'truncated-gzip' || d.chance(0.55)) {
    const gzipped = gzip(d, bytes, notes);
    bytes = gzipped.bytes;
    notes.push('gzip');
    if (corruption === 'bad-gzip') {
      // a byte of the first member's deflate data (not its header, whose fields inflaters may read differently)
      const at = d.int(10, Math.max(10, gzipped.firstMember - 9));
      bytes[at] ^= d.int(1, 255);
    } else if (corruption === 'truncated-gzip') bytes = bytes.subarray(0, d.int(2, bytes.length - 1));
  }
  const unique = d.text(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
  const key = `AWSLogs/${OWN}/CloudTrail/${REGION}/2026/11/25/${OWN}_CloudTrail_${REGION}_20261125T10${pad(index * 5)}Z_${unique}.json.gz`;
  return { key, bytes, notes };
}

/** The trail of one seed: 1 to 4 files, in key order. */
export function generateTrail(seed: number): Trail {
  const d = new Dice(seed * 7919 + 17);
  const fileCount = d.int(1, 4);
  const all = entries(d, fileCount);
  const ids = all
    .map((e) => e.record)
    .filter(isObject)
    .map((r) => r.eventID)
    .filter((id): id is string => typeof id === 'string');
  const files = Array.from({ length: fileCount }, (_, index) => {
    const records = all.filter((e) => e.file === index).sort((a, b) => a.order - b.order);
    return writeFile(d, index, records, ids);
  });
  return { seed, files };
}
