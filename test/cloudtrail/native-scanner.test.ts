import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { scanContext } from '../../src/scan/scan-object';
import { type CandidateMatcher, candidateMatcher } from '../../src/scan/candidate-matcher';
import { ruleCandidates } from '../../src/rules/selection';
import { configuredRules } from '../../src/rules/configured-rules';
import { LogFileFormatError, RecordsReader, corruptMessage, isSurelyEventTime } from '../../src/scan/records-reader';
import { eventTimeMs } from '../../src/cloudtrail/record';
import { parseConfig } from '../../src/config/load';
import { nativeScanner, nativeScannerStatus } from '../../src/scan/native-scanner';
import { prng } from '../helpers/prng';

const SAMPLES = join(__dirname, '..', 'fixtures', 'cloudtrail-samples');
/** the default rules' candidates and skip tests */
const MATCHER = scanContext({ rules: parseConfig({ sources: [] }).rules, period: { startMs: 0, endMs: 1 } }).matcher;
/** the default rules and rules of Sigma's kind beside them: names compared with ASCII letters folded, and literals */
const FOLDED_MATCHER = candidateMatcher([
  ...ruleCandidates(configuredRules(parseConfig({ sources: [] }).rules)),
  { equals: [], contains: [], foldedEquals: ['PutObject', 'CreateTrail'], foldedContains: ['command'] },
  { equals: [], contains: [], literals: ['TruffleHog', '111122223333'] },
]);

/** Built by npm run build (scripts/build-native.js); CI builds with TRAILWARDEN_NATIVE_REQUIRED=1. */
function native() {
  const scanner = nativeScanner();
  if (!scanner) throw new Error(`the native scanner is not loaded: ${nativeScannerStatus()}`);
  return scanner;
}

describe('native gunzip', () => {
  const samples = readdirSync(SAMPLES)
    .filter((name) => name.endsWith('.json'))
    .map((name) => readFileSync(join(SAMPLES, name)));
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

/** The JavaScript reader's answer, in chunks of random sizes when `random` is given. */
function jsAnswer(document: Buffer, matcher: CandidateMatcher, random?: () => number): unknown {
  const reader = new RecordsReader(matcher);
  try {
    if (!random) reader.push(document);
    else
      for (let at = 0; at < document.length;) {
        const size = 1 + Math.floor(random() * 40);
        reader.push(document.subarray(at, at + size));
        at += size;
      }
    const { records, candidates } = reader.end();
    return { records, candidates };
  } catch (error) {
    if (!(error instanceof LogFileFormatError)) throw error;
    return { error: error.message };
  }
}

/** The native reader's answer in the same form; 'js' when it hands the document to the JavaScript reader. */
function nativeAnswer(document: Buffer, matcher: CandidateMatcher): unknown {
  const found = native().findRecords(
    document,
    matcher.nameBuffers,
    matcher.containsBuffers,
    matcher.skipTests.map((t) => [t.topLevelKey, t.everyKey]),
    matcher.skipsByName.map((t) => Int32Array.from(t)),
    matcher.foldedNameBuffers,
    matcher.foldedContainsBuffers,
    matcher.literalBuffers,
  );
  const [status, records, offset] = found;
  if (status === -1) return 'js';
  if (status !== 0) return { error: corruptMessage(status, offset) };
  return { records, candidates: [...found.subarray(3)] };
}

/** Random JSON text built from what the reader looks at, written every way JSON allows. */
function randomDocument(random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const space = () => (random() < 0.15 ? pick([' ', '\n', '\t', '\r\n  ']) : '');
  const PLAIN_KEYS = ['eventName', 'eventName', 'eventName', 'recipientAccountId', 'accountId', 'accountId', 'Records', 'eventID', 'x', 'eventNam', 'é'];
  const ESCAPED_KEYS = ['event\\u004eame', 'acc\\u006funtId', 'Rec\\u006frds', 'a\\"b'];
  const key = () => (random() < 0.05 ? pick(ESCAPED_KEYS) : pick(PLAIN_KEYS));
  const STRINGS = [
    'SendCommand',
    'PutObject',
    'PutObject',
    'CreateAssociation',
    'xSendCommandY',
    'SendCommandZ',
    'S\\u0065ndCommand',
    '111122223333',
    '444455556666',
    '',
    '},{\\"eventVersion\\":',
    '\\\\',
    '\\/',
    'é☃',
    '\\ud83d\\ude00',
    'Send',
    '"eventName":'.replace(/"/g, '\\"'),
  ];
  const SCALARS = ['0', '-0', '1.5e+3', '12345678901234567890', 'true', 'false', 'null', '-1E-7'];
  const value = (depth: number): string => {
    const roll = random();
    if (depth > 4 || roll < 0.35) return `"${pick(STRINGS)}"`;
    if (roll < 0.5) return pick(SCALARS);
    if (roll < 0.7) return `[${space()}${Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1)).join(`${space()},${space()}`)}${space()}]`;
    return object(depth + 1);
  };
  const object = (depth: number): string =>
    `{${space()}${Array.from({ length: Math.floor(random() * 6) }, () => `"${key()}"${space()}:${space()}${value(depth)}`).join(`${space()},${space()}`)}${space()}}`;
  const record = () => (random() < 0.9 ? object(3) : value(3));
  const records = () => `[${space()}${Array.from({ length: Math.floor(random() * 8) }, record).join(`${space()},${space()}`)}${space()}]`;
  const top: string[] = [];
  for (let i = 0, n = 1 + Math.floor(random() * 3); i < n; i++) {
    top.push(
      random() < 0.6
        ? `"${pick(['Records', 'Records', 'Rec\\u006frds', 'Other'])}"${space()}:${space()}${random() < 0.9 ? records() : value(1)}`
        : `"${key()}"${space()}:${space()}${value(1)}`,
    );
  }
  return `${random() < 0.1 ? '\ufeff' : ''}${space()}{${space()}${top.join(`${space()},${space()}`)}${space()}}${space()}`;
}

/** Breaks a document in one random way, or leaves it alone. */
function mutate(text: Buffer, random: () => number): Buffer {
  const roll = random();
  if (roll < 0.6 || text.length < 2) return text;
  const at = Math.floor(random() * text.length);
  if (roll < 0.75) return Buffer.concat([text.subarray(0, at), text.subarray(at + 1)]);
  if (roll < 0.9) return Buffer.concat([text.subarray(0, at), Buffer.from([`{}[],:"\\x \u0001`.charCodeAt(Math.floor(random() * 12))]), text.subarray(at)]);
  return text.subarray(0, at);
}

describe('native findRecords gives the JavaScript reader’s answer', () => {
  test('on the sample log files', () => {
    const names = readdirSync(SAMPLES).filter((file) => file.endsWith('.json'));
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const document = readFileSync(join(SAMPLES, name));
      expect(nativeAnswer(document, MATCHER)).toEqual(jsAnswer(document, MATCHER));
    }
  });

  test.each(Array.from({ length: 400 }, (_, seed) => seed))('on random documents, whole and broken %i', (seed) => {
    const random = prng(seed + 7);
    const document = mutate(Buffer.from(randomDocument(random)), random);
    const expected = jsAnswer(document, MATCHER);
    expect(jsAnswer(document, MATCHER, random)).toEqual(expected);
    const answer = nativeAnswer(document, MATCHER);
    // only an escaped top-level key goes to the JavaScript reader
    if (answer === 'js') expect(document.toString()).toMatch(/\\/);
    else expect(answer).toEqual(expected);
    const folded = jsAnswer(document, FOLDED_MATCHER);
    expect(jsAnswer(document, FOLDED_MATCHER, random)).toEqual(folded);
    if (answer !== 'js') expect(nativeAnswer(document, FOLDED_MATCHER)).toEqual(folded);
    const json = (() => {
      try {
        return JSON.parse(document.toString().replace(/^\ufeff/, '')) as unknown;
      } catch {
        return undefined;
      }
    })();
    // corrupt exactly when JSON.parse says so, or Records is missing or not an array
    const records = json && typeof json === 'object' && !Array.isArray(json) ? (json as { Records?: unknown }).Records : undefined;
    expect('error' in (expected as object)).toBe(!Array.isArray(records));
    if (Array.isArray(records)) expect((expected as { records: number }).records).toBe(records.length);
  });

  test('the random documents cover candidates, skipped puts, verified records and every kind of corrupt file', () => {
    const kinds = new Map<string, number>();
    const count = (kind: string) => kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    for (let seed = 0; seed < 400; seed++) {
      const random = prng(seed + 7);
      const answer = jsAnswer(mutate(Buffer.from(randomDocument(random)), random), MATCHER) as { error?: string; candidates?: number[] };
      if (answer.error) count(answer.error.replace(/\d+/g, 'N'));
      for (let i = 2; i < (answer.candidates?.length ?? 0); i += 3) count(`candidate ${answer.candidates![i]}`);
    }
    for (const kind of [
      'not valid JSON (unexpected byte at offset N)',
      'the JSON document is truncated',
      '"Records" is not an array',
      'no "Records" array (not a CloudTrail log file)',
      'candidate -2',
      'candidate -1',
    ]) {
      expect({ kind, seenOften: (kinds.get(kind) ?? 0) > 3 }).toEqual({ kind, seenOften: true });
    }
    const named = MATCHER.names.filter((name) => (kinds.get(`candidate ${MATCHER.names.indexOf(name)}`) ?? 0) > 3);
    expect(named).toContain('PutObject');
    expect(named.length).toBeGreaterThanOrEqual(2);
  });

  test('finds records at every offset around the 16- and 32-byte blocks', () => {
    for (let pad = 0; pad < 70; pad++) {
      const padding = 'a'.repeat(pad);
      const document = Buffer.from(
        `{"Records":[{"p":"${padding}","eventName":"PutObject","eventID":"e","eventTime":"2026-11-25T10:00:00Z","recipientAccountId":"1","resources":[{"accountId":"1"}]},` +
          `{"q":"${padding}\\"\\\\","eventName":"PutObject","resources":[{"accountId":"2"}]},{"r":"${padding}é","eventName":"xSendCommand"}]}`,
      );
      const answer = nativeAnswer(document, MATCHER) as { records: number; candidates: number[] };
      expect(answer).toEqual(jsAnswer(document, MATCHER));
      // the own put ruled out, the foreign one named, the contains-match found
      expect(answer.records).toBe(3);
      expect(answer.candidates.filter((_, i) => i % 3 === 2)).toEqual([MATCHER.names.indexOf('PutObject'), -1]);
      const broken = Buffer.from(document.toString().replace(`${padding}é`, `${padding}\u0001`));
      expect(nativeAnswer(broken, MATCHER)).toEqual(jsAnswer(broken, MATCHER));
      expect(nativeAnswer(broken, MATCHER)).toEqual({ error: expect.stringMatching(/not valid JSON/) });
    }
  });

  test('never skips a record unread that is malformed (it must be reported) or whose time it cannot be sure of', () => {
    const put = (fields: string) => `{"eventName":"PutObject","recipientAccountId":"1","resources":[{"accountId":"1"}]${fields}}`;
    const cases: [string, boolean][] = [
      [',"eventID":"e","eventTime":"2026-11-25T10:00:00Z"', true],
      [',"eventID":"e","eventTime":"2026-11-25T10:00:00.5Z"', true],
      [',"eventTime":"2026-11-25T10:00:00Z"', false],
      [',"eventID":"","eventTime":"2026-11-25T10:00:00Z"', false],
      [',"eventID":7,"eventTime":"2026-11-25T10:00:00Z"', false],
      [',"eventID":"\\u0065","eventTime":"2026-11-25T10:00:00Z"', false],
      [',"eventID":"e","eventTime":"2026-11-25 10:00:00Z"', false],
      [',"eventID":"e","eventTime":"2026-11-30T10:00:00Z"', true],
      [',"eventID":"e","eventTime":"2026-02-31T23:59:59Z"', true],
      [',"eventID":"e","eventTime":"2026-11-32T10:00:00Z"', false],
      [',"eventID":"e","eventTime":"2026-11-00T10:00:00Z"', false],
      [',"eventID":"e","eventTime":"2026-11-30T24:00:00Z"', false],
      [',"eventID":"e","eventTime":"2026-11-30T23:60:00Z"', false],
      [',"eventID":"e","eventTime":"2026-11-25T10:00:00.Z"', false],
      [',"eventID":"e","eventTime":"2026-13-25T10:00:00Z"', false],
      [',"eventID":"e"', false],
    ];
    for (const [fields, skipped] of cases) {
      const document = Buffer.from(`{"Records":[${put(fields)}]}`);
      const answer = jsAnswer(document, MATCHER) as { candidates: number[] };
      expect(nativeAnswer(document, MATCHER)).toEqual(answer);
      expect([fields, answer.candidates.length === 0]).toEqual([fields, skipped]);
    }
  });

  test('an eventTime the readers are sure of is one eventTimeMs parses, on every day, month and hour they accept', () => {
    // a record skipped unread must be well formed: the readers' quick test may only accept times that parse
    const accepted: string[] = [];
    const unparsed: string[] = [];
    for (const year of ['0000', '1900', '2000', '2024', '2026', '2100', '9999'])
      for (let month = 0; month <= 13; month++)
        for (let day = 0; day <= 32; day++)
          for (const clock of ['00:00:00', '23:59:59', '24:00:00', '12:60:00', '12:00:60'])
            for (const fraction of ['', '.5', '.123456789']) {
              const time = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${clock}${fraction}Z`;
              if (!isSurelyEventTime(Buffer.from(time), 0, time.length)) continue;
              accepted.push(time);
              if (eventTimeMs({ eventTime: time }) === undefined) unparsed.push(time);
            }
    expect(unparsed).toEqual([]);
    // days 29-31 are sure too: most puts of the last days of a month are ruled out unread
    expect(accepted).toEqual(expect.arrayContaining(['2026-11-30T23:59:59Z', '2026-02-31T00:00:00.5Z', '2024-02-29T00:00:00Z']));
    expect(accepted).toHaveLength(7 * 12 * 31 * 2 * 3);
  });

  test('names compared with ASCII letters folded, and literals in the record text, on both routes', () => {
    const record = (name: string, rest = '') => `{"eventName":"${name}","eventID":"e","eventTime":"2026-11-25T10:00:00Z"${rest}}`;
    const cases: [string, boolean][] = [
      [record('CREATETRAIL'), true],
      [record('createTrail'), true],
      [record('CreateTrai'), false],
      [record('SendCommand'), true], // rule 1's own contains
      [record('xCOMMANDy'), true],
      [record('Cre\\u0061teTrail'), true], // an escape: verified
      [record('CréateTrail'), true], // not ASCII: a Unicode folding might make it equal
      [record('KreateTrail'), true],
      [record('PUTOBJECT', ',"recipientAccountId":"1","resources":[{"accountId":"1"}]'), true], // no skip test: a folded rule wants it
      [record('DescribeInstances', ',"userAgent":"trufflehog/3.0"'), true],
      [record('DescribeInstances', ',"userAgent":"TruffleHo"'), false],
      [record('DescribeInstances', ',"userAgent":"Truffle\\u0048og"'), true], // a backslash anywhere
      [record('DescribeInstances', ',"userAgent":"café"'), true], // a byte outside ASCII anywhere
      [record('DescribeInstances', ',"requestParameters":{"owner":"111122223333"}'), true],
      [record('DescribeInstances'), false],
    ];
    for (const [text, candidate] of cases) {
      const document = Buffer.from(`{"Records":[${text}]}`);
      const answer = jsAnswer(document, FOLDED_MATCHER) as { candidates: number[] };
      expect(nativeAnswer(document, FOLDED_MATCHER)).toEqual(answer);
      expect(jsAnswer(document, FOLDED_MATCHER, prng(text.length))).toEqual(answer);
      expect([text, answer.candidates.length === 3]).toEqual([text, candidate]);
      // what the parsed record then says (a verified candidate is asked again)
      if (candidate) expect([text, FOLDED_MATCHER.accepts((JSON.parse(text) as { eventName: unknown }).eventName)]).toEqual([text, true]);
    }
  });

  test("a record rule 2's skip test rules out still goes to the literal search", () => {
    const matcher = candidateMatcher([
      ...ruleCandidates(configuredRules(parseConfig({ sources: [] }).rules)),
      { equals: [], contains: [], literals: ['TruffleHog'] },
    ]);
    const put = (owner: string, agent: string) =>
      `{"eventName":"PutObject","eventID":"e","eventTime":"2026-11-25T10:00:00Z","recipientAccountId":"1","userAgent":"${agent}","resources":[{"accountId":"${owner}"}]}`;
    const cases: [string, number[]][] = [
      [put('1', 'aws-cli/2'), []], // own bucket, no literal: skipped unread
      [put('1', 'trufflehog/3.1'), [-1]], // own bucket, but a literal rule may want it
      [put('2', 'aws-cli/2'), [matcher.names.indexOf('PutObject')]], // a foreign put: rule 2's
    ];
    for (const [text, names] of cases) {
      const document = Buffer.from(`{"Records":[${text}]}`);
      const answer = jsAnswer(document, matcher) as { candidates: number[] };
      expect(nativeAnswer(document, matcher)).toEqual(answer);
      expect([text, answer.candidates.filter((_, i) => i % 3 === 2)]).toEqual([text, names]);
    }
  });

  test('refuses arguments it cannot use', () => {
    const document = Buffer.from('{"Records":[]}');
    expect(() => native().findRecords(document, ['PutObject'] as unknown as Buffer[], [], [], [new Int32Array(0)])).toThrow(/findRecords\(document/);
    expect(() => native().findRecords(document, [Buffer.from('PutObject')], [], [], [])).toThrow(/findRecords\(document/);
  });
});
