/**
 * Drives the real scanPartition activity in a MockActivityEnvironment over a folder of log files
 * (a `directory` source): selection, stats, the skipped report, heartbeats, and resuming from a
 * heartbeat checkpoint after an interrupted attempt.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { scanPartition } from '../../src/activities/scan-partition';
import { blobLines, scratchPath } from '../../src/activities/scratch';
import type { PartitionResult, ScanPartitionInput } from '../../src/activities/types';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { parseConfig } from '../../src/config/load';
import type { RecordLine, SelectedLine } from '../../src/rules/selection';

const RULE1 = 'PH_Rule_ES_IMPORT_AWS_15';
const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';
const ACCOUNT = '111122223333';
const FOREIGN = '444455556666';
const INSTANCE = 'i-0abc1234def567890';
const COMMAND_ID = '4e973221-443e-4a56-a0b4-1cb3c7923fc3';
const DAY = '2026/11/25';
const FOLDER = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/${DAY}`;
const keyAt = (hhmm: string, unique: string) => `${FOLDER}/${ACCOUNT}_CloudTrail_us-east-1_20261125T${hhmm}Z_${unique}.json.gz`;

const KEYS = {
  commands: keyAt('1000', 'AAAAAAAAAAAAAAAA'),
  corrupt: keyAt('1005', 'BBBBBBBBBBBBBBBB'),
  puts: keyAt('1010', 'CCCCCCCCCCCCCCCC'),
  failed: keyAt('1015', 'DDDDDDDDDDDDDDDD'),
  exported: 'exported/events.json',
  notATrail: 'exported/notes.json',
  digest: `AWSLogs/${ACCOUNT}/CloudTrail-Digest/us-east-1/${DAY}/${ACCOUNT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20261125T100000Z.json.gz`,
};
/** The objects the activity reads, in key order. */
const OBJECT_KEYS = [KEYS.commands, KEYS.corrupt, KEYS.puts, KEYS.failed, KEYS.exported, KEYS.notATrail];

const quietLogger = new DefaultLogger('ERROR');

function iamUser(userName = 'alice'): Record<string, unknown> {
  return {
    type: 'IAMUser',
    principalId: 'AIDA10CZIPPG73T21TDI',
    arn: `arn:aws:iam::${ACCOUNT}:user/${userName}`,
    accountId: ACCOUNT,
    accessKeyId: 'AKIAW9X2Q2U25SK79UCX',
    userName,
  };
}

function sendCommand(eventID: string | undefined, eventTime: string, opts: { bucket?: string; errorCode?: string } = {}): CloudTrailRecord {
  const requestParameters: Record<string, unknown> = {
    documentName: 'AWS-RunShellScript',
    instanceIds: [INSTANCE],
    parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS',
    interactive: false,
  };
  if (opts.bucket) requestParameters.outputS3BucketName = opts.bucket;
  const record: CloudTrailRecord = {
    eventVersion: '1.08',
    userIdentity: iamUser(),
    eventTime,
    eventSource: 'ssm.amazonaws.com',
    eventName: 'SendCommand',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0',
    requestParameters,
    responseElements: opts.errorCode ? null : { command: { commandId: COMMAND_ID, documentName: 'AWS-RunShellScript', outputS3BucketName: opts.bucket ?? '' } },
    requestID: '1479b5e1-9751-4bf1-b548-cdd8108e85a6',
    eventID,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
  if (opts.errorCode) {
    record.errorCode = opts.errorCode;
    record.errorMessage = 'User is not authorized to perform: ssm:SendCommand';
  }
  return record;
}

function putObject(eventID: string, eventTime: string, bucket: string, ownerAccountId: string): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAINSTANCEROLEEXAMPLE:${INSTANCE}`,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/SsmManagedInstanceRole/${INSTANCE}`,
      accountId: ACCOUNT,
    },
    eventTime,
    eventSource: 's3.amazonaws.com',
    eventName: 'PutObject',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.9',
    userAgent: '[aws-sdk-go/1.44.0 (go1.20; linux; amd64) amazon-ssm-agent/3.2.582.0]',
    requestParameters: { bucketName: bucket, key: `out/${COMMAND_ID}/${INSTANCE}/awsrunShellScript/0.awsrunShellScript/stdout` },
    responseElements: null,
    requestID: 'BB3BCA1A2D9E1F40',
    eventID,
    readOnly: false,
    resources: [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/out/${COMMAND_ID}/${INSTANCE}/stdout` },
      { accountId: ownerAccountId, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
    ],
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Data',
  };
}

function noise(eventID: string, eventName: string, eventSource = 'ec2.amazonaws.com'): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    userIdentity: iamUser('bob'),
    eventTime: '2026-11-25T10:02:00Z',
    eventSource,
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.8',
    requestParameters: { maxResults: 100 },
    responseElements: null,
    eventID,
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
  };
}

function logBody(records: readonly unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ Records: records }), 'utf8');
}

interface Fixture {
  root: string;
  logs: string;
  /** decompressed bytes of the files that read successfully */
  goodBytes: number;
  /** records in the files that read successfully */
  goodRecords: number;
}

function writeFile(root: string, key: string, bytes: Buffer): void {
  const full = path.join(root, ...key.split('/'));
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, bytes);
}

function buildFixture(root: string): Fixture {
  const logs = path.join(root, 'logs');
  const files: Record<string, CloudTrailRecord[]> = {
    [KEYS.commands]: [
      noise('noise-1', 'DescribeInstances'),
      sendCommand('cmd-1', '2026-11-25T10:00:05Z', { bucket: 'exfil-bucket' }),
      noise('noise-2', 'GetCommandInvocation', 'ssm.amazonaws.com'),
    ],
    [KEYS.puts]: [
      putObject('put-1', '2026-11-25T10:00:31Z', 'exfil-bucket', FOREIGN),
      putObject('put-own', '2026-11-25T10:00:40Z', 'own-bucket', ACCOUNT),
      noise('noise-3', 'ListBuckets', 's3.amazonaws.com'),
      sendCommand('cmd-yesterday', '2026-11-24T23:00:00Z', { bucket: 'exfil-bucket' }),
      sendCommand(undefined, '2026-11-25T10:03:00Z'),
    ],
    [KEYS.failed]: [sendCommand('cmd-failed', '2026-11-25T10:12:00Z', { errorCode: 'AccessDenied' }), noise('noise-4', 'DescribeVolumes')],
  };
  let goodBytes = 0;
  let goodRecords = 0;
  for (const [key, records] of Object.entries(files)) {
    const body = logBody(records);
    writeFile(logs, key, gzipSync(body));
    goodBytes += body.length;
    goodRecords += records.length;
  }
  // a plain-JSON export outside the S3 layout
  const exported = logBody([sendCommand('cmd-2', '2026-11-25T18:30:00Z'), noise('noise-5', 'DescribeInstances')]);
  writeFile(logs, KEYS.exported, exported);
  goodBytes += exported.length;
  goodRecords += 2;
  // a JSON file that is not a log file, a truncated gzip, a digest, and a file that is not a log at all
  writeFile(logs, KEYS.notATrail, Buffer.from('{"hello":"world"}'));
  const corrupt = gzipSync(logBody([sendCommand('cmd-lost', '2026-11-25T10:04:00Z', { bucket: 'exfil-bucket' })]));
  writeFile(logs, KEYS.corrupt, corrupt.subarray(0, corrupt.length - 20));
  writeFile(logs, KEYS.digest, gzipSync(Buffer.from('{"awsAccountId":"111122223333","logFiles":[]}')));
  writeFile(logs, 'README.txt', Buffer.from('not a log file'));
  return { root, logs, goodBytes, goodRecords };
}

let fixture: Fixture;
let rulesConfig: Record<string, unknown>;
const savedScratch = process.env.TRAILWARDEN_SCRATCH_DIR;

beforeAll(() => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-scan-partition-'));
  process.env.TRAILWARDEN_SCRATCH_DIR = path.join(root, 'scratch');
  fixture = buildFixture(root);
  const defaults = parseConfig({ sources: [] }).rules;
  rulesConfig = { [RULE1]: defaults[RULE1], [RULE2]: defaults[RULE2] };
});

afterAll(() => {
  delete process.env.TRAILWARDEN_HEARTBEAT_MS;
  if (savedScratch === undefined) delete process.env.TRAILWARDEN_SCRATCH_DIR;
  else process.env.TRAILWARDEN_SCRATCH_DIR = savedScratch;
  fs.rmSync(fixture.root, { recursive: true, force: true });
});

function input(scanId: string, logs = fixture.logs): ScanPartitionInput {
  const startMs = Date.parse('2026-11-25T00:00:00Z');
  return {
    scanId,
    partition: { id: 'dir-0', sourceIndex: 0, label: `directory ${logs}` },
    source: { type: 'directory', path: logs },
    rules: rulesConfig,
    period: { startMs, endMs: startMs + 86_400_000 },
  };
}

type Checkpoint = {
  /** the resume position: `position.lastKey` (older shape: `lastKey` at the top) */
  position?: { lastKey: string };
  lastKey?: string;
  scratchBytes: number;
  selectedLines: number;
  stats: PartitionResult['stats'];
  skipped: PartitionResult['skipped'];
  skippedCount: number;
};

/** The key of the last object a checkpoint covers. */
function lastKeyOf(beat: Checkpoint): string | undefined {
  return beat.position?.lastKey ?? beat.lastKey;
}

/** An environment that records a deep copy of every heartbeat (the activity mutates what it sends). */
function recordingEnv(info: Record<string, unknown> = {}): { env: MockActivityEnvironment; beats: Checkpoint[] } {
  const env = new MockActivityEnvironment(info, { logger: quietLogger });
  const beats: Checkpoint[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(JSON.parse(JSON.stringify(details)) as Checkpoint));
  return { env, beats };
}

/** The rule selections of a partition's record lines, in order. */
function selectedLines(result: PartitionResult): SelectedLine[] {
  return [...blobLines(result.selected)].flatMap((line) => (JSON.parse(line) as RecordLine).selected);
}

function pairs(lines: SelectedLine[]): string[] {
  return lines.map((l) => `${l.ruleId === RULE1 ? 'rule1' : 'rule2'}:${l.event.eventID}`);
}

describe('scanPartition over a directory source', () => {
  let full: PartitionResult;
  let fullBeats: Checkpoint[];

  beforeAll(async () => {
    // a checkpoint after every object (by default at most one every 100 ms)
    process.env.TRAILWARDEN_HEARTBEAT_MS = '0';
    const { env, beats } = recordingEnv();
    full = await env.run(scanPartition, input('scan-full'));
    fullBeats = beats;
  });

  it('selects the records the rules keep, in key order', () => {
    const lines = selectedLines(full);
    expect(pairs(lines)).toEqual(['rule1:cmd-1', 'rule2:cmd-1', 'rule2:put-1', 'rule1:cmd-failed', 'rule1:cmd-2']);
    // one line per parsed, well-formed candidate record: cmd-1 (both rules), put-1, cmd-yesterday (read, but
    // outside the period, so it selects nothing and only claims its eventID), cmd-failed, cmd-2
    expect(full.selected.lines).toBe(5);
    const command = lines[1].event as unknown as Record<string, unknown>;
    expect(command).toMatchObject({
      kind: 'command',
      bucket: 'exfil-bucket',
      executionId: COMMAND_ID,
      commandUser: 'alice',
      eventTimeMs: Date.parse('2026-11-25T10:00:05Z'),
    });
    expect(lines[2].event).toMatchObject({ kind: 'put', bucket: 'exfil-bucket', bucketOwnerAccountId: FOREIGN, recipientAccountId: ACCOUNT });
    expect(lines[3].event).toMatchObject({ eventID: 'cmd-failed', failed: true, accountId: ACCOUNT, user: 'alice' });
    // never selected: noise, an own-bucket put, a command outside the period, a corrupt file's command
    const ids = lines.map((l) => l.event.eventID);
    for (const id of ['put-own', 'cmd-yesterday', 'cmd-lost', 'noise-1']) expect(ids).not.toContain(id);
  });

  it('returns its result inline, never a path, and removes its scratch file', () => {
    expect(typeof full.selected.inline).toBe('string');
    expect(Object.keys(full.selected).sort()).toEqual(['inline', 'lines']);
    expect(fs.existsSync(scratchPath('scan-full', 'selected-dir-0'))).toBe(false);
    expect(full.partitionId).toBe('dir-0');
    expect(full.label).toBe(`directory ${fixture.logs}`);
    expect(full.resumedFromCheckpoint).toBe(false);
  });

  it('counts objects, records, parsed records, bytes and malformed records', () => {
    expect(full.stats).toEqual({
      objects: 4,
      records: fixture.goodRecords,
      // the SendCommand / PutObject records of the readable files but the own-bucket put, which the
      // rule's skip test rules out unparsed; the noise is never parsed
      parsed: 6,
      selected: 5,
      bytes: fixture.goodBytes,
      malformedRecords: 1,
    });
    expect(fixture.goodRecords).toBe(12);
  });

  it('reports the skipped digest, corrupt objects and malformed records', () => {
    expect(full.skippedCount).toBe(4);
    expect(full.skipped).toEqual([
      { source: fixture.logs, key: KEYS.digest, reason: 'CloudTrail-Digest file (not event records)' },
      { source: `directory ${fixture.logs}`, key: KEYS.corrupt, reason: expect.stringMatching(/unexpected end of file/) },
      { source: `directory ${fixture.logs}`, key: KEYS.puts, reason: 'malformed record: record has no eventID' },
      { source: `directory ${fixture.logs}`, key: KEYS.notATrail, reason: expect.stringMatching(/no "Records" array/) },
    ]);
  });

  it('heartbeats a checkpoint after every object, corrupt ones included', () => {
    expect(fullBeats.map(lastKeyOf)).toEqual(OBJECT_KEYS);
    expect(fullBeats.map((b) => b.stats.objects)).toEqual([1, 1, 2, 3, 4, 4]);
    expect(fullBeats.map((b) => b.selectedLines)).toEqual([1, 1, 3, 4, 5, 5]);
    expect(fullBeats.map((b) => b.skippedCount)).toEqual([1, 2, 3, 3, 3, 4]);
    const last = fullBeats[fullBeats.length - 1];
    expect(last.stats).toEqual(full.stats);
    expect(last.skipped).toEqual(full.skipped);
    expect(last.scratchBytes).toBe(Buffer.byteLength(full.selected.inline ?? ''));
    // scratchBytes grows by exactly the bytes of the lines each object added
    expect(fullBeats[0].scratchBytes).toBe(
      Buffer.byteLength(
        (full.selected.inline ?? '')
          .split('\n')
          .slice(0, 1)
          .map((l) => `${l}\n`)
          .join(''),
      ),
    );
  });

  it('resumes after the first object from a checkpoint of an interrupted attempt', async () => {
    const scanId = 'scan-resume';
    // attempt 1: interrupted (cancelled) right after its first heartbeat
    const first = recordingEnv();
    first.env.on('heartbeat', () => first.env.cancel());
    await expect(first.env.run(scanPartition, input(scanId))).rejects.toMatchObject({ name: 'CancelledFailure' });
    expect(first.beats).toHaveLength(1);
    const checkpoint = first.beats[0];
    expect(lastKeyOf(checkpoint)).toBe(KEYS.commands);
    const scratch = scratchPath(scanId, 'selected-dir-0');
    expect(fs.statSync(scratch).size).toBe(checkpoint.scratchBytes);
    // lines written after the checkpoint was sent must be dropped on resume
    fs.appendFileSync(scratch, '{"ruleId":"half-written","event":{"eventID":"ghost"');

    // attempt 2: resumes from the checkpoint
    const second = recordingEnv({ heartbeatDetails: checkpoint, attempt: 2 });
    const resumed: PartitionResult = await second.env.run(scanPartition, input(scanId));
    expect(resumed.resumedFromCheckpoint).toBe(true);
    expect(second.beats.length).toBeLessThan(OBJECT_KEYS.length);
    expect(second.beats.map(lastKeyOf)).toEqual(OBJECT_KEYS.slice(1));
    expect(selectedLines(resumed)).toEqual(selectedLines(full));
    expect(resumed.selected.lines).toBe(full.selected.lines);
    expect(resumed.stats).toEqual(full.stats);
    expect(resumed.skipped).toEqual(full.skipped);
    expect(resumed.skippedCount).toBe(full.skippedCount);
  });

  it('resumes from a later checkpoint, reading only what is left', async () => {
    const scanId = 'scan-resume-late';
    const first = recordingEnv();
    first.env.on('heartbeat', (details: Checkpoint) => {
      if (lastKeyOf(details) === KEYS.failed) first.env.cancel();
    });
    await expect(first.env.run(scanPartition, input(scanId))).rejects.toMatchObject({ name: 'CancelledFailure' });
    const checkpoint = first.beats[first.beats.length - 1];
    expect(lastKeyOf(checkpoint)).toBe(KEYS.failed);

    const second = recordingEnv({ heartbeatDetails: checkpoint, attempt: 2 });
    const resumed: PartitionResult = await second.env.run(scanPartition, input(scanId));
    expect(resumed.resumedFromCheckpoint).toBe(true);
    expect(second.beats.map(lastKeyOf)).toEqual([KEYS.exported, KEYS.notATrail]);
    expect(selectedLines(resumed)).toEqual(selectedLines(full));
    expect(resumed.stats).toEqual(full.stats);
    expect(resumed.skipped).toEqual(full.skipped);
  });

  it('starts over when the checkpoint has no scratch file behind it', async () => {
    const checkpoint = fullBeats[0];
    const { env, beats } = recordingEnv({ heartbeatDetails: checkpoint, attempt: 2 });
    const result: PartitionResult = await env.run(scanPartition, input('scan-no-scratch'));
    expect(result.resumedFromCheckpoint).toBe(false);
    expect(beats.map(lastKeyOf)).toEqual(OBJECT_KEYS);
    expect(selectedLines(result)).toEqual(selectedLines(full));
    expect(result.stats).toEqual(full.stats);
    expect(result.skipped).toEqual(full.skipped);
  });

  it('starts over when the scratch file is shorter than the checkpoint says', async () => {
    const scanId = 'scan-short-scratch';
    const checkpoint = fullBeats[0];
    expect(checkpoint.scratchBytes).toBeGreaterThan(0);
    fs.writeFileSync(scratchPath(scanId, 'selected-dir-0'), 'x');
    const { env, beats } = recordingEnv({ heartbeatDetails: checkpoint, attempt: 2 });
    const result: PartitionResult = await env.run(scanPartition, input(scanId));
    expect(result.resumedFromCheckpoint).toBe(false);
    expect(beats).toHaveLength(OBJECT_KEYS.length);
    expect(selectedLines(result)).toEqual(selectedLines(full));
    expect(result.stats).toEqual(full.stats);
  });

  it('with a longer interval, heartbeats the first checkpoint and then none sooner than the interval allows', async () => {
    process.env.TRAILWARDEN_HEARTBEAT_MS = '60000';
    try {
      const { env, beats } = recordingEnv();
      const result: PartitionResult = await env.run(scanPartition, input('scan-sparse-beats'));
      expect(beats.map(lastKeyOf)).toEqual([OBJECT_KEYS[0]]);
      expect(selectedLines(result)).toEqual(selectedLines(full));
    } finally {
      process.env.TRAILWARDEN_HEARTBEAT_MS = '0';
    }
  });

  it('gives the same result on a second uninterrupted run', async () => {
    const { env } = recordingEnv();
    const again: PartitionResult = await env.run(scanPartition, input('scan-full'));
    expect(again).toEqual(full);
  });

  it('fails without retry for a directory that does not exist', async () => {
    const { env, beats } = recordingEnv();
    const missing = path.join(fixture.root, 'no-such-folder');
    const error = await env.run(scanPartition, input('scan-missing', missing)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    expect((error as { nonRetryable?: boolean }).nonRetryable).toBe(true);
    expect((error as Error).message).toMatch(/no-such-folder: ENOENT/);
    expect(beats).toEqual([]);
  });

  it('reads nothing but still finishes for an empty folder', async () => {
    const empty = path.join(fixture.root, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    const { env, beats } = recordingEnv();
    const result: PartitionResult = await env.run(scanPartition, input('scan-empty', empty));
    expect(result.stats).toEqual({ objects: 0, records: 0, parsed: 0, selected: 0, bytes: 0, malformedRecords: 0 });
    expect(result.selected).toEqual({ lines: 0, inline: '' });
    expect(result.skippedCount).toBe(0);
    expect(beats).toEqual([]);
  });
});
