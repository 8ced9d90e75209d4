/**
 * Real-shaped CloudTrail records for the rule tests, built from the shapes of the real samples in
 * test/fixtures/cloudtrail-samples (copied from shared/samples/cloudtrail) and from shared/spec/CLOUDTRAIL.md (no public real record exists of
 * CreateAssociation, of SendCommand with an output bucket, or of a PutObject by the SSM agent).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CloudTrailRecord, ResourceRef, UserIdentity } from '../../src/cloudtrail/record';
import type { ScanPeriod, SelectedEvent } from '../../src/rules/types';

export const SAMPLES_DIR = path.resolve(__dirname, '../fixtures/cloudtrail-samples');

/** The records of one sample file (`{"Records":[...]}`), freshly parsed. */
export function loadSample(file: string): CloudTrailRecord[] {
  const body = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, file), 'utf8')) as { Records: CloudTrailRecord[] };
  return body.Records;
}

/** A sample file that is not a log file body (e.g. the resources snippets), freshly parsed. */
export function loadSampleJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, file), 'utf8')) as T;
}

export const ACCOUNT = '111122223333';
export const FOREIGN_ACCOUNT = '444455556666';
export const INSTANCE_ID = 'i-0abc1234def567890';
export const COMMAND_ID = '4e973221-443e-4a56-a0b4-1cb3c7923fc3';
export const ASSOCIATION_ID = 'b6c5a6f4-1d3e-4e8f-9a0b-7c2d1e3f4a5b';

/** Half-open period of one UTC day, as a daily scan of that date uses. */
export function day(date: string): ScanPeriod {
  const startMs = Date.parse(`${date}T00:00:00Z`);
  return { startMs, endMs: startMs + 86_400_000 };
}

/** Half-open period between two instants. */
export function between(start: string, end: string): ScanPeriod {
  return { startMs: Date.parse(start), endMs: Date.parse(end) };
}

// ---- identities -------------------------------------------------------------------------------

export function iamUser(userName = 'alice', accountId = ACCOUNT): UserIdentity {
  return {
    type: 'IAMUser',
    principalId: 'AIDA10CZIPPG73T21TDI',
    arn: `arn:aws:iam::${accountId}:user/${userName}`,
    accountId,
    accessKeyId: 'AKIAW9X2Q2U25SK79UCX',
    userName,
  };
}

/** An IAM Identity Center (SSO) session: the session name is the user's e-mail address. */
export function ssoSession(sessionName = 'alice@example.com', accountId = ACCOUNT, role = 'AWSReservedSSO_AdministratorAccess_0123456789abcdef'): UserIdentity {
  return {
    type: 'AssumedRole',
    principalId: `AROA3EXAMPLEPRINCIPAL:${sessionName}`,
    arn: `arn:aws:sts::${accountId}:assumed-role/${role}/${sessionName}`,
    accountId,
    accessKeyId: 'ASIA3EXAMPLEACCESSKEY',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROA3EXAMPLEPRINCIPAL',
        arn: `arn:aws:iam::${accountId}:role/aws-reserved/sso.amazonaws.com/us-east-1/${role}`,
        accountId,
        userName: role,
      },
      webIdFederationData: {},
      attributes: { creationDate: '2026-11-25T09:00:00Z', mfaAuthenticated: 'false' },
    },
  };
}

/** The instance-profile credentials an SSM agent uses: `assumed-role/<role>/<instanceId>`. */
export function instanceRole(instanceId = INSTANCE_ID, accountId = ACCOUNT, role = 'SsmManagedInstanceRole'): UserIdentity {
  return {
    type: 'AssumedRole',
    principalId: `AROAINSTANCEROLEEXAMPLE:${instanceId}`,
    arn: `arn:aws:sts::${accountId}:assumed-role/${role}/${instanceId}`,
    accountId,
    accessKeyId: 'ASIAP5CT9NN8EYVU1FXV',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAINSTANCEROLEEXAMPLE',
        arn: `arn:aws:iam::${accountId}:role/${role}`,
        accountId,
        userName: role,
      },
      webIdFederationData: {},
      attributes: { creationDate: '2026-11-25T08:00:00Z', mfaAuthenticated: 'false' },
      ec2RoleDelivery: '2.0',
    },
  };
}

// ---- SSM commands -----------------------------------------------------------------------------

export interface SendCommandFixture {
  eventID?: string;
  eventTime?: string;
  userIdentity?: UserIdentity | null;
  recipientAccountId?: string | null;
  eventSource?: string;
  eventName?: string;
  sourceIPAddress?: string;
  documentName?: string;
  instanceIds?: string[];
  targets?: unknown;
  /** requestParameters.parameters; `undefined` removes it */
  parameters?: unknown;
  /** requestParameters.outputS3BucketName, present only when given (as the API logs it) */
  outputS3BucketName?: string;
  outputS3KeyPrefix?: string;
  commandId?: string;
  awsRegion?: string;
  errorCode?: string;
  errorMessage?: string;
}

/** `ssm:SendCommand`, shaped like the stratus-red-team record (shared/samples/.../stratus_ssm_send_command.json). */
export function sendCommand(f: SendCommandFixture = {}): CloudTrailRecord {
  const accountId = f.recipientAccountId === undefined ? ACCOUNT : f.recipientAccountId;
  const failed = f.errorCode !== undefined || f.errorMessage !== undefined;
  const requestParameters: Record<string, unknown> = { documentName: f.documentName ?? 'AWS-RunShellScript', interactive: false };
  const parameters = 'parameters' in f ? f.parameters : 'HIDDEN_DUE_TO_SECURITY_REASONS';
  if (parameters !== undefined) requestParameters.parameters = parameters;
  if (f.targets !== undefined) requestParameters.targets = f.targets;
  else requestParameters.instanceIds = f.instanceIds ?? [INSTANCE_ID];
  if (f.outputS3BucketName !== undefined) requestParameters.outputS3BucketName = f.outputS3BucketName;
  if (f.outputS3KeyPrefix !== undefined) requestParameters.outputS3KeyPrefix = f.outputS3KeyPrefix;
  const record: CloudTrailRecord = {
    eventVersion: '1.08',
    userIdentity: f.userIdentity === undefined ? iamUser('alice', accountId ?? ACCOUNT) : f.userIdentity,
    eventTime: f.eventTime ?? '2026-11-25T10:00:05Z',
    eventSource: f.eventSource ?? 'ssm.amazonaws.com',
    eventName: f.eventName ?? 'SendCommand',
    awsRegion: f.awsRegion ?? 'us-east-1',
    sourceIPAddress: f.sourceIPAddress ?? '198.51.100.7',
    userAgent: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22',
    requestParameters,
    responseElements: failed
      ? null
      : {
          command: {
            commandId: f.commandId ?? COMMAND_ID,
            documentName: f.documentName ?? 'AWS-RunShellScript',
            documentVersion: '$DEFAULT',
            instanceIds: f.targets !== undefined ? [] : (f.instanceIds ?? [INSTANCE_ID]),
            targets: f.targets ?? [],
            outputS3BucketName: f.outputS3BucketName ?? '',
            outputS3KeyPrefix: f.outputS3KeyPrefix ?? '',
            outputS3Region: f.awsRegion ?? 'us-east-1',
            parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS',
            status: 'Pending',
            statusDetails: 'Pending',
            timeoutSeconds: 3600,
          },
        },
    requestID: '1479b5e1-9751-4bf1-b548-cdd8108e85a6',
    eventID: f.eventID ?? 'c0ffee00-0000-4000-8000-000000000001',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', clientProvidedHostHeader: 'ssm.us-east-1.amazonaws.com' },
  };
  if (f.errorCode !== undefined) record.errorCode = f.errorCode;
  if (f.errorMessage !== undefined) record.errorMessage = f.errorMessage;
  return record;
}

export interface CreateAssociationFixture {
  eventID?: string;
  eventTime?: string;
  userIdentity?: UserIdentity;
  recipientAccountId?: string;
  name?: string;
  bucket?: string;
  associationId?: string;
  targets?: unknown;
  parameters?: unknown;
  errorCode?: string;
  errorMessage?: string;
}

/** `ssm:CreateAssociation` with an S3 outputLocation (shape from the SSM API; no public real record exists). */
export function createAssociation(f: CreateAssociationFixture = {}): CloudTrailRecord {
  const accountId = f.recipientAccountId ?? ACCOUNT;
  const targets = f.targets ?? [{ key: 'InstanceIds', values: [INSTANCE_ID] }];
  const outputLocation = { s3Location: { outputS3BucketName: f.bucket ?? 'exfil-bucket', outputS3KeyPrefix: 'assoc-out' } };
  const record: CloudTrailRecord = {
    eventVersion: '1.09',
    userIdentity: f.userIdentity ?? ssoSession('alice@example.com', accountId),
    eventTime: f.eventTime ?? '2026-11-25T10:00:05Z',
    eventSource: 'ssm.amazonaws.com',
    eventName: 'CreateAssociation',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.8',
    userAgent: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22',
    requestParameters: {
      name: f.name ?? 'AWS-RunShellScript',
      targets,
      ...('parameters' in f ? (f.parameters === undefined ? {} : { parameters: f.parameters }) : { parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS' }),
      outputLocation,
      associationName: 'nightly',
    },
    responseElements: {
      associationDescription: {
        name: f.name ?? 'AWS-RunShellScript',
        associationVersion: '1',
        date: 'Nov 25, 2026, 10:00:05 AM',
        overview: { status: 'Pending', detailedStatus: 'Creating' },
        documentVersion: '$DEFAULT',
        parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS',
        associationId: f.associationId ?? ASSOCIATION_ID,
        targets,
        outputLocation,
        associationName: 'nightly',
      },
    },
    requestID: '2a1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    eventID: f.eventID ?? 'c0ffee00-0000-4000-8000-00000000a550',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  };
  if (f.errorCode !== undefined) record.errorCode = f.errorCode;
  if (f.errorMessage !== undefined) record.errorMessage = f.errorMessage;
  return record;
}

// ---- S3 puts ----------------------------------------------------------------------------------

export interface PutFixture {
  eventID?: string;
  eventTime?: string;
  eventName?: string;
  userIdentity?: UserIdentity | null;
  recipientAccountId?: string;
  bucket?: string;
  key?: string;
  /** the bucket owner written in resources[type=AWS::S3::Bucket].accountId; `null` removes it */
  bucketOwner?: string | null;
  resources?: ResourceRef[] | null;
  sourceIPAddress?: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
}

/** The key the SSM agent writes: `<prefix>/<commandId>/<instanceId>/awsrunShellScript/0.awsrunShellScript/<stream>`. */
export function agentKey(commandId = COMMAND_ID, instanceId = INSTANCE_ID, prefix = 'out', stream = 'stdout'): string {
  return `${prefix}/${commandId}/${instanceId}/awsrunShellScript/0.awsrunShellScript/${stream}`;
}

/** An S3 data event, logged to the caller's account, with resources [Object, Bucket+owner]. */
export function s3Put(f: PutFixture = {}): CloudTrailRecord {
  const bucket = f.bucket ?? 'exfil-bucket';
  const key = f.key ?? agentKey();
  const bucketResource: ResourceRef = { type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` };
  const owner = f.bucketOwner === undefined ? FOREIGN_ACCOUNT : f.bucketOwner;
  if (owner !== null) bucketResource.accountId = owner;
  const record: CloudTrailRecord = {
    eventVersion: '1.10',
    userIdentity: f.userIdentity === undefined ? instanceRole() : f.userIdentity,
    eventTime: f.eventTime ?? '2026-11-25T10:00:31Z',
    eventSource: 's3.amazonaws.com',
    eventName: f.eventName ?? 'PutObject',
    awsRegion: 'us-east-1',
    sourceIPAddress: f.sourceIPAddress ?? '203.0.113.9',
    userAgent: f.userAgent ?? '[aws-sdk-go/1.44.260 (go1.20.10; linux; amd64) amazon-ssm-agent/3.3.40.0]',
    requestParameters: { bucketName: bucket, Host: `${bucket}.s3.us-east-1.amazonaws.com`, key },
    responseElements: f.errorCode === undefined ? { 'x-amz-server-side-encryption': 'AES256' } : null,
    additionalEventData: { SignatureVersion: 'SigV4', bytesTransferredIn: 512, bytesTransferredOut: 0 },
    requestID: 'EXAMPLE987654321',
    eventID: f.eventID ?? 'p0000000-0000-4000-8000-000000000001',
    readOnly: false,
    resources: f.resources !== undefined ? f.resources : [{ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` }, bucketResource],
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: f.recipientAccountId ?? ACCOUNT,
    sharedEventID: '02759a4c-c040-4758-b84b-7cbaaf17747a',
    eventCategory: 'Data',
  };
  if (f.errorCode !== undefined) record.errorCode = f.errorCode;
  if (f.errorMessage !== undefined) record.errorMessage = f.errorMessage;
  return record;
}

// ---- helpers ----------------------------------------------------------------------------------

/** Deterministic shuffle (reverse, then rotate) so order-independence tests need no randomness. */
export function reorder<T>(items: readonly T[], rotate = 1): T[] {
  const reversed = [...items].reverse();
  const n = reversed.length === 0 ? 0 : rotate % reversed.length;
  return [...reversed.slice(n), ...reversed.slice(0, n)];
}

/** Parses through JSON: what a selected event looks like after travelling through Temporal. */
export function roundTrip<T extends SelectedEvent>(events: T[]): T[] {
  return JSON.parse(JSON.stringify(events)) as T[];
}
