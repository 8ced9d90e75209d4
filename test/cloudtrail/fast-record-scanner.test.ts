import { gzipSync } from 'node:zlib';
import { readLogFile } from '../../src/cloudtrail/read-log-file';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';

const NEEDLES = ['SendCommand', 'CreateAssociation', 'PutObject'].map((n) => Buffer.from(n));

/** A tiny seeded PRNG, so every run checks the same documents. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRICKY = ['},{', '},{"x', 'a},{', '{"Records":[', ']}', '\\"},{\\"', 'SendCommand', '\u00e9t\u00e9 ☃', '},\n{', '[]', '{}'];

function record(i: number, random: () => number): CloudTrailRecord {
  const names = ['DescribeInstances', 'SendCommand', 'PutObject', 'CreateAssociation', 'GetObject', 'AssumeRole'];
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const r: CloudTrailRecord = {
    eventVersion: '1.09',
    eventTime: `2026-11-25T10:${String(i % 60).padStart(2, '0')}:00Z`,
    eventID: `id-${i}`,
    eventName: pick(names),
    eventSource: 'ssm.amazonaws.com',
    requestParameters: { note: pick(TRICKY) + pick(TRICKY), nested: { list: [pick(TRICKY), { deep: pick(TRICKY) }] } },
    userAgent: pick(TRICKY),
  };
  // arrays of objects, as in resources: `},{"` inside a record
  if (random() < 0.5) r.resources = [{ type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::b/k' }, { accountId: '444455556666', type: 'AWS::S3::Bucket' }];
  // a string that ends in "},{" right before its closing quote
  if (random() < 0.15) r.requestParameters = { ...r.requestParameters, tail: 'ends with },{"eventVersion":' };
  // a nested array of objects that begin with "eventVersion": a false record separator
  if (random() < 0.05) r.responseElements = { items: [{ eventVersion: 'x', n: 1 }, { eventVersion: 'y', n: 2 }] };
  return r;
}

async function readBoth(text: string) {
  const bytes = gzipSync(Buffer.from(text));
  const exact: string[] = [];
  const fast: string[] = [];
  const onMalformed = () => undefined;
  const a = await readLogFile((async function* () { yield bytes; })(), NEEDLES, { onRecord: (r) => exact.push(JSON.stringify(r)), onMalformedRecord: onMalformed });
  const b = await readLogFile(async () => (async function* () {
    // deliver in awkward pieces, as a network body does
    for (let i = 0; i < bytes.length; i += 97) yield bytes.subarray(i, i + 97);
  })(), NEEDLES, { onRecord: (r) => fast.push(JSON.stringify(r)), onMalformedRecord: onMalformed });
  return { exact, fast, a, b };
}

describe('the fast path for compact files finds exactly what the exact reader finds', () => {
  test.each(Array.from({ length: 40 }, (_, seed) => seed))('random compact document %i', async (seed) => {
    const random = prng(seed + 1);
    const records = Array.from({ length: 1 + Math.floor(random() * 300) }, (_, i) => record(i, random));
    const { exact, fast, a, b } = await readBoth(JSON.stringify({ Records: records }));
    expect(fast).toEqual(exact);
    expect(a.records).toBe(records.length);
    // the fast path counts separators: a nested array of objects that begin with "eventVersion" (when the
    // file did not fall back to the exact reader) adds to its count, and nothing else does
    const nested = records.filter((r) => r.responseElements && 'items' in r.responseElements).length;
    expect(b.records).toBeGreaterThanOrEqual(records.length);
    expect(b.records).toBeLessThanOrEqual(records.length + nested);
    if (!nested) expect(b.records).toBe(records.length);
    const expected = records.filter((r) => /SendCommand|CreateAssociation|PutObject|\\u/.test(JSON.stringify(r)));
    expect(exact).toHaveLength(expected.length);
  });

  test('a needle written with a \\u escape is found by both', async () => {
    const text = '{"Records":[{"eventID":"a","eventTime":"2026-11-25T10:00:00Z","eventName":"\\u0053endCommand"},{"eventID":"b","eventTime":"2026-11-25T10:00:00Z","eventName":"Other"}]}';
    const { exact, fast } = await readBoth(text);
    expect(fast).toEqual(exact);
    expect(fast.map((r) => JSON.parse(r).eventName)).toEqual(['SendCommand']);
  });

  test.each([
    ['pretty-printed', (records: CloudTrailRecord[]) => JSON.stringify({ Records: records }, null, 2)],
    ['another key first', (records: CloudTrailRecord[]) => JSON.stringify({ Meta: 1, Records: records })],
    ['another key last', (records: CloudTrailRecord[]) => JSON.stringify({ Records: records, Meta: { a: [1] } })],
    ['spaces between records', (records: CloudTrailRecord[]) => `{"Records":[${records.map((r) => JSON.stringify(r)).join(', ')}]}\n`],
  ])('%s: falls back to the exact reader with the same result', async (_name, render) => {
    const random = prng(99);
    const records = Array.from({ length: 50 }, (_, i) => record(i, random));
    const { exact, fast, a, b } = await readBoth(render(records));
    expect(fast).toEqual(exact);
    expect(b.records).toBe(a.records);
    expect(exact.length).toBeGreaterThan(0);
  });

  test('a truncated or empty document gives the exact reader its error or its empty result', async () => {
    const full = JSON.stringify({ Records: [record(1, prng(3)), record(2, prng(4))] });
    const reader = (text: string) => readLogFile(async () => (async function* () { yield Buffer.from(text); })(), NEEDLES, { onRecord: () => undefined, onMalformedRecord: () => undefined });
    await expect(reader(full.slice(0, -5))).rejects.toThrow(/truncated/);
    await expect(reader('{"Records":[]}')).resolves.toMatchObject({ records: 0 });
  });
});
