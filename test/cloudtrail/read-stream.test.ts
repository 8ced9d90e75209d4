/**
 * scanObjectStream: the JavaScript reader fed in chunks (files too large to hold in memory), on gzip and
 * plain bodies, corrupt ones, and the real samples.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { type ScanContext, scanContext, scanObjectStream } from '../../src/scan/scan-object';
import { candidateMatcher } from '../../src/scan/candidate-matcher';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { LogFileFormatError } from '../../src/scan/records-reader';
import { parseConfig } from '../../src/config/load';
import type { RecordLine } from '../../src/rules/selection';

/** A put the skip test rules out unread: every accountId blank or the record's own recipientAccountId. */
function isOwnPut(record: CloudTrailRecord): boolean {
  if (record.eventName !== 'PutObject') return false;
  const own = typeof record.recipientAccountId === 'string' ? record.recipientAccountId : '';
  const ids = [...JSON.stringify(record).matchAll(/"accountId":("[^"]*"|[^,}\]]*)/g)].map((m) => m[1]);
  return ids.every((id) => id === '""' || id === JSON.stringify(own));
}

const SAMPLES_DIR = path.resolve(__dirname, '../fixtures/cloudtrail-samples');
const PERIOD = { startMs: Date.parse('2026-11-25T00:00:00Z'), endMs: Date.parse('2026-11-26T00:00:00Z') };
const RULES = scanContext({ rules: parseConfig({ sources: [] }).rules, period: PERIOD }, { native: null });
/** A scanner whose candidates are every record with a string eventName. */
const EVERYTHING: ScanContext = { ...RULES, matcher: candidateMatcher([{ equals: [], contains: [''] }]) };

/** A body streamed in chunks of the given size (the whole buffer when size is 0). */
async function* body(bytes: Buffer, size = 0): AsyncGenerator<Buffer> {
  if (size <= 0) {
    yield bytes;
    return;
  }
  for (let i = 0; i < bytes.length; i += size) yield Buffer.from(bytes.subarray(i, i + size));
}

interface ReadResult {
  /** eventIDs of the candidate records read, in order */
  records: string[];
  malformed: string[];
  counts: { records: number; parsed: number; bytes: number };
}

async function read(source: AsyncIterable<Buffer | Uint8Array>, scanner: ScanContext = RULES): Promise<ReadResult> {
  const scan = await scanObjectStream(source, scanner);
  return {
    records: scan.lines.map((line) => (JSON.parse(line) as RecordLine).eventID),
    malformed: scan.malformed,
    counts: { records: scan.records, parsed: scan.parsed, bytes: scan.bytes },
  };
}

async function readError(source: AsyncIterable<Buffer | Uint8Array>): Promise<unknown> {
  try {
    await read(source);
  } catch (error) {
    return error;
  }
  throw new Error('scanObjectStream did not throw');
}

function rec(eventID: string, eventName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    eventTime: '2026-11-25T10:00:05Z',
    eventSource: 'ssm.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    eventID,
    recipientAccountId: '111122223333',
    ...extra,
  };
}

function doc(records: readonly unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ Records: records }), 'utf8');
}

const MIXED = [
  rec('id-1', 'SendCommand', { requestParameters: { documentName: 'AWS-RunShellScript', note: '{[é🎉]}' } }),
  rec('id-2', 'DescribeInstances', { eventSource: 'ec2.amazonaws.com' }),
  rec('id-3', 'PutObject', { eventSource: 's3.amazonaws.com', requestParameters: { bucketName: 'b', key: 'k' }, resources: [{ accountId: '444455556666' }] }),
  rec('id-4', 'GetCommandInvocation'),
];

describe('scanObjectStream', () => {
  it('gives the same records for gzipped and plain bodies, whatever the chunk size', async () => {
    const plain = doc(MIXED);
    const gz = gzipSync(plain);
    const expected = await read(body(plain));
    expect(expected.records).toEqual(['id-1', 'id-3']);
    expect(expected.counts).toEqual({ records: 4, parsed: 2, bytes: plain.length });
    expect(expected.malformed).toEqual([]);
    for (const size of [0, 1, 2, 3, 7, 64]) {
      for (const bytes of [plain, gz]) {
        const result = await read(body(bytes, size));
        expect(result.records).toEqual(expected.records);
        expect(result.counts).toEqual(expected.counts);
        expect(result.malformed).toEqual([]);
      }
    }
  });

  it('reads a Node stream and Uint8Array chunks', async () => {
    const plain = doc(MIXED);
    const fromStream = await read(Readable.from([gzipSync(plain)]));
    expect(fromStream.records).toEqual(['id-1', 'id-3']);
    async function* uint8(): AsyncGenerator<Uint8Array> {
      const gz = gzipSync(plain);
      for (let i = 0; i < gz.length; i += 5) yield new Uint8Array(gz.subarray(i, i + 5));
    }
    const fromUint8 = await read(uint8());
    expect(fromUint8.records).toEqual(fromStream.records);
  });

  it('reads concatenated gzip members as one document', async () => {
    const plain = doc(MIXED);
    const cut = Math.floor(plain.length / 2);
    const twoMembers = Buffer.concat([gzipSync(plain.subarray(0, cut)), gzipSync(plain.subarray(cut))]);
    const result = await read(body(twoMembers, 9));
    expect(result.records).toEqual(['id-1', 'id-3']);
    expect(result.counts.records).toBe(4);
    expect(result.counts.bytes).toBe(plain.length);
  });

  it('throws a zlib error (code Z_*) for a truncated gzip body', async () => {
    const gz = gzipSync(doc(MIXED));
    for (const keep of [gz.length - 1, gz.length - 8, Math.floor(gz.length / 2), 12]) {
      const error = await readError(body(gz.subarray(0, keep), 4));
      // zlib errors come from Node's own realm, so check the shape rather than instanceof
      expect(error).not.toBeInstanceOf(LogFileFormatError);
      expect(String((error as { code?: unknown }).code)).toMatch(/^Z_/);
      expect((error as Error).message).toMatch(/unexpected end of file/);
    }
  });

  it('throws a zlib error for a gzip header followed by garbage', async () => {
    const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('this is not deflate data at all, sorry')]);
    const error = await readError(body(garbage));
    expect(String((error as { code?: unknown }).code)).toMatch(/^Z_/);
  });

  it('throws LogFileFormatError for bytes that are neither gzip nor JSON', async () => {
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x9c, 0x4e]);
    expect(await readError(body(zip))).toBeInstanceOf(LogFileFormatError);
    const pseudoRandom = Buffer.alloc(4096);
    let x = 12345;
    for (let i = 0; i < pseudoRandom.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      pseudoRandom[i] = x & 0xff;
    }
    pseudoRandom[0] = 0x41; // neither gzip magic, whitespace, BOM nor "{"
    expect(await readError(body(pseudoRandom, 100))).toBeInstanceOf(LogFileFormatError);
    // gzip of something that is not a log file
    expect(await readError(body(gzipSync(Buffer.from('hello world'))))).toBeInstanceOf(LogFileFormatError);
    expect(await readError(body(gzipSync(Buffer.from('{"Records":[{"a":1}'))))).toBeInstanceOf(LogFileFormatError);
  });

  it('throws LogFileFormatError for an empty body', async () => {
    expect(await readError(body(Buffer.alloc(0)))).toBeInstanceOf(LogFileFormatError);
    async function* nothing(): AsyncGenerator<Buffer> {
      // no chunks at all
    }
    expect(await readError(nothing())).toBeInstanceOf(LogFileFormatError);
  });

  describe('releasing the body', () => {
    /** A body of many chunks that records whether the reader closed it (as a stream's iterator does). */
    function trackedBody(first: Buffer, chunks = 1000): { source: AsyncGenerator<Buffer>; state: { pulled: number; closed: boolean } } {
      const state = { pulled: 0, closed: false };
      async function* gen(): AsyncGenerator<Buffer> {
        try {
          yield first;
          for (let i = 0; i < chunks; i++) {
            state.pulled++;
            yield Buffer.alloc(1024, 0x20);
          }
        } finally {
          state.closed = true;
        }
      }
      return { source: gen(), state };
    }

    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

    it('closes a plain body it rejects early, without reading the rest', async () => {
      const { source, state } = trackedBody(Buffer.from('not json at all'));
      expect(await readError(source)).toBeInstanceOf(LogFileFormatError);
      await settle();
      expect(state.closed).toBe(true);
      expect(state.pulled).toBeLessThan(1000);
    });

    it('closes a body whose gzip data is bad', async () => {
      const { source, state } = trackedBody(Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(64, 0x41)]));
      const error = await readError(source);
      expect(String((error as { code?: unknown }).code)).toMatch(/^Z_/);
      await settle();
      expect(state.closed).toBe(true);
    });

    it('closes a body with data after the end of the document', async () => {
      const { source, state } = trackedBody(Buffer.from('{"Records":[]} trailing'));
      expect(await readError(source)).toBeInstanceOf(LogFileFormatError);
      await settle();
      expect(state.closed).toBe(true);
    });

    it('closes a file stream it rejects early (no file descriptor left open)', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-read-'));
      try {
        const file = path.join(dir, 'not-a-log.json');
        fs.writeFileSync(file, Buffer.alloc(1 << 20, 0x41));
        const stream = fs.createReadStream(file, { highWaterMark: 1024 });
        expect(await readError(stream)).toBeInstanceOf(LogFileFormatError);
        await settle();
        expect(stream.destroyed).toBe(true);
        expect(stream.bytesRead).toBeLessThan(1 << 20);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reads a good body to its end', async () => {
      const { source, state } = trackedBody(doc(MIXED), 3);
      const result = await read(source);
      expect(result.records).toHaveLength(2);
      expect(state).toEqual({ pulled: 3, closed: true });
    });
  });

  describe('candidates', () => {
    it('counts records no rule can select but does not parse them', async () => {
      const records = [rec('n-1', 'DescribeInstances'), rec('n-2', 'ListBuckets'), rec('hit', 'SendCommand'), rec('n-3', 'GetObject')];
      const result = await read(body(doc(records), 5));
      expect(result.counts.records).toBe(4);
      expect(result.counts.parsed).toBe(1);
      expect(result.records).toEqual(['hit']);
    });

    it('finds a record whose eventName or its key is written with \\u escapes, in any chunking', async () => {
      const text = `{"Records":[{"eventID":"esc-1","eventTime":"2026-11-25T10:00:05Z","eventName":"\\u0053endCommand"},{"eventID":"esc-2","eventTime":"2026-11-25T10:00:05Z","event\\u004eame":"SendCommand"},${JSON.stringify(rec('plain-1', 'DescribeInstances'))}]}`;
      for (const size of [0, 1, 3, 50]) {
        const result = await read(body(gzipSync(Buffer.from(text)), size));
        expect(result.records).toEqual(['esc-1', 'esc-2']);
        expect(result.counts).toMatchObject({ records: 3, parsed: 2 });
      }
    });
  });

  describe('corrupt documents and malformed records', () => {
    it('a record that is not valid JSON makes the whole file corrupt: none of its records are used', async () => {
      const text = `{"Records":[${JSON.stringify(rec('ok-1', 'SendCommand'))},{"eventName":"DescribeInstances", bad},${JSON.stringify(rec('ok-2', 'PutObject'))}]}`;
      for (const size of [0, 1, 5]) {
        const error = await readError(body(gzipSync(Buffer.from(text)), size));
        expect(error).toBeInstanceOf(LogFileFormatError);
        expect((error as Error).message).toBe(`not valid JSON (unexpected byte at offset ${text.indexOf('bad')})`);
      }
    });

    it('reports candidates without eventID or with an eventTime not in docs/rules.md form, and uses the others', async () => {
      const noId = rec('x', 'SendCommand');
      delete noId.eventID;
      const records = [
        noId,
        rec('', 'SendCommand'),
        rec('numeric', 'SendCommand', { eventID: 42 }),
        rec('bad-time', 'SendCommand', { eventTime: 'yesterday at noon' }),
        rec('no-time', 'SendCommand', { eventTime: undefined }),
        rec('num-time', 'SendCommand', { eventTime: 1764064805000 }),
        rec('spaced-time', 'SendCommand', { eventTime: '2026-11-25 10:00:05Z' }),
        rec('offset-time', 'SendCommand', { eventTime: '2026-11-25T10:00:05+00:00' }),
        rec('good', 'SendCommand'),
        rec('fraction', 'SendCommand', { eventTime: '2026-11-25T10:00:05.123456Z' }),
        rec('quiet', 'DescribeInstances', { eventTime: 'never' }),
      ];
      const result = await read(body(doc(records)));
      expect(result.records).toEqual(['good', 'fraction']);
      expect(result.malformed).toEqual([
        'malformed record: record has no eventID',
        'malformed record: record has no eventID',
        'malformed record: record has no eventID',
        'malformed record: record bad-time has no parsable eventTime',
        'malformed record: record no-time has no parsable eventTime',
        'malformed record: record num-time has no parsable eventTime',
        'malformed record: record spaced-time has no parsable eventTime',
        'malformed record: record offset-time has no parsable eventTime',
      ]);
      expect(result.counts).toMatchObject({ records: 11, parsed: 10 });
    });

    it('counts non-object Records elements as records, without naming them (no rule could select them)', async () => {
      const text = `{"Records":[1,"SendCommand",null,${JSON.stringify(rec('ok', 'SendCommand'))},[{"eventID":"inner","eventName":"SendCommand"}]]}`;
      const result = await read(body(Buffer.from(text), 4));
      expect(result.records).toEqual(['ok']);
      expect(result.malformed).toEqual([]);
      expect(result.counts.records).toBe(5);
      expect(result.counts.parsed).toBe(1);
    });
  });

  describe('real samples', () => {
    const files = fs
      .readdirSync(SAMPLES_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();

    it('finds the sample files', () => {
      expect(files.length).toBeGreaterThanOrEqual(6);
    });

    const withRecords = files.filter((f) => {
      const json = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, f), 'utf8')) as { Records?: unknown };
      return Array.isArray(json.Records);
    });

    it('has several samples with a Records array', () => {
      expect(withRecords.length).toBeGreaterThanOrEqual(5);
    });

    it.each(withRecords)('%s reads with the right record count, plain and gzipped', async (file) => {
      const bytes = fs.readFileSync(path.join(SAMPLES_DIR, file));
      const expected = (JSON.parse(bytes.toString('utf8')) as { Records: CloudTrailRecord[] }).Records;
      for (const source of [body(bytes), body(gzipSync(bytes), 17), fs.createReadStream(path.join(SAMPLES_DIR, file))]) {
        const result = await read(source, EVERYTHING);
        expect(result.counts.records).toBe(expected.length);
        expect(result.counts.parsed).toBe(expected.length);
        expect(result.records).toEqual(expected.map((r) => r.eventID));
        expect(result.malformed).toEqual([]);
      }
      // with the rules, exactly the records whose eventName they may select are read
      const result = await read(body(gzipSync(bytes)));
      const named = expected.filter((r) => RULES.matcher.accepts(r.eventName));
      expect(result.counts.records).toBe(expected.length);
      expect(result.records).toEqual(named.map((r) => r.eventID).filter((_id, i) => !isOwnPut(named[i])));
    });

    it.each(files.filter((f) => !withRecords.includes(f)))('%s (no Records array) is rejected', async (file) => {
      const bytes = fs.readFileSync(path.join(SAMPLES_DIR, file));
      expect(await readError(body(gzipSync(bytes)))).toBeInstanceOf(LogFileFormatError);
    });
  });
});
