import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { CloudTrailRecord, UserIdentity } from '../cloudtrail/record';
import { shiftDay } from '../common/days';

/**
 * A small, realistic CloudTrail trail for one day, in the real S3 key layout, holding both detections
 * among ordinary noise, plus the things real trails have: a late file of the next day, a duplicate
 * record in two files, a digest file and a corrupt object.
 */
export const DEMO_DATE = '2026-11-02';
export const DEMO_BUCKET = 'trailwarden-demo-trail';
export const PROD_ACCOUNT = '111122223333';
export const DEV_ACCOUNT = '210987654321';
export const FOREIGN_ACCOUNT = '444455556666';

/** The day being built; set by buildSampleTrail for the builders below. */
let day = DEMO_DATE;

/** A stable UUID per seed and day, so every day of a generated trail has its own event ids. */
function uuid(seed: string): string {
  const h = createHash('sha256')
    .update(day === DEMO_DATE ? seed : `${day}/${seed}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const at = (time: string, date = day) => `${date}T${time}Z`;

function base(seed: string, eventTime: string, account: string, region: string): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    eventTime,
    awsRegion: region,
    requestID: uuid(`${seed}-request`),
    eventID: uuid(seed),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `ssm.${region}.amazonaws.com` },
  };
}

function iamUser(account: string, name: string) {
  return {
    type: 'IAMUser',
    principalId: `AIDA${createHash('md5').update(name).digest('hex').slice(0, 16).toUpperCase()}`,
    arn: `arn:aws:iam::${account}:user/${name}`,
    accountId: account,
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    userName: name,
  };
}

function ssoUser(account: string, email: string) {
  const role = 'AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6a7b';
  return {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLEROLEID:${email}`,
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${email}`,
    accountId: account,
    accessKeyId: 'ASIAEXAMPLEKEY',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAEXAMPLEROLEID',
        arn: `arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/${role}`,
        accountId: account,
        userName: role,
      },
      attributes: { creationDate: at('08:00:00'), mfaAuthenticated: 'false' },
    },
  };
}

function instanceRole(account: string, instanceId: string) {
  return {
    type: 'AssumedRole',
    principalId: `AROAINSTANCEROLE:${instanceId}`,
    arn: `arn:aws:sts::${account}:assumed-role/EC2-SSM-Role/${instanceId}`,
    accountId: account,
    accessKeyId: 'ASIAINSTANCEKEY',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAINSTANCEROLE',
        arn: `arn:aws:iam::${account}:role/EC2-SSM-Role`,
        accountId: account,
        userName: 'EC2-SSM-Role',
      },
      ec2RoleDelivery: '2.0',
    },
  };
}

function sendCommand(
  seed: string,
  time: string,
  account: string,
  identity: UserIdentity,
  opts: { bucket?: string; error?: string; ip?: string; date?: string } = {},
): CloudTrailRecord {
  const commandId = uuid(`${seed}-command`);
  return {
    ...base(seed, at(time, opts.date), account, 'us-east-1'),
    userIdentity: identity,
    eventSource: 'ssm.amazonaws.com',
    eventName: 'SendCommand',
    sourceIPAddress: opts.ip ?? '198.51.100.7',
    userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2 command/ssm.send-command',
    ...(opts.error ? { errorCode: opts.error, errorMessage: 'User is not authorized to perform: ssm:SendCommand' } : {}),
    requestParameters: {
      instanceIds: ['i-0abc1234def567890'],
      documentName: 'AWS-RunShellScript',
      parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS',
      interactive: false,
      ...(opts.bucket ? { outputS3BucketName: opts.bucket, outputS3KeyPrefix: 'out' } : {}),
    },
    responseElements: opts.error
      ? null
      : {
          command: {
            commandId,
            documentName: 'AWS-RunShellScript',
            instanceIds: ['i-0abc1234def567890'],
            outputS3BucketName: opts.bucket ?? '',
            outputS3KeyPrefix: opts.bucket ? 'out' : '',
            parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS',
            status: 'Pending',
          },
        },
  };
}

function agentPut(seed: string, time: string, account: string, bucket: string, owner: string, key: string): CloudTrailRecord {
  return {
    ...base(seed, at(time), account, 'us-east-1'),
    eventCategory: 'Data',
    managementEvent: false,
    readOnly: false,
    userIdentity: instanceRole(account, 'i-0abc1234def567890'),
    eventSource: 's3.amazonaws.com',
    eventName: 'PutObject',
    sourceIPAddress: '203.0.113.9',
    userAgent: '[aws-sdk-go/1.54.19 (go1.22.5; linux; amd64) amazon-ssm-agent/3.3.484.0]',
    requestParameters: { bucketName: bucket, Host: `${bucket}.s3.us-east-1.amazonaws.com`, key },
    responseElements: null,
    resources: [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
      { accountId: owner, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
    ],
    ...(owner !== account ? { sharedEventID: uuid(`${seed}-shared`) } : {}),
  };
}

function noise(seed: string, time: string, account: string, region: string, i: number): CloudTrailRecord {
  const kinds = [
    { eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', requestParameters: { maxResults: 1000 } },
    { eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', requestParameters: null },
    {
      eventSource: 'ssm.amazonaws.com',
      eventName: 'GetCommandInvocation',
      requestParameters: { commandId: uuid(`${seed}-c`), instanceId: 'i-0abc1234def567890' },
    },
    { eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', requestParameters: { Host: 's3.amazonaws.com' } },
    { eventSource: 'ssm.amazonaws.com', eventName: 'DescribeInstanceInformation', requestParameters: { maxResults: 50 } },
  ];
  const kind = kinds[i % kinds.length];
  return {
    ...base(seed, at(time), account, region),
    userIdentity: iamUser(account, 'ci-deployer'),
    sourceIPAddress: '192.0.2.44',
    userAgent: 'aws-sdk-js/3.600.0',
    readOnly: true,
    ...kind,
    responseElements: null,
  };
}

function ownBucketPut(seed: string, time: string, account: string): CloudTrailRecord {
  const bucket = `app-assets-${account}`;
  const put = agentPut(seed, time, account, bucket, account, `uploads/${seed}.png`);
  return { ...put, userIdentity: iamUser(account, 'ci-deployer'), userAgent: 'aws-sdk-js/3.600.0', sourceIPAddress: '192.0.2.44' };
}

function keyFor(account: string, region: string, delivered: string, unique: string): string {
  const [date, time] = delivered.split('T');
  const [y, m, d] = date.split('-');
  const stamp = `${y}${m}${d}T${time.slice(0, 2)}${time.slice(3, 5)}Z`;
  return `AWSLogs/${account}/CloudTrail/${region}/${y}/${m}/${d}/${account}_CloudTrail_${region}_${stamp}_${unique}.json.gz`;
}

function logFile(records: CloudTrailRecord[]): Buffer {
  return gzipSync(JSON.stringify({ Records: records }));
}

/** The demo trail for a day (default the demo's): S3 key -> object bytes. */
export function buildSampleTrail(date = DEMO_DATE): Map<string, Buffer> {
  day = date;
  const files = new Map<string, Buffer>();
  const alice = iamUser(PROD_ACCOUNT, 'alice');
  const mallory = iamUser(PROD_ACCOUNT, 'mallory');
  const bob = ssoUser(PROD_ACCOUNT, 'bob@example.com');
  const stateManager: UserIdentity = { type: 'AWSService', invokedBy: 'ssm.amazonaws.com' };
  const aliceFirst = sendCommand('alice-1', '10:01:12', PROD_ACCOUNT, alice);
  const exfilCommand = sendCommand('mallory-1', '21:15:03', PROD_ACCOUNT, mallory, { bucket: 'exfil-drop-7781', ip: '45.77.12.9' });
  const exfilCommandId = (exfilCommand.responseElements as { command: { commandId: string } }).command.commandId;

  const hourly: Record<string, CloudTrailRecord[]> = {
    '06:05': [{ ...sendCommand('state-manager', '06:00:41', PROD_ACCOUNT, stateManager, { ip: 'ssm.amazonaws.com' }) }],
    '10:05': [aliceFirst, sendCommand('alice-2', '10:03:40', PROD_ACCOUNT, alice)],
    '10:10': [aliceFirst, sendCommand('alice-3', '10:04:59', PROD_ACCOUNT, alice, { error: 'AccessDenied' })],
    '14:25': [sendCommand('bob-1', '14:20:17', PROD_ACCOUNT, bob, { ip: '203.0.113.50' })],
    '21:20': [
      exfilCommand,
      agentPut(
        'exfil-put-1',
        '21:15:09',
        PROD_ACCOUNT,
        'exfil-drop-7781',
        FOREIGN_ACCOUNT,
        `out/${exfilCommandId}/i-0abc1234def567890/awsrunShellScript/0.awsrunShellScript/stdout`,
      ),
      agentPut(
        'exfil-put-2',
        '21:15:10',
        PROD_ACCOUNT,
        'exfil-drop-7781',
        FOREIGN_ACCOUNT,
        `out/${exfilCommandId}/i-0abc1234def567890/awsrunShellScript/0.awsrunShellScript/stderr`,
      ),
      agentPut('own-output', '21:16:00', PROD_ACCOUNT, `ssm-output-${PROD_ACCOUNT}`, PROD_ACCOUNT, 'out/x/i-0abc1234def567890/stdout'),
    ],
  };
  let n = 0;
  for (let hour = 0; hour < 24; hour += 1) {
    const time = `${String(hour).padStart(2, '0')}:${hour % 2 ? '35' : '05'}`;
    const records = [...(hourly[time] ?? [])];
    for (let i = 0; i < 12; i++) {
      const t = `${String(hour).padStart(2, '0')}:${String((i * 4) % 60).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}`;
      records.push(i % 6 === 5 ? ownBucketPut(`own-${hour}-${i}`, t, PROD_ACCOUNT) : noise(`noise-${hour}-${i}`, t, PROD_ACCOUNT, 'us-east-1', n++));
    }
    files.set(keyFor(PROD_ACCOUNT, 'us-east-1', `${day}T${time}`, uuid(`file-${hour}`).replace(/-/g, '').slice(0, 16)), logFile(records));
  }
  for (const [time, records] of Object.entries(hourly)) {
    if (!time.endsWith(':05') && !time.endsWith(':35')) {
      files.set(keyFor(PROD_ACCOUNT, 'us-east-1', `${day}T${time}`, uuid(`extra-${time}`).replace(/-/g, '').slice(0, 16)), logFile(records));
    }
  }
  const carol = iamUser(DEV_ACCOUNT, 'carol');
  const tomorrow = shiftDay(day, 1);
  files.set(
    keyFor(DEV_ACCOUNT, 'eu-west-1', `${tomorrow}T00:05`, 'LATEDELIVERY0001'),
    logFile([
      { ...sendCommand('carol-late', '23:58:30', DEV_ACCOUNT, carol), awsRegion: 'eu-west-1' },
      { ...sendCommand('carol-next-day', '00:01:02', DEV_ACCOUNT, carol, { date: tomorrow }), awsRegion: 'eu-west-1' },
    ]),
  );
  files.set(
    keyFor(DEV_ACCOUNT, 'eu-west-1', `${day}T12:00`, 'CORRUPTOBJECT001'),
    logFile([noise('c', '11:59:00', DEV_ACCOUNT, 'eu-west-1', 1)]).subarray(0, 60),
  );
  const [y, m, d] = day.split('-');
  files.set(
    `AWSLogs/${PROD_ACCOUNT}/CloudTrail-Digest/us-east-1/${y}/${m}/${d}/${PROD_ACCOUNT}_CloudTrail-Digest_us-east-1_trail_us-east-1_${y}${m}${d}T110000Z.json.gz`,
    gzipSync(JSON.stringify({ awsAccountId: PROD_ACCOUNT, digestStartTime: at('10:00:00'), digestEndTime: at('11:00:00'), logFiles: [] })),
  );
  return files;
}
