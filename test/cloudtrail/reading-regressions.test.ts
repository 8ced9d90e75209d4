/**
 * The six ways of issue 12 in which the reader gave other findings than parsing every file with
 * JSON.parse, as named cases, and the other decisions of docs/rules.md "Reading records" (a byte order mark,
 * gzip by content, corrupt files as a whole, malformed records before dedup, the first copy kept). Each
 * on the native and the JavaScript route; each also checked against the reference evaluation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { correlate } from '../../src/activities/correlate';
import { scanPartition } from '../../src/activities/scan-partition';
import { blobLines } from '../../src/activities/scratch';
import type { PartitionResult } from '../../src/activities/types';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { parseConfig } from '../../src/config/load';
import { nativeScanner } from '../../src/scan/native-scanner';
import type { Finding, SsmCommandExecutionFinding, SsmOutputToForeignBucketFinding } from '../../src/rules/types';
import { type LogFile, referenceEvaluation } from '../helpers/reference-evaluator';
import { type TrailwardenResult, asStored, trailwardenEvaluation } from '../helpers/trailwarden-scan';
import { FOREIGN_ACCOUNT, iamUser, s3Put, sendCommand } from '../rules/fixtures';

const RULE1 = 'PH_Rule_ES_IMPORT_AWS_15';
const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';
const OWN = '111122223333';
const PERIOD = { startMs: Date.parse('2026-11-25T00:00:00Z'), endMs: Date.parse('2026-11-26T00:00:00Z') };
const RULES = parseConfig({ sources: [] }).rules;

/** A key in the CloudTrail layout, delivered at 10:<minute>; keys sort by minute. */
function keyAt(minute: number, ext = '.json.gz'): string {
  const mm = String(minute).padStart(2, '0');
  return `AWSLogs/${OWN}/CloudTrail/us-east-1/2026/11/25/${OWN}_CloudTrail_us-east-1_20261125T10${mm}Z_REGRESSION000000${ext}`;
}

function file(minute: number, body: string | Buffer): LogFile {
  return { key: keyAt(minute), bytes: typeof body === 'string' ? Buffer.from(body, 'utf8') : body };
}

const compact = (records: unknown[]) => JSON.stringify({ Records: records });
const pretty = (records: unknown[]) => JSON.stringify({ Records: records }, null, 2);

/** A complete record look-alike by "mallory": a finding of hers means a nested object was read as a record. */
function lookalike(eventID: string, f: Parameters<typeof sendCommand>[0] = {}): CloudTrailRecord {
  return sendCommand({ eventID, eventTime: '2026-11-25T10:01:00Z', userIdentity: iamUser('mallory'), outputS3BucketName: 'exfil-bucket', ...f });
}

/** A record no rule selects, holding what it is given in its requestParameters. */
function describeInstances(eventID: string, requestParameters: Record<string, unknown> = { maxResults: 100 }): CloudTrailRecord {
  return { ...sendCommand({ eventID, eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances' }), requestParameters, responseElements: null };
}

const rule1 = (findings: Finding[]) => findings.filter((f): f is SsmCommandExecutionFinding => f.ruleId === RULE1);
const rule2 = (findings: Finding[]) => findings.filter((f): f is SsmOutputToForeignBucketFinding => f.ruleId === RULE2);
const users = (findings: Finding[]) =>
  rule1(findings)
    .map((f) => f.user)
    .sort();

describe.each([
  ['native', () => nativeScanner() ?? null],
  ['JavaScript', () => null],
])('reading records, %s route', (route, native) => {
  /** trailwarden's result, after checking that it is the reference's (findings and corrupt files alike). */
  function scan(files: LogFile[]): TrailwardenResult {
    const actual = trailwardenEvaluation(files, RULES, PERIOD, native());
    const expected = referenceEvaluation(files, RULES, PERIOD);
    expect(asStored(actual.findings)).toEqual(asStored(expected.findings));
    expect([...actual.corrupt.keys()]).toEqual([...expected.corrupt.keys()]);
    return actual;
  }

  test('the route is what it says', () => {
    expect(native() === null).toBe(route === 'JavaScript');
  });

  test('issue 12 (1): a complete record look-alike nested in another record is not a finding', () => {
    // between two objects that begin like records, the look-alike is cut out whole at record separators
    const between = describeInstances('outer-0', { items: [{ eventVersion: '1.08', n: 1 }, lookalike('nested-0'), { eventVersion: '1.08', n: 2 }] });
    const inArray = describeInstances('outer-1', { items: [lookalike('nested-1'), lookalike('nested-2')] });
    // the look-alike the last thing in the file: its end is the document's `}]}`
    const atTheEnd = describeInstances('outer-2', { items: [{ eventVersion: '1.08' }, lookalike('nested-3')] });
    const foreignPut = s3Put({ eventID: 'nested-put', userIdentity: iamUser('mallory') });
    const withPut = describeInstances('outer-3', { items: [foreignPut, lookalike('nested-4')] });
    for (const write of [compact, pretty]) {
      for (const records of [[between], [inArray, withPut, atTheEnd], [between, withPut]]) {
        const { findings, corrupt } = scan([file(0, write(records))]);
        expect(findings).toEqual([]);
        expect(corrupt.size).toBe(0);
      }
    }
  });

  test('issue 12 (2): a nested look-alike reusing the eventID of a real SendCommand in a later file does not hide it', () => {
    const hiding = describeInstances('outer', { items: [{ eventVersion: '1.08', n: 1 }, lookalike('cmd-real'), { eventVersion: '1.08', n: 2 }] });
    const real = sendCommand({ eventID: 'cmd-real', eventTime: '2026-11-25T10:02:00Z', userIdentity: iamUser('alice') });
    const { findings } = scan([file(0, compact([hiding])), file(5, compact([real]))]);
    expect(users(findings)).toEqual(['alice']);
    expect(rule1(findings)[0].eventIds).toEqual(['cmd-real']);
  });

  test('issue 12 (3): top-level keys after Records holding record-like objects are not records', () => {
    const noise = describeInstances('noise-1');
    const documents = [
      `{"Records":[${JSON.stringify(noise)}],"trailer":[{"eventVersion":"1.08","n":1},${JSON.stringify(lookalike('after-1'))}]}`,
      `{"Records":[${JSON.stringify(noise)}],"trailer":[${JSON.stringify(lookalike('after-1'))},${JSON.stringify(lookalike('after-2'))}]}`,
      `{"Records":[${JSON.stringify(noise)}],"digest":${JSON.stringify(lookalike('after-3'))}}`,
      `{"Records":[],"more":{"Records":[${JSON.stringify(lookalike('after-4'))}]}}`,
    ];
    for (const [i, text] of documents.entries()) {
      const { findings, corrupt } = scan([file(i, text)]);
      expect(findings).toEqual([]);
      expect(corrupt.size).toBe(0);
    }
  });

  test('issue 12 (4): an eventName that contains SendCommand is found in a compact file as in a pretty-printed one', () => {
    const proxied = sendCommand({ eventID: 'cmd-proxy', eventName: 'SendCommandViaProxy', userIdentity: iamUser('alice') });
    const other = describeInstances('noise-1');
    const fromCompact = scan([file(0, compact([other, proxied, other]))]).findings;
    const fromPretty = scan([file(0, pretty([other, proxied, other]))]).findings;
    expect(rule1(fromCompact)).toEqual([expect.objectContaining({ user: 'alice', eventIds: ['cmd-proxy'] })]);
    expect(fromPretty).toEqual(fromCompact);
    // rule 2 wants exactly SendCommand or CreateAssociation
    expect(rule2(fromCompact)).toEqual([]);
  });

  test('issue 12 (5): a put whose own recipientAccountId is absent is foreign, whatever additionalEventData holds', () => {
    const command = sendCommand({ eventID: 'cmd-1', outputS3BucketName: 'exfil-bucket', userIdentity: iamUser('alice') });
    const put = s3Put({ eventID: 'put-1', bucket: 'exfil-bucket', bucketOwner: OWN });
    delete put.recipientAccountId;
    (put.additionalEventData as Record<string, unknown>).recipientAccountId = OWN;
    const { findings } = scan([file(0, compact([command, put]))]);
    expect(rule2(findings)).toEqual([
      expect.objectContaining({ commandEventId: 'cmd-1', putObjectEventIds: ['put-1'], bucketOwnerAccountId: OWN, recipientAccountId: '' }),
    ]);
    // the same put with its own recipientAccountId is into its own bucket: no finding
    const ownPut = s3Put({ eventID: 'put-2', bucket: 'exfil-bucket', bucketOwner: OWN, recipientAccountId: OWN });
    (ownPut.additionalEventData as Record<string, unknown>).recipientAccountId = FOREIGN_ACCOUNT;
    expect(rule2(scan([file(0, compact([command, ownPut]))]).findings)).toEqual([]);
  });

  test('issue 12 (6): {"Rec\\u006frds":[...]} reads as a normal trail file', () => {
    const command = sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('alice') });
    const text = compact([command]).replace('{"Records":', '{"Rec\\u006frds":');
    expect(text.startsWith('{"Rec\\u006frds":[{')).toBe(true);
    const { findings, corrupt } = scan([file(0, text)]);
    expect(corrupt.size).toBe(0);
    expect(users(findings)).toEqual(['alice']);
  });

  test("keys and strings mean their decoded value; of a repeated key, the last counts; only the record's own eventName", () => {
    const command = sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('alice') });
    const text = compact([command]);
    const spelled = [
      text.replace('"eventName":"SendCommand"', '"eventName":"\\u0053endCommand"'),
      text.replace('"eventName":"SendCommand"', '"event\\u004eame":"SendCommand"'),
      text.replace('"eventName":"SendCommand"', '"eventName":"Send\\u0043ommand"').replace('"eventID":"cmd-1"', '"eventID":"cmd\\u002d1"'),
      text.replace('"eventName":"SendCommand"', '"eventName":"DescribeInstances","eventName":"SendCommand"'),
      // a nested eventName after the record's own is not the record's
      text.replace('"interactive":false', '"interactive":false,"filter":{"eventName":"DescribeInstances","eventID":"x"}'),
      // the last Records key is the document's
      `{"Records":[],${text.slice(1)}`,
    ];
    for (const variant of spelled) {
      expect(variant).not.toBe(text);
      expect(rule1(scan([file(0, variant)]).findings)).toEqual([expect.objectContaining({ user: 'alice', eventIds: ['cmd-1'] })]);
    }
    const unselected = [
      text.replace('"eventName":"SendCommand"', '"eventName":"SendCommand","eventName":"DescribeInstances"'),
      text.replace('"eventName":"SendCommand"', '"eventName":"S\\u0065ndCommanx"'),
      `${text.slice(0, -1)},"Records":[]}`,
    ];
    for (const variant of unselected) expect(scan([file(0, variant)]).findings).toEqual([]);
  });

  test('a UTF-8 byte order mark at the start is ignored, in plain and gzipped files', () => {
    const command = sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('alice') });
    const text = `\ufeff${compact([command])}`;
    for (const bytes of [Buffer.from(text), gzipSync(text), gzipSync(`\ufeff${pretty([command])}`)]) {
      const { findings, corrupt } = scan([file(0, bytes)]);
      expect(corrupt.size).toBe(0);
      expect(users(findings)).toEqual(['alice']);
    }
  });

  test('gzip is recognised by its bytes: gzip in a .json name, plain JSON in a .json.gz name, several members', () => {
    const first = sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('alice') });
    const second = sendCommand({ eventID: 'cmd-2', eventTime: '2026-11-25T11:00:00Z', userIdentity: iamUser('bob') });
    const third = sendCommand({ eventID: 'cmd-3', eventTime: '2026-11-25T12:00:00Z', userIdentity: iamUser('carol') });
    const text = compact([third]);
    const cut = text.indexOf('SendCommand') + 4;
    const files = [
      { key: keyAt(0, '.json'), bytes: gzipSync(compact([first])) },
      { key: keyAt(5, '.json.gz'), bytes: Buffer.from(compact([second])) },
      // two gzip members cut inside the eventName: one file
      { key: keyAt(10, '.json.gz'), bytes: Buffer.concat([gzipSync(text.slice(0, cut)), gzipSync(text.slice(cut))]) },
    ];
    const { findings, corrupt } = scan(files);
    expect(corrupt.size).toBe(0);
    expect(users(findings)).toEqual(['alice', 'bob', 'carol']);
  });

  test('a file that is not valid JSON, even deep inside a record no rule selects, contributes no record', () => {
    const command = sendCommand({ eventID: 'cmd-lost', userIdentity: iamUser('mallory') });
    const kept = sendCommand({ eventID: 'cmd-kept', userIdentity: iamUser('alice') });
    const holder = describeInstances('holder', { filters: [{ name: 'state', values: ['running', 'BAD'] }] });
    const valid = compact([command, holder]);
    const broken = [
      valid.replace('"BAD"', 'tru'),
      valid.replace('"BAD"', '"BAD",'), // a trailing comma
      valid.replace('"BAD"', '{"a":"BAD",}'),
      valid.replace('"BAD"', '"B\u0001D"'), // a raw control character inside a string
      valid.replace('"BAD"', '"BAD"}'), // a lone }
      valid.replace('"BAD"', '"\\x41"'), // not an escape
      valid.replace('"BAD"', '01'),
      `${valid}x`,
    ];
    for (const text of broken) {
      expect(() => JSON.parse(text)).toThrow();
      const { findings, corrupt } = scan([file(0, text), file(5, compact([kept]))]);
      expect([...corrupt.keys()]).toEqual([keyAt(0)]);
      expect(users(findings)).toEqual(['alice']);
    }
    // and a file without Records, or whose Records is not an array
    for (const text of ['{"records":[]}', '{"Records":{}}', '{"Records":[],"Records":null}', '[{"Records":[]}]', '']) {
      expect([...scan([file(0, text)]).corrupt.keys()]).toEqual([keyAt(0)]);
    }
  });

  test('a malformed record claims no eventID: a well-formed copy after it still counts', () => {
    const malformed = [
      sendCommand({ eventID: 'cmd-1', eventTime: '2026-11-25 10:00:05Z', userIdentity: iamUser('mallory') }),
      sendCommand({ eventID: 'cmd-1', eventTime: '2026-11-25T10:00:05', userIdentity: iamUser('mallory') }),
      { ...sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('mallory') }), eventTime: 1795600805000 },
    ];
    const valid = sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('alice') });
    for (const record of malformed) {
      // in an earlier file, and earlier in the same file
      expect(users(scan([file(0, compact([record])), file(5, compact([valid]))]).findings)).toEqual(['alice']);
      expect(users(scan([file(0, compact([record, valid]))]).findings)).toEqual(['alice']);
    }
    // an eventID that is not a string is not the string it prints as
    const numeric = { ...sendCommand({ userIdentity: iamUser('mallory') }), eventID: 123 };
    const named = sendCommand({ eventID: '123', userIdentity: iamUser('alice') });
    expect(users(scan([file(0, compact([numeric, named]))]).findings)).toEqual(['alice']);
  });

  test('of copies of one eventID that differ, the first (by key, then position) is kept, for every rule', () => {
    const alice = sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('alice') });
    const bob = sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('bob') });
    expect(users(scan([file(0, compact([alice])), file(5, compact([bob]))]).findings)).toEqual(['alice']);
    expect(users(scan([file(0, compact([bob, alice]))]).findings)).toEqual(['bob']);
    // the first copy is one rule 2 does not select (not exactly SendCommand): the later one must not be joined
    const proxied = sendCommand({ eventID: 'cmd-2', eventName: 'SendCommandX', outputS3BucketName: 'exfil-bucket', userIdentity: iamUser('alice') });
    const joinable = sendCommand({ eventID: 'cmd-2', outputS3BucketName: 'exfil-bucket', userIdentity: iamUser('alice') });
    const put = s3Put({ eventID: 'put-1', bucket: 'exfil-bucket' });
    const { findings } = scan([file(0, compact([proxied])), file(5, compact([put, joinable]))]);
    expect(rule2(findings)).toEqual([]);
    expect(rule1(findings)).toEqual([expect.objectContaining({ user: 'alice', eventIds: ['cmd-2'] })]);
    // the first copy lies outside the scan day: the later copy inside it does not count either
    const yesterday = sendCommand({ eventID: 'cmd-3', eventTime: '2026-11-24T23:59:59Z', userIdentity: iamUser('bob') });
    const today = sendCommand({ eventID: 'cmd-3', eventTime: '2026-11-25T10:00:00Z', userIdentity: iamUser('bob') });
    expect(scan([file(0, compact([yesterday])), file(5, compact([today]))]).findings).toEqual([]);
  });
});

describe('gzip by content through a directory source', () => {
  const saved = { threads: process.env.TRAILWARDEN_SCAN_THREADS, scratch: process.env.TRAILWARDEN_SCRATCH_DIR };
  let root: string;

  beforeAll(() => {
    // scan on this thread: the scan threads run the compiled dist/, not the src/ under test
    process.env.TRAILWARDEN_SCAN_THREADS = '0';
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-regressions-'));
    process.env.TRAILWARDEN_SCRATCH_DIR = path.join(root, 'scratch');
  });

  afterAll(() => {
    for (const [name, value] of [
      ['TRAILWARDEN_SCAN_THREADS', saved.threads],
      ['TRAILWARDEN_SCRATCH_DIR', saved.scratch],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a .json name with gzip bytes and a .json.gz name with plain bytes are both read', async () => {
    const logs = path.join(root, 'logs');
    fs.mkdirSync(logs, { recursive: true });
    fs.writeFileSync(path.join(logs, 'a.json'), gzipSync(compact([sendCommand({ eventID: 'cmd-1', userIdentity: iamUser('alice') })])));
    fs.writeFileSync(
      path.join(logs, 'b.json.gz'),
      compact([sendCommand({ eventID: 'cmd-2', eventTime: '2026-11-25T11:00:00Z', userIdentity: iamUser('bob') })]),
    );
    const input = {
      scanId: 'regressions-gzip',
      partition: { id: '0-dir', sourceIndex: 0, label: `directory ${logs}` },
      source: { type: 'directory' as const, path: logs },
      rules: RULES,
      period: PERIOD,
    };
    const result: PartitionResult = await new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(scanPartition, input);
    expect(result.stats.objects).toBe(2);
    expect(result.skipped).toEqual([]);
    const correlated = await correlate({ scanId: 'regressions-gzip', period: PERIOD, rules: RULES, selected: [result.selected] });
    const findings = [...blobLines(correlated.findings)].map((line) => JSON.parse(line) as Finding);
    expect(users(findings)).toEqual(['alice', 'bob']);
  });
});
