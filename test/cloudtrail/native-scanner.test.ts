import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { objectScanner } from '../../src/activities/scan-object';
import { findCandidatesInJs } from '../../src/cloudtrail/compact-document';
import { parseConfig } from '../../src/config/load';
import { nativeScanner, nativeScannerStatus } from '../../src/native/scanner';
import { prng } from '../helpers/prng';

const SAMPLES = join(__dirname, '..', 'fixtures', 'cloudtrail-samples');
/** the default rules' event names and raw skip tests */
const NAMES = objectScanner({ rules: parseConfig({ sources: [] }).rules, period: { startMs: 0, endMs: 1 } }).eventNames;

/** Built by npm run build (scripts/build-native.js); CI builds with TRAILWARDEN_NATIVE_REQUIRED=1. */
function native() {
  const scanner = nativeScanner();
  if (!scanner) throw new Error(`the native scanner is not loaded: ${nativeScannerStatus()}`);
  return scanner;
}

describe('native gunzip', () => {
  const samples = readdirSync(SAMPLES).filter((name) => name.endsWith('.json')).map((name) => readFileSync(join(SAMPLES, name)));
  const gzipped = samples.flatMap((bytes) => [gzipSync(bytes, { level: 1 }), gzipSync(bytes, { level: 9 })]);

  test('inflates the sample log files exactly as zlib does', () => {
    expect(gzipped.length).toBeGreaterThan(0);
    for (const bytes of gzipped) {
      const expected = gunzipSync(bytes);
      const out = Buffer.alloc(expected.length);
      expect(native().gunzip(bytes, out)).toBe(expected.length);
      expect(out.equals(expected)).toBe(true);
    }
  });

  test('inflates concatenated members, as gzip writes them', () => {
    const text = 'x'.repeat(5000) + '{"a":1}';
    const bytes = Buffer.concat([gzipSync(text), gzipSync(text)]);
    const out = Buffer.alloc(2 * text.length);
    expect(native().gunzip(bytes, out)).toBe(2 * text.length);
    expect(out.toString()).toBe(text + text);
  });

  test('leaves to zlib what it does not take: too little room, corrupt data, bytes after the last member, truncation', () => {
    const bytes = gzipSync('{"Records":[]}'.repeat(100));
    expect(native().gunzip(bytes, Buffer.alloc(10))).toBeLessThan(0);
    const corrupt = Buffer.from(bytes);
    corrupt[20] ^= 0xff;
    expect(native().gunzip(corrupt, Buffer.alloc(2000))).toBeLessThan(0);
    expect(native().gunzip(Buffer.concat([bytes, Buffer.from('garbage')]), Buffer.alloc(2000))).toBeLessThan(0);
    expect(native().gunzip(bytes.subarray(0, bytes.length - 3), Buffer.alloc(2000))).toBeLessThan(0);
    expect(() => native().gunzip('text' as unknown as Buffer, Buffer.alloc(1))).toThrow(/gunzip\(gzipped: Buffer/);
  });
});

describe('native findCandidates gives the JavaScript searches’ answer', () => {
  test('on the sample log files', () => {
    const names = readdirSync(SAMPLES).filter((file) => file.endsWith('.json'));
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const document = readFileSync(join(SAMPLES, name));
      const start = document.indexOf('[') + 1;
      const end = document.lastIndexOf(']');
      expect([...native().findCandidates(document, start, end, NAMES.buffers, NAMES.skipKeys)]).toEqual([...findCandidatesInJs(document, start, end, NAMES)]);
    }
  });

  // Documents made of the pieces the search looks for, cut and joined at random, so that every anchor
  // falls at every offset of a 16-byte block, overlaps another, or is cut by the region's end.
  const PIECES = ['},{"eventVersion":', '"eventName":"PutObject"', '"eventName":"SendCommand"', '"eventName":"CreateAssociation"', '"eventName" :"', '"eventName":"Put', '\\u', '\\', 'u', '}', '{', '"', ',', ':', 'eventName', 'eventVersion', 'N', 'V', 'v', 'a', ' ', 'é'];

  test.each(Array.from({ length: 300 }, (_, seed) => seed))('on random anchors %i', (seed) => {
    const random = prng(seed + 7);
    const parts: string[] = [];
    const count = Math.floor(random() * 120);
    for (let i = 0; i < count; i++) {
      const piece = PIECES[Math.floor(random() * PIECES.length)];
      parts.push(random() < 0.2 ? piece.slice(0, Math.floor(random() * piece.length)) : piece);
    }
    const document = Buffer.from(`xx${parts.join('')}yy`);
    const start = Math.floor(random() * 3);
    const end = document.length - Math.floor(random() * 3);
    const expected = [...findCandidatesInJs(document, start, end, NAMES)];
    expect([...native().findCandidates(document, start, end, NAMES.buffers, NAMES.skipKeys)]).toEqual(expected);
    expect(expected[0]).toBeGreaterThanOrEqual(1);
  });

  test('finds candidates at every offset around the 16-byte blocks', () => {
    const ownPut = '{"eventVersion":"1","eventName":"PutObject","recipientAccountId":"1","resources":[{"accountId":"1"}]}';
    for (let pad = 0; pad < 40; pad++) {
      const document = Buffer.from(`{"eventVersion":"1","x":"${'a'.repeat(pad)}","eventName":"PutObject"},${ownPut},{"eventVersion":"1","y":"${'b'.repeat(pad)}\\u0041"}`);
      const found = [...native().findCandidates(document, 0, document.length, NAMES.buffers, NAMES.skipKeys)];
      expect(found).toEqual([...findCandidatesInJs(document, 0, document.length, NAMES)]);
      // [records, start, end, name, cut, …]: the put without a recipient is parsed, the own put left out,
      // the escaped record parsed to know its name
      expect(found[0]).toBe(3);
      expect(found.filter((_, i) => i % 4 === 3)).toEqual([NAMES.index.get('PutObject'), -1]);
      expect(found.filter((_, i) => i % 4 === 0 && i > 0)).toEqual([0, 0]);
    }
  });

  test('refuses arguments it cannot use', () => {
    const document = Buffer.from('{"eventVersion":"1"}');
    expect(() => native().findCandidates(document, 0, document.length + 1, NAMES.buffers, NAMES.skipKeys)).toThrow(/out of range/);
    expect(() => native().findCandidates(document, 0, 5, ['PutObject'] as unknown as Buffer[], [[]])).toThrow(/Buffers/);
  });
});
