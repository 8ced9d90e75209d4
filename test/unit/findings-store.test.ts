import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Finding, SsmCommandExecutionFinding, SsmOutputToForeignBucketFinding } from '../../src/rules/types';
import { findingsFile, readFindings, upsertFindings } from '../../src/store/findings-store';

const DATE = '2026-11-25';

function rule1(id: string, firstSeen: string, extra: Partial<SsmCommandExecutionFinding> = {}): SsmCommandExecutionFinding {
  return {
    id,
    ruleId: 'PH_Rule_ES_IMPORT_AWS_15',
    ruleName: 'AWS Execution via System Manager',
    severity: 'Low',
    tactics: ['Execution'],
    techniques: ['T1059.006'],
    accountId: '111122223333',
    user: 'alice',
    windowStart: firstSeen,
    windowEnd: firstSeen,
    firstSeen,
    lastSeen: firstSeen,
    count: 1,
    failedCount: 0,
    eventIds: [`ev-${id}`],
    ...extra,
  };
}

function rule2(id: string, firstSeen: string): SsmOutputToForeignBucketFinding {
  return {
    id,
    ruleId: '21702832-aff3-4bd6-a8e1-663b6818503d',
    ruleName: 'Suspicious command sent to EC2',
    severity: 'High',
    tactics: ['Execution'],
    techniques: ['T1204'],
    s3Bucket: 'output-bucket',
    bucketOwnerAccountId: '444455556666',
    commandEventId: `cmd-${id}`,
    commandEventName: 'SendCommand',
    executionId: 'exec-1',
    commandUser: 'alice',
    commandUserArn: 'arn:aws:iam::111122223333:user/alice',
    commandSourceIpAddress: '198.51.100.7',
    documentName: 'AWS-RunShellScript',
    awsRegion: 'us-east-1',
    accountName: 'i-0abc1234def567890',
    accountUpnSuffix: '',
    recipientAccountId: '111122223333',
    sourceIpAddress: '203.0.113.9',
    putObjectEventIds: [`put-${id}`],
    firstSeen,
    lastSeen: firstSeen,
    count: 2,
    eventIds: [`cmd-${id}`, `put-${id}`],
  };
}

let dir: string;

beforeEach(() => {
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tw-findings-')), 'nested', 'findings');
});

afterEach(() => {
  fs.rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
});

function fileLines(): string[] {
  return fs.readFileSync(findingsFile(dir, DATE), 'utf8').split('\n');
}

describe('findings store', () => {
  it('reads nothing for a date that has no file (and a folder that does not exist)', () => {
    expect(fs.existsSync(dir)).toBe(false);
    expect(readFindings(dir, DATE)).toEqual([]);
  });

  it('names the file after the date', () => {
    expect(findingsFile(dir, DATE)).toBe(path.join(dir, '2026-11-25.jsonl'));
  });

  it('stores findings, creating the folder', () => {
    const a = rule1('f-a', '2026-11-25T10:00:05Z');
    const b = rule2('f-b', '2026-11-25T11:00:00Z');
    const result = upsertFindings(dir, DATE, [a, b]);
    expect(result).toEqual({ file: findingsFile(dir, DATE), stored: 2, added: 2, updated: 0 });
    expect(readFindings(dir, DATE)).toEqual([a, b]);
    expect(readFindings(dir, '2026-11-24')).toEqual([]);
  });

  it('is idempotent: a re-run with the same findings adds and updates nothing', () => {
    const findings = [rule1('f-a', '2026-11-25T10:00:05Z'), rule2('f-b', '2026-11-25T11:00:00Z')];
    upsertFindings(dir, DATE, findings);
    const before = fs.readFileSync(findingsFile(dir, DATE), 'utf8');
    const again = upsertFindings(dir, DATE, findings);
    expect(again).toMatchObject({ stored: 2, added: 0, updated: 0 });
    expect(fs.readFileSync(findingsFile(dir, DATE), 'utf8')).toBe(before);
    // the same finding twice in one batch is still one finding
    const twice = upsertFindings(dir, DATE, [findings[0], findings[0]]);
    expect(twice).toMatchObject({ stored: 2, added: 0, updated: 0 });
    expect(readFindings(dir, DATE)).toHaveLength(2);
  });

  it('counts a new id as added and a changed finding as updated, replacing the old one', () => {
    const a = rule1('f-a', '2026-11-25T10:00:05Z');
    const b = rule1('f-b', '2026-11-25T10:10:00Z');
    upsertFindings(dir, DATE, [a, b]);
    const bChanged = rule1('f-b', '2026-11-25T10:10:00Z', { count: 3, eventIds: ['e1', 'e2', 'e3'] });
    const c = rule2('f-c', '2026-11-25T12:00:00Z');
    const result = upsertFindings(dir, DATE, [a, bChanged, c]);
    expect(result).toMatchObject({ stored: 3, added: 1, updated: 1 });
    const stored = readFindings(dir, DATE);
    expect(stored).toEqual([a, bChanged, c]);
    expect(stored.filter((f) => f.id === 'f-b')).toEqual([bChanged]);
  });

  it('keeps findings that a re-run no longer reports', () => {
    const a = rule1('f-a', '2026-11-25T10:00:05Z');
    const b = rule2('f-b', '2026-11-25T11:00:00Z');
    upsertFindings(dir, DATE, [a, b]);
    const result = upsertFindings(dir, DATE, [b]);
    expect(result).toMatchObject({ stored: 2, added: 0, updated: 0 });
    expect(readFindings(dir, DATE)).toEqual([a, b]);
    const none = upsertFindings(dir, DATE, []);
    expect(none).toMatchObject({ stored: 2, added: 0, updated: 0 });
    expect(readFindings(dir, DATE)).toEqual([a, b]);
  });

  it('writes one JSON object per line, sorted by firstSeen (then rule, then id)', () => {
    const late = rule2('f-late', '2026-11-25T23:59:59Z');
    const early = rule1('f-early', '2026-11-25T00:00:01Z');
    const midR2 = rule2('f-mid-2', '2026-11-25T12:00:00Z');
    const midR1b = rule1('f-mid-b', '2026-11-25T12:00:00Z');
    const midR1a = rule1('f-mid-a', '2026-11-25T12:00:00Z');
    upsertFindings(dir, DATE, [late, midR2]);
    upsertFindings(dir, DATE, [midR1b, early, midR1a]);
    const lines = fileLines();
    expect(lines[lines.length - 1]).toBe(''); // ends with a newline
    const content = lines.slice(0, -1);
    expect(content).toHaveLength(5);
    const parsed = content.map((line) => JSON.parse(line) as Finding);
    for (const [i, line] of content.entries()) {
      expect(line).not.toContain('\n');
      expect(line).toBe(JSON.stringify(parsed[i]));
    }
    // equal firstSeen: ruleId order ('21702832-…' < 'PH_…'), then id
    expect(parsed.map((f) => f.id)).toEqual(['f-early', 'f-mid-2', 'f-mid-a', 'f-mid-b', 'f-late']);
    const firstSeen = parsed.map((f) => f.firstSeen);
    expect([...firstSeen].sort()).toEqual(firstSeen);
  });

  it('leaves no temporary file behind', () => {
    upsertFindings(dir, DATE, [rule1('f-a', '2026-11-25T10:00:05Z')]);
    upsertFindings(dir, DATE, [rule1('f-b', '2026-11-25T10:00:06Z')]);
    expect(fs.readdirSync(dir)).toEqual(['2026-11-25.jsonl']);
  });

  it('keeps dates apart', () => {
    upsertFindings(dir, DATE, [rule1('f-a', '2026-11-25T10:00:05Z')]);
    upsertFindings(dir, '2026-11-26', [rule1('f-a', '2026-11-26T10:00:05Z')]);
    expect(readFindings(dir, DATE).map((f) => f.firstSeen)).toEqual(['2026-11-25T10:00:05Z']);
    expect(readFindings(dir, '2026-11-26').map((f) => f.firstSeen)).toEqual(['2026-11-26T10:00:05Z']);
  });

  it('reads a file with blank lines and no final newline', () => {
    fs.mkdirSync(dir, { recursive: true });
    const a = rule1('f-a', '2026-11-25T10:00:05Z');
    const b = rule1('f-b', '2026-11-25T10:00:06Z');
    fs.writeFileSync(findingsFile(dir, DATE), `\n${JSON.stringify(a)}\n\n${JSON.stringify(b)}`);
    expect(readFindings(dir, DATE)).toEqual([a, b]);
    expect(upsertFindings(dir, DATE, [a])).toMatchObject({ stored: 2, added: 0, updated: 0 });
  });
});
