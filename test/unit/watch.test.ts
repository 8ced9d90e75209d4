import { parseConfig } from '../../src/config/load';
import { UsageError } from '../../src/config/load';
import { watchInputOf } from '../../src/cli/watch';
import { parseNotification } from '../../src/sources/sqs';
import { activeDays, daysOfDelivery } from '../../src/watch/days';
import { percentiles } from '../../src/watch/correlate-day';
import { type WatchedObject, objectId, readDay, recordsOf, seenObjects, writeObjects } from '../../src/watch/day-store';
import { DirectoryBlobStore } from '../../src/store/blob-store';
import { tempDir } from '../helpers/cli';

const KEY = 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T1005Z_abcdefABCDEF0123.json.gz';

describe('delivery notifications', () => {
  test("CloudTrail's SNS message through SNS (an envelope) and raw", () => {
    const message = JSON.stringify({ s3Bucket: 'trail', s3ObjectKey: [KEY, `${KEY}x`] });
    const envelope = JSON.stringify({ Type: 'Notification', MessageId: 'm', Message: message, Timestamp: '2026-11-25T10:06:00.000Z' });
    expect(parseNotification(envelope, 1)).toEqual({
      objects: [KEY, `${KEY}x`].map((key) => ({ bucket: 'trail', key, notifiedMs: Date.parse('2026-11-25T10:06:00.000Z') })),
    });
    expect(parseNotification(message, 7)).toEqual({
      objects: [
        { bucket: 'trail', key: KEY, notifiedMs: 7 },
        { bucket: 'trail', key: `${KEY}x`, notifiedMs: 7 },
      ],
    });
  });

  test('S3 event notifications: URL-encoded keys, created objects only; the test event names none', () => {
    const record = (eventName: string, key: string) => ({ eventSource: 'aws:s3', eventName, s3: { bucket: { name: 'trail' }, object: { key } } });
    const body = JSON.stringify({ Records: [record('ObjectCreated:Put', 'AWSLogs/a+b%2Bc.json.gz'), record('ObjectRemoved:Delete', 'gone.json.gz')] });
    expect(parseNotification(body, 5)).toEqual({ objects: [{ bucket: 'trail', key: 'AWSLogs/a b+c.json.gz', notifiedMs: 5 }] });
    expect(parseNotification(JSON.stringify({ Records: [record('ObjectRemoved:Delete', 'x')] }), 5)).toEqual({
      objects: [],
      ignored: 'S3 event without created objects',
    });
    expect(parseNotification(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'trail' }), 5)).toEqual({
      objects: [],
      ignored: 'S3 test event',
    });
  });

  test('bodies of neither format are ignored with a reason', () => {
    expect(parseNotification('not json', 1).ignored).toBe('not JSON');
    expect(parseNotification('[1]', 1).ignored).toBe('not a JSON object');
    expect(parseNotification('{"hello":1}', 1).ignored).toBe('neither a CloudTrail nor an S3 event notification');
  });
});

describe('open days', () => {
  const at = (text: string) => Date.parse(text);
  test('a day is open from its start until dayEndsAfter after its end', () => {
    expect(activeDays(at('2026-11-25T10:00:00Z'), 2 * 3_600_000)).toEqual(['2026-11-25']);
    expect(activeDays(at('2026-11-26T01:59:00Z'), 2 * 3_600_000)).toEqual(['2026-11-25', '2026-11-26']);
    expect(activeDays(at('2026-11-26T02:00:00Z'), 2 * 3_600_000)).toEqual(['2026-11-26']);
    expect(activeDays(at('2026-11-26T12:00:00Z'), 86_400_000 + 1)).toEqual(['2026-11-25', '2026-11-26']);
  });

  test("an object belongs to the days whose daily scan reads it: the delivery time in its name, with the day's margins", () => {
    const days = ['2026-11-25', '2026-11-26'];
    const late = 3_600_000;
    expect(daysOfDelivery(at('2026-11-25T10:05:00Z'), days, 0, late)).toEqual(['2026-11-25']);
    expect(daysOfDelivery(at('2026-11-26T00:05:00Z'), days, 0, late)).toEqual(['2026-11-25', '2026-11-26']);
    expect(daysOfDelivery(at('2026-11-26T01:00:00Z'), days, 0, late)).toEqual(['2026-11-26']);
    // 10 minutes before the day, and the rule's look-back before that
    expect(daysOfDelivery(at('2026-11-25T23:55:00Z'), days, 0, late)).toEqual(['2026-11-25', '2026-11-26']);
    expect(daysOfDelivery(at('2026-11-25T23:00:00Z'), days, 3_600_000, late)).toEqual(['2026-11-25', '2026-11-26']);
    expect(daysOfDelivery(at('2026-11-24T10:00:00Z'), days, 0, late)).toEqual([]);
    expect(daysOfDelivery(undefined, days, 0, late)).toEqual(days);
  });
});

describe('watch configuration', () => {
  const input = (sources: object[], watch?: object) => {
    const config = parseConfig({ sources, ...(watch ? { watch } : {}) });
    return watchInputOf(config, { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory }, false);
  };

  test('each source is listed every pollInterval (default a minute), or read from its queue', () => {
    const result = input(
      [
        { type: 's3', bucket: 'trail-a', notifications: { sqsQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/q' } },
        { type: 's3', bucket: 'trail-b', pollInterval: 'PT30S' },
        { type: 'directory', path: '/tmp' },
        { type: 'lookupEvents', regions: ['us-east-1'], accounts: [{ accountId: '111122223333' }] },
      ],
      { dayEndsAfter: 'PT3H' },
    );
    expect(result.pollIntervalsMs).toEqual([0, 30_000, 60_000, 60_000]);
    expect(result.dayEndsAfterMs).toBe(3 * 3_600_000);
  });

  test('a round gathers notifications for watch.batchWindow (default ten seconds, at most a minute)', () => {
    const sources = [{ type: 's3', bucket: 'trail-a', notifications: { sqsQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/q' } }];
    expect(input(sources).batchWindowMs).toBe(10_000);
    expect(input(sources, { batchWindow: 'PT0S' }).batchWindowMs).toBe(0);
    expect(input(sources, { batchWindow: 'PT45S' }).batchWindowMs).toBe(45_000);
    expect(() => input(sources, { batchWindow: 'PT61S' })).toThrow(new UsageError('config: watch.batchWindow: must be at most PT1M'));
    expect(() => input(sources, { batchWindow: 'later' })).toThrow(/watch\.batchWindow/);
  });

  test('a poll interval under a second, or one that is not a duration, is refused', () => {
    expect(() => input([{ type: 'directory', path: '/tmp', pollInterval: 'PT0.5S' }])).toThrow(
      new UsageError('config: sources.0.pollInterval: must be at least PT1S'),
    );
    expect(() => input([{ type: 'directory', path: '/tmp', pollInterval: 'soon' }])).toThrow(/sources\.0\.pollInterval/);
    expect(() => input([{ type: 's3', bucket: 'trail-a', notifications: { sqsQueueUrl: 'not a url' } }])).toThrow(/sources\.0\.notifications\.sqsQueueUrl/);
  });
});

test('percentiles of latencies', () => {
  expect(percentiles([])).toBeUndefined();
  expect(percentiles([5, 1, 3, 2, 4])).toEqual({ count: 5, p50Ms: 3, p95Ms: 5, maxMs: 5 });
});

describe("a day's store of scanned objects", () => {
  const object = (source: number, key: string, selected: number): WatchedObject => ({
    source,
    key,
    deliveredMs: 1,
    scannedMs: 2,
    records: 3,
    bytes: 4,
    selected,
  });
  const line = (eventID: string) => JSON.stringify({ eventID, selected: [] });

  test("a round's objects are one write; the day reads them one entry per object, in the daily scan's order", async () => {
    const store = new DirectoryBlobStore(tempDir('day-store'));
    await writeObjects(store, '2026-11-25', [
      { object: object(1, 'b', 1), lines: [line('e-3')] },
      { object: object(0, 'c', 0), lines: [] },
      { object: object(0, 'a', 2), lines: [line('e-1'), line('e-2')] },
    ]);
    expect(await store.list('days/2026-11-25/objects/')).toHaveLength(1);
    const entries = await readDay(store, '2026-11-25');
    expect(entries.map((e) => [e.object.source, e.object.key, e.lines])).toEqual([
      [0, 'a', [line('e-1'), line('e-2')]],
      [0, 'c', []],
      [1, 'b', [line('e-3')]],
    ]);
    expect(await seenObjects(store, '2026-11-25')).toEqual(new Set([objectId(0, 'a'), objectId(0, 'c'), objectId(1, 'b')]));
    // parsed once for every later round's correlation
    expect(recordsOf(entries[0]).map((r) => r.eventID)).toEqual(['e-1', 'e-2']);
    expect(recordsOf(entries[0])).toBe(recordsOf((await readDay(store, '2026-11-25'))[0]));
  });

  test('an entry written alone by an earlier version reads the same; an object in two batches (a retry) is one entry', async () => {
    const store = new DirectoryBlobStore(tempDir('day-store-old'));
    await store.put(`days/2026-11-25/objects/${objectId(0, 'old')}.jsonl`, [JSON.stringify(object(0, 'old', 1)), line('e-0')].map((l) => `${l}\n`).join(''));
    await writeObjects(store, '2026-11-25', [{ object: object(0, 'x', 1), lines: [line('e-9')] }]);
    await writeObjects(store, '2026-11-25', [
      { object: object(0, 'x', 1), lines: [line('e-9')] },
      { object: object(0, 'y', 0), lines: [] },
    ]);
    expect(await store.list('days/2026-11-25/objects/')).toHaveLength(3);
    const entries = await readDay(store, '2026-11-25');
    expect(entries.map((e) => [e.object.key, e.lines])).toEqual([
      ['old', [line('e-0')]],
      ['x', [line('e-9')]],
      ['y', []],
    ]);
  });
});
