/**
 * Rule 2, Suspicious command sent to EC2 (seed: Microsoft Sentinel AWS_SuspiciousCommandEC2.yaml,
 * version 1.0.1; period and frequency 1 day, suppression PT1H disabled). Its card is
 * `ssmOutputToForeignBucket` at the end of this file.
 *
 * A successful SSM SendCommand / CreateAssociation that names an S3 output bucket, joined on that exact
 * bucket with a successful PutObject whose bucket belongs to another account than the one that logged
 * the put: command output sent to a foreign bucket. One finding per command eventID.
 * Semantics, deviations and options: docs/rules.md, "Rule 2".
 */
import { z } from 'zod';
import { accountOf, eventTimeMs, isEmpty, isoUtc, lastSegment, malformedReason, str, userOf, type CloudTrailRecord } from '../cloudtrail/record';
import { parseIsoDuration } from '../config/duration';
import { defineRule, findingHeader, present } from './define';
import { excludeEntry, isExcluded, isoDuration, suppressionOptions } from './options';
import type { CommonFinding, RawSkipTest, ScanPeriod, SelectedEvent } from './types';

const RULE_ID = '21702832-aff3-4bd6-a8e1-663b6818503d' as const;
const COMMAND_EVENT_NAMES = ['SendCommand', 'CreateAssociation'];
const MULTIPART_EVENT_NAMES = ['CreateMultipartUpload', 'CompleteMultipartUpload'];

export const optionsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Allowlist on the command: entries matching user, userIdentity.arn (glob), documentName or accountId. */
  exclude: z.array(excludeEntry).default([]),
  suppression: suppressionOptions({ enabled: false, duration: 'PT1H', keyFields: ['commandEventId'] }),
  /** Join puts in [start, end) with commands in [start - commandLookback, end) (seed: no lookback). */
  commandLookback: isoDuration.optional(),
  /** A put joins a command only if its key contains the command's executionId. */
  matchExecutionIdInKey: z.boolean().default(false),
  /** CreateMultipartUpload and CompleteMultipartUpload count as puts. */
  includeMultipartUploads: z.boolean().default(false),
});
export type SsmOutputToForeignBucketOptions = z.output<typeof optionsSchema>;

export interface SsmOutputToForeignBucketFinding extends CommonFinding {
  ruleId: typeof RULE_ID;
  s3Bucket: string;
  bucketOwnerAccountId: string;
  commandEventId: string;
  commandEventName: string;
  executionId: string;
  commandUser: string;
  commandUserArn: string;
  commandSourceIpAddress: string;
  documentName: string;
  instanceIds?: string[];
  targets?: unknown;
  awsRegion: string;
  accountName: string;
  accountUpnSuffix: string;
  recipientAccountId: string;
  sourceIpAddress: string;
  putObjectEventIds: string[];
}

export interface SsmCommandSelected extends SelectedEvent {
  kind: 'command';
  bucket: string;
  executionId: string;
  commandEventName: string;
  commandUser: string;
  commandUserArn: string;
  commandSourceIpAddress: string;
  documentName: string;
  instanceIds?: string[];
  targets?: unknown;
  awsRegion: string;
}

export interface ForeignPutSelected extends SelectedEvent {
  kind: 'put';
  bucket: string;
  key: string;
  bucketOwnerAccountId: string;
  recipientAccountId: string;
  sourceIpAddress: string;
  accountName: string;
  accountUpnSuffix: string;
}

export type SsmOutputToForeignBucketSelected = SsmCommandSelected | ForeignPutSelected;

/** KQL property path on dynamic: undefined as soon as a step is not a JSON object. */
function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const name of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[name];
  }
  return current;
}

function succeeded(record: CloudTrailRecord): boolean {
  return isEmpty(record.errorCode) && isEmpty(record.errorMessage);
}

function selectCommand(record: CloudTrailRecord, options: SsmOutputToForeignBucketOptions): SsmCommandSelected | undefined {
  const eventName = record.eventName;
  const request = record.requestParameters;
  if (typeof eventName !== 'string' || !COMMAND_EVENT_NAMES.includes(eventName) || !succeeded(record)) return undefined;
  if (str(field(request, 'parameters')) === '') return undefined;
  const named = field(request, 'outputS3BucketName');
  const bucket = isEmpty(named) ? field(request, 'outputLocation', 's3Location', 'outputS3BucketName') : named;
  // docs/rules.md "String fields": a bucket that is not a string matches no put, so the command can never join
  if (typeof bucket !== 'string' || bucket === '') return undefined;
  const documentName = str(field(request, eventName === 'CreateAssociation' ? 'name' : 'documentName'));
  const commandUser = userOf(record);
  const commandUserArn = str(record.userIdentity?.arn);
  if (isExcluded(options.exclude, { user: commandUser, arn: commandUserArn, documentName, accountId: accountOf(record) })) {
    return undefined;
  }
  const command: SsmCommandSelected = {
    kind: 'command',
    eventID: record.eventID as string,
    eventTimeMs: eventTimeMs(record) as number,
    bucket,
    executionId: str(field(record.responseElements, 'command', 'commandId')) || str(field(record.responseElements, 'associationDescription', 'associationId')),
    commandEventName: eventName,
    commandUser,
    commandUserArn,
    commandSourceIpAddress: str(record.sourceIPAddress),
    documentName,
    awsRegion: str(record.awsRegion),
  };
  const instanceIds = field(request, 'instanceIds');
  if (Array.isArray(instanceIds)) command.instanceIds = instanceIds.map(str);
  const targets = field(request, 'targets');
  if (!isEmpty(targets)) command.targets = targets;
  return command;
}

/** The Sentinel entity: "Anonymous", else userName, else the arn's last segment; split at the first "@". */
function accountEntity(record: CloudTrailRecord): { accountName: string; accountUpnSuffix: string } {
  const identity = record.userIdentity ?? {};
  const name = str(identity.principalId) === 'Anonymous' ? 'Anonymous' : !isEmpty(identity.userName) ? str(identity.userName) : lastSegment(str(identity.arn));
  const at = name.indexOf('@');
  return at < 0 ? { accountName: name, accountUpnSuffix: '' } : { accountName: name.slice(0, at), accountUpnSuffix: name.slice(at + 1) };
}

function selectPut(record: CloudTrailRecord, options: SsmOutputToForeignBucketOptions): ForeignPutSelected | undefined {
  const eventName = record.eventName;
  const isPut = eventName === 'PutObject' || (options.includeMultipartUploads && typeof eventName === 'string' && MULTIPART_EVENT_NAMES.includes(eventName));
  if (!isPut || !succeeded(record)) return undefined;
  const bucket = field(record.requestParameters, 'bucketName');
  if (typeof bucket !== 'string' || bucket === '') return undefined;
  const recipientAccountId = str(record.recipientAccountId);
  // Deviation: a blank resource accountId (owner unknown) never makes a put foreign.
  const foreign = (Array.isArray(record.resources) ? record.resources : []).find(
    (e) => !isEmpty(field(e, 'accountId')) && str(field(e, 'accountId')) !== recipientAccountId,
  );
  if (foreign === undefined) return undefined;
  return {
    kind: 'put',
    eventID: record.eventID as string,
    eventTimeMs: eventTimeMs(record) as number,
    bucket,
    key: str(field(record.requestParameters, 'key')),
    bucketOwnerAccountId: str(foreign.accountId),
    recipientAccountId,
    sourceIpAddress: str(record.sourceIPAddress),
    ...accountEntity(record),
  };
}

/**
 * Most puts are into the account's own buckets. A put whose every accountId is blank or its own top-level
 * recipientAccountId cannot be foreign, so it need not be parsed; commands always are.
 */
function rawSkip(options: SsmOutputToForeignBucketOptions): RawSkipTest | undefined {
  if (!options.enabled) return undefined;
  const puts = ['PutObject', ...(options.includeMultipartUploads ? MULTIPART_EVENT_NAMES : [])];
  return { eventNames: puts, everyValueOf: 'accountId', topLevelValueOf: 'recipientAccountId' };
}

function select(record: CloudTrailRecord, options: SsmOutputToForeignBucketOptions): SsmOutputToForeignBucketSelected | undefined {
  if (!options.enabled || malformedReason(record) !== undefined) return undefined;
  return selectCommand(record, options) ?? selectPut(record, options);
}

/** The puts: S3 data events, which only an S3 trail (never LookupEvents) holds. */
function putEventNames(options: SsmOutputToForeignBucketOptions): string[] {
  return options.enabled ? ['PutObject', ...(options.includeMultipartUploads ? MULTIPART_EVENT_NAMES : [])] : [];
}

function eventNames(options: SsmOutputToForeignBucketOptions): string[] {
  return options.enabled ? [...COMMAND_EVENT_NAMES, ...putEventNames(options)] : [];
}

function lookbackMs(options: SsmOutputToForeignBucketOptions): number {
  return options.commandLookback === undefined ? 0 : parseIsoDuration(options.commandLookback);
}

/** Earliest by (eventTimeMs, eventID): the representative put, and a total order for the evidence. */
function byTimeThenId(a: SelectedEvent, b: SelectedEvent): number {
  return a.eventTimeMs - b.eventTimeMs || (a.eventID < b.eventID ? -1 : a.eventID > b.eventID ? 1 : 0);
}

function correlate(
  selected: SsmOutputToForeignBucketSelected[],
  period: ScanPeriod,
  options: SsmOutputToForeignBucketOptions,
): SsmOutputToForeignBucketFinding[] {
  if (!options.enabled) return [];
  // One event per eventID, the earliest copy (the first in input order among equals), so the result never
  // depends on input order or duplicates.
  const unique = new Map<string, SsmOutputToForeignBucketSelected>();
  for (const event of selected) {
    const kept = unique.get(event.eventID);
    if (kept === undefined || byTimeThenId(event, kept) < 0) unique.set(event.eventID, event);
  }

  const commandStartMs = period.startMs - lookbackMs(options);
  const commands: SsmCommandSelected[] = [];
  for (const event of unique.values()) {
    if (event.kind === 'command' && event.eventTimeMs >= commandStartMs && event.eventTimeMs < period.endMs) commands.push(event);
  }
  // most foreign puts go to buckets no command names: only the others are grouped and put in order
  const commandBuckets = new Set(commands.map((command) => command.bucket));
  const putsByBucket = new Map<string, ForeignPutSelected[]>();
  for (const event of unique.values()) {
    if (event.kind !== 'put' || !commandBuckets.has(event.bucket) || event.eventTimeMs < period.startMs || event.eventTimeMs >= period.endMs) continue;
    const puts = putsByBucket.get(event.bucket) ?? [];
    puts.push(event);
    putsByBucket.set(event.bucket, puts);
  }
  for (const puts of putsByBucket.values()) puts.sort(byTimeThenId);

  const findings: SsmOutputToForeignBucketFinding[] = [];
  for (const command of commands) {
    if (command.bucket === '') continue;
    const bucketPuts = putsByBucket.get(command.bucket) ?? [];
    const puts = options.matchExecutionIdInKey ? bucketPuts.filter((put) => command.executionId !== '' && put.key.includes(command.executionId)) : bucketPuts;
    if (puts.length === 0) continue;
    // puts are in (eventTimeMs, eventID) order: the first is the representative, first and last bound the span
    const representative = puts[0];
    const firstMs = Math.min(command.eventTimeMs, puts[0].eventTimeMs);
    const lastMs = Math.max(command.eventTimeMs, puts[puts.length - 1].eventTimeMs);
    const putObjectEventIds = puts.map((p) => p.eventID).sort();
    const eventIds = [command.eventID, ...putObjectEventIds].sort();
    const finding: SsmOutputToForeignBucketFinding = {
      ...findingHeader(ssmOutputToForeignBucket, [command.eventID]),
      s3Bucket: command.bucket,
      bucketOwnerAccountId: representative.bucketOwnerAccountId,
      commandEventId: command.eventID,
      commandEventName: command.commandEventName,
      executionId: command.executionId,
      commandUser: command.commandUser,
      commandUserArn: command.commandUserArn,
      commandSourceIpAddress: command.commandSourceIpAddress,
      documentName: command.documentName,
      awsRegion: command.awsRegion,
      accountName: representative.accountName,
      accountUpnSuffix: representative.accountUpnSuffix,
      recipientAccountId: representative.recipientAccountId,
      sourceIpAddress: representative.sourceIpAddress,
      putObjectEventIds,
      firstSeen: isoUtc(firstMs),
      lastSeen: isoUtc(lastMs),
      count: eventIds.length,
      eventIds,
    };
    if (command.instanceIds !== undefined) finding.instanceIds = [...command.instanceIds];
    if (command.targets !== undefined) finding.targets = command.targets;
    findings.push(finding);
  }
  return findings.sort(
    (a, b) => Date.parse(a.firstSeen) - Date.parse(b.firstSeen) || (a.commandEventId < b.commandEventId ? -1 : a.commandEventId > b.commandEventId ? 1 : 0),
  );
}

function view(f: SsmOutputToForeignBucketFinding) {
  const puts = f.putObjectEventIds.length;
  const putter = `${f.accountName}${f.accountUpnSuffix ? `@${f.accountUpnSuffix}` : ''}`;
  return {
    title:
      `${f.commandEventName} by ${f.commandUser || 'an unknown caller'} sent its output to s3://${f.s3Bucket}, ` +
      `a bucket of account ${f.bucketOwnerAccountId} (${puts} put${puts === 1 ? '' : 's'} by ${putter || 'an unknown caller'})`,
    fields: {
      Account: f.recipientAccountId,
      User: f.commandUser,
      'User ARN': f.commandUserArn,
      'Command from': f.commandSourceIpAddress,
      Command: `${f.commandEventName} ${f.documentName}`.trim(),
      Bucket: `${f.s3Bucket} (owner ${f.bucketOwnerAccountId})`,
      'Put by': `${putter} from ${f.sourceIpAddress}`,
      Region: f.awsRegion,
      Time: f.firstSeen === f.lastSeen ? f.firstSeen : `${f.firstSeen} .. ${f.lastSeen}`,
    },
    accountId: f.recipientAccountId,
    ...(f.awsRegion ? { region: f.awsRegion } : {}),
    // the sender first (by name, then ARN), then who put the output
    users: present(f.commandUser, f.commandUserArn, putter),
    ips: present(f.commandSourceIpAddress, f.sourceIpAddress),
    buckets: present(f.s3Bucket),
  };
}

export const ssmOutputToForeignBucket = defineRule<SsmOutputToForeignBucketOptions, SsmOutputToForeignBucketSelected, SsmOutputToForeignBucketFinding>({
  id: RULE_ID,
  name: 'Suspicious command sent to EC2',
  description:
    'A successful SSM SendCommand or CreateAssociation named an S3 output bucket, and that bucket received a successful PutObject ' +
    'while it belongs to another account than the one that logged the put: command output sent out of the account.',
  severity: 'High',
  attacks: [
    {
      tactic: { id: 'TA0002', name: 'Execution' },
      technique: { id: 'T1204', name: 'User Execution' },
      reference: 'https://attack.mitre.org/techniques/T1204/',
    },
  ],
  references: [
    'https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Amazon%20Web%20Services/Analytic%20Rules/AWS_SuspiciousCommandEC2.yaml',
    'https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-rc-setting-up-cmdsec.html',
  ],
  falsePositives: ['A central logging or operations account that collects SSM command output from member accounts in its own bucket: see the exclude option.'],
  runbook: [
    'Verify the command with its sender (the command user): who asked for it, and why its output goes to another account.',
    'Check who owns the bucket (bucketOwnerAccountId) and whether that account belongs to your organisation.',
    'Read the command (document and parameters) and the objects put (putObjectEventIds) for what left the account.',
    "If unexpected: revoke the sender's sessions and keys, block the bucket in the instances' VPC endpoint policy, and isolate the instances.",
  ],
  optionsSchema,
  candidates: (options) => ({ equals: eventNames(options), contains: [] }),
  eventNames,
  dataEventNames: putEventNames,
  lookbackMs,
  select,
  rawSkip,
  correlate,
  identity: (f) => [f.commandEventId],
  view,
});
