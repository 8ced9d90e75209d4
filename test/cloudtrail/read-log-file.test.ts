import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { mightMatch, readLogFile, type ReadCounts } from '../../src/cloudtrail/read-log-file';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { LogFileFormatError } from '../../src/cloudtrail/record-splitter';

const SAMPLES_DIR = path.resolve(__dirname, '../fixtures/cloudtrail-samples');

const NEEDLES = ['SendCommand', 'CreateAssociation', 'PutObject'].map((n) => Buffer.from(n));

/** A body streamed in chunks of the given size (the whole buffer when size is 0). */
async function* body(bytes: Buffer, size = 0): AsyncGenerator<Buffer> {
  if (size <= 0) {
    yield bytes;
    return;
  }
  for (let i = 0; i < bytes.length; i += size) yield Buffer.from(bytes.subarray(i, i + size));
}

interface ReadResult {
  records: CloudTrailRecord[];
  malformed: string[];
  counts: ReadCounts;
}

async function read(source: AsyncIterable<Buffer | Uint8Array>, needles: readonly Buffer[] = NEEDLES): Promise<ReadResult> {
  const records: CloudTrailRecord[] = [];
  const malformed: string[] = [];
  const counts = await readLogFile(source, needles, {
    onRecord: (record) => records.push(record),
    onMalformedRecord: (reason) => malformed.push(reason),
  });
  return { records, malformed, counts };
}

async function readError(source: AsyncIterable<Buffer | Uint8Array>): Promise<unknown> {
  try {
    await read(source);
  } catch (error) {
    return error;
  }
  throw new Error('readLogFile did not throw');
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
  rec('id-3', 'PutObject', { eventSource: 's3.amazonaws.com', requestParameters: { bucketName: 'b', key: 'k' } }),
  rec('id-4', 'GetCommandInvocation'),
];

describe('readLogFile', () => {
  it('gives the same records for gzipped and plain bodies, whatever the chunk size', async () => {
    const plain = doc(MIXED);
    const gz = gzipSync(plain);
    const expected = await read(body(plain));
    expect(expected.records.map((r) => r.eventID)).toEqual(['id-1', 'id-3']);
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
    expect(fromStream.records.map((r) => r.eventID)).toEqual(['id-1', 'id-3']);
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
    expect(result.records.map((r) => r.eventID)).toEqual(['id-1', 'id-3']);
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

  describe('raw-text pre-test', () => {
    it('counts records without the needles but does not parse them', async () => {
      const records = [
        rec('n-1', 'DescribeInstances'),
        rec('n-2', 'ListBuckets'),
        rec('hit', 'SendCommand'),
        rec('n-3', 'GetObject'),
      ];
      const result = await read(body(doc(records)), [Buffer.from('SendCommand')]);
      expect(result.counts.records).toBe(4);
      expect(result.counts.parsed).toBe(1);
      expect(result.records.map((r) => r.eventID)).toEqual(['hit']);
    });

    it('does not report a malformed record it never parsed', async () => {
      const text = '{"Records":[{"eventName":"DescribeInstances", broken},{"eventID":"x","eventName":"ListBuckets"}]}';
      const result = await read(body(Buffer.from(text)), [Buffer.from('SendCommand')]);
      expect(result.counts).toMatchObject({ records: 2, parsed: 0 });
      expect(result.malformed).toEqual([]);
      expect(result.records).toEqual([]);
    });

    it('still delivers a record whose eventName is written with a \\u escape', async () => {
      const text = `{"Records":[{"eventID":"esc-1","eventTime":"2026-11-25T10:00:05Z","eventName":"\\u0053endCommand"},${JSON.stringify(rec('plain-1', 'DescribeInstances'))}]}`;
      expect(text).not.toContain('SendCommand');
      const result = await read(body(gzipSync(Buffer.from(text)), 3), [Buffer.from('SendCommand')]);
      expect(result.records).toHaveLength(1);
      expect(result.records[0].eventName).toBe('SendCommand');
      expect(result.records[0].eventID).toBe('esc-1');
      expect(result.counts).toMatchObject({ records: 2, parsed: 1 });
    });

    it('mightMatch matches a needle or any \\u escape, nothing else', () => {
      const needles = [Buffer.from('PutObject')];
      expect(mightMatch(Buffer.from('{"eventName":"PutObject"}'), needles)).toBe(true);
      expect(mightMatch(Buffer.from('{"eventName":"\\u0050utObject"}'), needles)).toBe(true);
      expect(mightMatch(Buffer.from('{"eventName":"GetObject","p":"C:\\\\u"}'), needles)).toBe(true);
      expect(mightMatch(Buffer.from('{"eventName":"GetObject"}'), needles)).toBe(false);
      expect(mightMatch(Buffer.from('{"eventName":"putobject"}'), needles)).toBe(false);
    });
  });

  describe('malformed records', () => {
    it('reports a record that is not valid JSON and still delivers the others', async () => {
      const text = `{"Records":[${JSON.stringify(rec('ok-1', 'SendCommand'))},{"eventName":"SendCommand", bad},${JSON.stringify(rec('ok-2', 'PutObject'))}]}`;
      expect(() => JSON.parse(text)).toThrow();
      for (const size of [0, 1, 5]) {
        const result = await read(body(gzipSync(Buffer.from(text)), size));
        expect(result.records.map((r) => r.eventID)).toEqual(['ok-1', 'ok-2']);
        expect(result.malformed).toHaveLength(1);
        expect(result.malformed[0]).toMatch(/^record 2 is not valid JSON/);
        expect(result.counts).toMatchObject({ records: 3, parsed: 3 });
      }
    });

    it('reports records without eventID or with an unparsable eventTime', async () => {
      const noId = rec('x', 'SendCommand');
      delete noId.eventID;
      const records = [
        noId,
        rec('', 'SendCommand'),
        rec('numeric', 'SendCommand', { eventID: 42 }),
        rec('bad-time', 'SendCommand', { eventTime: 'yesterday at noon' }),
        rec('no-time', 'SendCommand', { eventTime: undefined }),
        rec('num-time', 'SendCommand', { eventTime: 1764064805000 }),
        rec('good', 'SendCommand'),
      ];
      const result = await read(body(doc(records)));
      expect(result.records.map((r) => r.eventID)).toEqual(['good']);
      expect(result.malformed).toEqual([
        'record has no eventID',
        'record has no eventID',
        'record has no eventID',
        'record bad-time has no parsable eventTime',
        'record no-time has no parsable eventTime',
        'record num-time has no parsable eventTime',
      ]);
      expect(result.counts).toMatchObject({ records: 7, parsed: 7 });
    });

    it('reports non-object Records elements and counts them as records', async () => {
      const text = `{"Records":[1,"SendCommand",null,${JSON.stringify(rec('ok', 'SendCommand'))},[{"eventID":"inner"}]]}`;
      const result = await read(body(Buffer.from(text), 4));
      expect(result.records.map((r) => r.eventID)).toEqual(['ok']);
      expect(result.malformed).toEqual(Array(4).fill('a Records element is not a JSON object'));
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
      // a needle every record holds: all are parsed and delivered
      const everything = [Buffer.from('"eventID"')];
      for (const source of [body(bytes), body(gzipSync(bytes), 17), fs.createReadStream(path.join(SAMPLES_DIR, file))]) {
        const result = await read(source, everything);
        expect(result.counts.records).toBe(expected.length);
        expect(result.counts.parsed).toBe(expected.length);
        expect(result.records).toEqual(expected);
        expect(result.malformed).toEqual([]);
      }
      // with the rule needles, exactly the records whose text names them are parsed
      const result = await read(body(gzipSync(bytes)));
      expect(result.counts.records).toBe(expected.length);
      const mentioning = expected.filter((r) => NEEDLES.some((n) => JSON.stringify(r).includes(n.toString())));
      expect(result.counts.parsed).toBeGreaterThanOrEqual(mentioning.length);
      for (const r of mentioning) expect(result.records).toContainEqual(r);
    });

    it.each(files.filter((f) => !withRecords.includes(f)))('%s (no Records array) is rejected', async (file) => {
      const bytes = fs.readFileSync(path.join(SAMPLES_DIR, file));
      expect(await readError(body(gzipSync(bytes)))).toBeInstanceOf(LogFileFormatError);
    });
  });
});
