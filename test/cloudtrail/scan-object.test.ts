import { gzipSync } from 'node:zlib';
import { DocumentTooLarge, MAX_DOCUMENT_BYTES, type ObjectScan, scanContext, scanObjectBytes } from '../../src/scan/scan-object';
import { type CloudTrailRecord, malformedReason } from '../../src/cloudtrail/record';
import { RecordsReader } from '../../src/scan/records-reader';
import { parseConfig } from '../../src/config/load';
import { type RecordLine, selectRecord } from '../../src/rules/selection';
import { prng } from '../helpers/prng';

const PERIOD = { startMs: Date.parse('2026-11-25T00:00:00Z'), endMs: Date.parse('2026-11-26T00:00:00Z') };
const JOB = { rules: parseConfig({ sources: [] }).rules, period: PERIOD };
/** libdeflate and the native search (built by npm run build: native-scanner.test.ts fails without it) */
const scanner = scanContext(JOB);
const jsScanner = scanContext(JOB, { native: null });

const TRICKY = ['},{', '},{"x', 'a},{', '{"Records":[', ']}', '\\"},{\\"', 'SendCommand', '"eventName":"PutObject"', '\u00e9t\u00e9 ☃', '},\n{', '[]', '{}'];
const OWN = '111122223333';
const FOREIGN = '444455556666';

/** Also malformed records, and nested arrays of objects that look like records (which are never records). */
interface Oddities {
  malformed: boolean;
  nested: boolean;
}

function record(i: number, random: () => number, odd: Oddities = { malformed: true, nested: true }): CloudTrailRecord {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const eventName = pick(['DescribeInstances', 'SendCommand', 'PutObject', 'PutObject', 'CreateAssociation', 'GetObject', 'AssumeRole']);
  const r: CloudTrailRecord = {
    eventVersion: '1.09',
    userIdentity: pick([
      { type: 'IAMUser', userName: 'alice', accountId: pick([OWN, FOREIGN]) },
      { type: 'AWSService', invokedBy: 'ssm.amazonaws.com' },
    ]),
    eventTime: `2026-11-25T10:${String(i % 60).padStart(2, '0')}:00Z`,
    eventSource: eventName.endsWith('Object') ? 's3.amazonaws.com' : 'ssm.amazonaws.com',
    eventName,
    requestParameters: {
      bucketName: pick(['out-bucket', 'own-bucket']),
      outputS3BucketName: 'out-bucket',
      parameters: { commands: ['id'] },
      note: pick(TRICKY) + pick(TRICKY),
      nested: { list: [pick(TRICKY), { deep: pick(TRICKY) }] },
    },
    responseElements: { command: { commandId: `c-${i}` } },
    eventID: `id-${i}`,
    recipientAccountId: OWN,
    userAgent: pick(TRICKY),
  };
  // a nested array of objects that begin with "eventVersion" (a false record separator), before resources:
  // the piece of the record before it holds its eventName and recipientAccountId, the piece after it the owner
  if (odd.nested && random() < 0.04)
    r.serviceEventDetails = {
      items: [
        { eventVersion: 'x', n: 1 },
        { eventVersion: 'y', eventName: 'PutObject', n: 2 },
      ],
    };
  if (random() < 0.7)
    r.resources = [
      { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::b/k' },
      { accountId: pick([OWN, FOREIGN, '', null]), type: 'AWS::S3::Bucket' },
    ];
  if (random() < 0.1) delete r.recipientAccountId;
  if (random() < 0.05) delete r.userIdentity;
  if (odd.malformed && random() < 0.05) delete r.eventID; // malformed
  // a string that ends in "},{" right before its closing quote
  if (random() < 0.1) r.requestParameters = { ...r.requestParameters, tail: 'ends with },{"eventVersion":' };
  // a nested eventName key, with a selected name or another
  if (random() < 0.1) r.additionalEventData = { eventName: pick(['PutObject', 'SendCommand', 'ListBuckets']) };
  return r;
}

/** How a record is written: mostly compact, sometimes with whitespace or \u escapes in its eventName. */
function render(r: CloudTrailRecord, random: () => number): string {
  const text = JSON.stringify(r);
  const roll = random();
  if (roll < 0.05) return text.replace('"eventName":"', '"eventName" : "');
  if (roll < 0.1)
    return text.replace(`"eventName":"${r.eventName}"`, `"eventName":"${String(r.eventName).replace(/^./, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)}"`);
  if (roll < 0.12) return text.replace('"eventName":', '"event\\u004eame":');
  return text;
}

/**
 * What the rules keep, by the slowest and plainest route: parse every record, judge each. A malformed
 * record is reported exactly when its eventName is one the rules may select.
 */
function reference(texts: string[]) {
  const selections: string[] = [];
  let malformed = 0;
  for (const text of texts) {
    const r = JSON.parse(text) as CloudTrailRecord;
    if (malformedReason(r)) {
      if (scanner.matcher.accepts(r.eventName)) malformed++;
      continue;
    }
    for (const line of selectRecord(scanner.rules, r, scanner.readWindow)) selections.push(JSON.stringify(line));
  }
  return { selections, malformed };
}

/** The rule selections of a scan's record lines, in order. */
function selectionsOf(scan: ObjectScan): string[] {
  return scan.lines.flatMap((line) => (JSON.parse(line) as RecordLine).selected.map((selected) => JSON.stringify(selected)));
}

/** The same scan on the native and the JavaScript route, but for the route's name. */
function bothRoutes(bytes: Buffer): ObjectScan {
  const scan = scanObjectBytes(bytes, scanner);
  expect({ ...scanObjectBytes(bytes, jsScanner), reader: scan.reader }).toEqual(scan);
  return scan;
}

describe('scanObjectBytes keeps exactly what parsing every record would keep', () => {
  test.each(Array.from({ length: 80 }, (_, seed) => seed))('random document %i', (seed) => {
    const random = prng(seed + 1);
    const odd = { malformed: seed % 3 === 1, nested: seed % 3 !== 0 };
    const records = Array.from({ length: 1 + Math.floor(random() * 200) }, (_, i) => record(i, random, odd));
    const texts = records.map((r) => render(r, random));
    const text = `{"Records":[${texts.join(',')}]}`;
    const expected = reference(texts);
    for (const bytes of [Buffer.from(text), gzipSync(text)]) {
      const scan = bothRoutes(bytes);
      expect(scan.reader).toBe('native');
      expect(selectionsOf(scan)).toEqual(expected.selections);
      expect(scan.malformed.length).toBe(expected.malformed);
      expect(scan.records).toBe(records.length);
    }
  });

  test('a document of many own puts parses none of them', () => {
    const records = Array.from({ length: 100 }, (_, i) => ({
      eventVersion: '1.09',
      userIdentity: { type: 'IAMUser', accountId: OWN, userName: 'app' },
      eventTime: '2026-11-25T10:00:00Z',
      eventSource: 's3.amazonaws.com',
      eventName: 'PutObject',
      requestParameters: { bucketName: 'own-bucket', key: `k/${i}` },
      eventID: `id-${i}`,
      resources: [
        { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::own-bucket/k' },
        { accountId: OWN, type: 'AWS::S3::Bucket' },
      ],
      recipientAccountId: OWN,
    }));
    const scan = bothRoutes(gzipSync(JSON.stringify({ Records: records })));
    expect(scan).toMatchObject({ records: 100, parsed: 0, lines: [] });
  });

  test('a foreign put cut in two by a nested array of record-like objects is still found', () => {
    const put = {
      eventVersion: '1.09',
      userIdentity: { type: 'IAMUser', accountId: OWN, userName: 'app' },
      eventTime: '2026-11-25T10:00:00Z',
      eventSource: 's3.amazonaws.com',
      eventName: 'PutObject',
      recipientAccountId: OWN,
      requestParameters: { bucketName: 'out-bucket', key: 'k' },
      eventID: 'foreign-put',
      details: [{ eventVersion: 'a' }, { eventVersion: 'b' }],
      resources: [{ accountId: FOREIGN, type: 'AWS::S3::Bucket' }],
    };
    const other = { eventVersion: '1.09', eventTime: '2026-11-25T10:00:00Z', eventName: 'GetObject', eventID: 'other' };
    const scan = bothRoutes(Buffer.from(JSON.stringify({ Records: [other, put, other] })));
    expect(selectionsOf(scan).map((line) => JSON.parse(line).event)).toEqual([
      expect.objectContaining({ kind: 'put', eventID: 'foreign-put', bucketOwnerAccountId: FOREIGN }),
    ]);
  });

  test('reports a selected record without userIdentity and keeps it', () => {
    const random = prng(9);
    const command = { ...record(1, random), eventName: 'SendCommand', eventID: 'no-identity' };
    delete command.userIdentity;
    const scan = scanObjectBytes(Buffer.from(JSON.stringify({ Records: [command] })), scanner);
    expect(scan.lines.length).toBeGreaterThan(0);
    expect(scan.warnings).toEqual(['record no-identity has no userIdentity: kept, with an empty user']);
  });

  test.each([
    ['compact', (records: CloudTrailRecord[]) => JSON.stringify({ Records: records })],
    ['pretty-printed', (records: CloudTrailRecord[]) => JSON.stringify({ Records: records }, null, 2)],
    ['another key first', (records: CloudTrailRecord[]) => JSON.stringify({ Meta: 1, Records: records })],
    ['another key last', (records: CloudTrailRecord[]) => JSON.stringify({ Records: records, Meta: { a: [1] } })],
    ['spaces between records', (records: CloudTrailRecord[]) => `{"Records":[${records.map((r) => JSON.stringify(r)).join(', ')}]}\n`],
    ['a byte-order mark', (records: CloudTrailRecord[]) => `\ufeff${JSON.stringify({ Records: records })}`],
  ])('%s: the same result', (_name, renderDocument) => {
    const random = prng(99);
    const records = Array.from({ length: 50 }, (_, i) => record(i, random));
    const expected = reference(records.map((r) => JSON.stringify(r)));
    const scan = bothRoutes(Buffer.from(renderDocument(records)));
    expect(selectionsOf(scan)).toEqual(expected.selections);
    expect(scan.records).toBe(50);
    expect(expected.selections.length).toBeGreaterThan(0);
  });

  test('the reader hands on each candidate once, in file order: the record’s own eventName decides, never a nested one', () => {
    const text = JSON.stringify({
      Records: [
        { eventVersion: '1', eventName: 'PutObject', eventID: 'a', a: { eventName: 'SendCommand' } },
        { eventVersion: '1', eventName: 'GetObject', eventID: 'b', a: [{ eventName: 'SendCommand' }] },
        { eventVersion: '1', eventName: 'SendCommand', eventID: 'c', a: { eventName: 'PutObject' } },
        { eventVersion: '1', eventName: 'Other', eventID: 'd', note: 'caf\\u00e9' },
      ],
    });
    const reader = new RecordsReader(scanner.matcher);
    reader.push(Buffer.from(text.replace('caf\\\\u00e9', 'caf\\u00e9')));
    const { records, raws } = reader.end();
    expect(records).toBe(4);
    expect(raws.map((raw) => JSON.parse(raw.toString()).eventID)).toEqual(['a', 'c']);
  });

  test('files inflated one after another into the reused buffer, a large one among them, keep their own results', () => {
    const random = prng(21);
    const documents = [3, 40_000, 5, 200].map((count) => Array.from({ length: count }, (_, i) => record(i, random, { malformed: false, nested: false })));
    expect(JSON.stringify({ Records: documents[1] }).length).toBeGreaterThan(8 * 1024 * 1024);
    const gzipped = documents.map((records) => gzipSync(JSON.stringify({ Records: records })));
    const alone = gzipped.map((bytes) => ({ ...scanObjectBytes(bytes, jsScanner), reader: 'native' }));
    for (const i of [0, 1, 2, 3, 1, 0, 3]) expect(scanObjectBytes(gzipped[i], scanner)).toEqual(alone[i]);
    expect(alone.map((scan) => scan.records)).toEqual([3, 40_000, 5, 200]);
  });

  test('a file that inflates past the in-memory limit is refused, to be streamed instead', () => {
    const padding = ' '.repeat(MAX_DOCUMENT_BYTES);
    expect(() => scanObjectBytes(gzipSync(`{"Records":[${padding}]}`), scanner)).toThrow(DocumentTooLarge);
  });

  test('a truncated or empty document gives its error or its empty result', () => {
    const full = JSON.stringify({ Records: [record(1, prng(3)), record(2, prng(4))] });
    expect(() => scanObjectBytes(Buffer.from(full.slice(0, -5)), scanner)).toThrow(/truncated/);
    expect(() => scanObjectBytes(gzipSync(full).subarray(0, 40), scanner)).toThrow(/unexpected end of file/);
    expect(scanObjectBytes(Buffer.from('{"Records":[]}'), scanner)).toMatchObject({ records: 0, lines: [] });
  });
});
