import * as fs from 'node:fs';
import * as path from 'node:path';
import { LogFileFormatError, RecordSplitter } from '../../src/cloudtrail/record-splitter';

const SAMPLES_DIR = path.resolve(__dirname, '../fixtures/cloudtrail-samples');

interface SplitResult {
  raws: string[];
  nonObjectRecords: number;
}

/** Pushes the chunks, ends the splitter and returns the raw text of every record it emitted. */
function split(chunks: readonly Buffer[]): SplitResult {
  const raws: string[] = [];
  const splitter = new RecordSplitter((raw) => raws.push(raw.toString('utf8')));
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return { raws, nonObjectRecords: splitter.nonObjectRecords };
}

/** Every way to cut the document in two, plus one byte at a time, plus the whole. */
function chunkings(doc: Buffer): Buffer[][] {
  const result: Buffer[][] = [[doc]];
  for (let i = 0; i <= doc.length; i++) result.push([doc.subarray(0, i), doc.subarray(i)]);
  const bytes: Buffer[] = [];
  for (let i = 0; i < doc.length; i++) bytes.push(doc.subarray(i, i + 1));
  result.push(bytes);
  return result;
}

/** Copies, so that no chunk shares memory with another (as stream chunks usually are). */
function copies(chunks: Buffer[]): Buffer[] {
  return chunks.map((c) => Buffer.from(c));
}

function expectError(doc: string | Buffer, message?: RegExp): void {
  const buf = typeof doc === 'string' ? Buffer.from(doc, 'utf8') : doc;
  for (const chunks of chunkings(buf)) {
    let caught: unknown;
    try {
      split(copies(chunks));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LogFileFormatError);
    if (message) expect((caught as Error).message).toMatch(message);
  }
}

/** Records whose strings hold every character the splitter must not take for structure. */
const TRICKY_RECORDS: unknown[] = [
  {
    eventID: 'e1',
    eventName: 'SendCommand',
    note: 'braces { and } and brackets [ and ] inside a string',
    quoted: 'she said "hi" {"Records":[',
    backslash: 'C:\\path\\to\\file\\',
    endsWithBackslash: '\\',
    endsWithEscapedQuote: '\\"',
    nested: { a: [1, 2, { b: ['}', ']', '{', '['] }], c: {} },
    emptyArray: [],
    emptyObject: {},
  },
  {
    eventID: 'e2',
    utf8: 'café — 日本語 — 🎉🚀 — ünïcödé',
    'kéy with ü': 'value ✓',
    Records: ['a nested "Records" key inside a record is just data'],
  },
  {},
  { eventID: 'e3', numbers: [0, -1.5, 2e10, true, false, null], deep: [[[[{ x: [[]] }]]]] },
  { eventID: 'e4', control: 'tab\there\nnewline\r\u0001', slash: '/\\/' },
];

function buildDoc(records: readonly unknown[], before = '', after = ''): { doc: Buffer; raws: string[] } {
  const raws = records.map((r) => JSON.stringify(r));
  const text = `{${before}"Records":[${raws.join(',')}]${after}}`;
  return { doc: Buffer.from(text, 'utf8'), raws };
}

describe('RecordSplitter', () => {
  it('yields exactly the records JSON.parse finds, in every chunking', () => {
    const { doc, raws } = buildDoc(TRICKY_RECORDS);
    const expected = (JSON.parse(doc.toString('utf8')) as { Records: unknown[] }).Records;
    expect(expected).toHaveLength(TRICKY_RECORDS.length);
    const ways = chunkings(doc);
    expect(ways.length).toBe(doc.length + 3);
    for (const chunks of ways) {
      const result = split(copies(chunks));
      expect(result.raws).toEqual(raws);
      expect(result.raws.map((r) => JSON.parse(r))).toEqual(expected);
      expect(result.nonObjectRecords).toBe(0);
    }
  });

  it('handles every pair of cut points in a small document', () => {
    const { doc, raws } = buildDoc([{ a: '}"\\', b: ['é'] }, { c: '{[🎉' }]);
    for (let i = 0; i <= doc.length; i++) {
      for (let j = i; j <= doc.length; j++) {
        const result = split(copies([doc.subarray(0, i), doc.subarray(i, j), doc.subarray(j)]));
        expect(result.raws).toEqual(raws);
      }
    }
  });

  it('keeps multi-byte UTF-8 intact when a chunk ends inside a character', () => {
    const { doc } = buildDoc([{ s: '🎉' }]);
    const at = doc.indexOf(Buffer.from('🎉'));
    expect(at).toBeGreaterThan(0);
    for (let cut = at + 1; cut < at + 4; cut++) {
      const result = split(copies([doc.subarray(0, cut), doc.subarray(cut)]));
      expect(result.raws.map((r) => JSON.parse(r))).toEqual([{ s: '🎉' }]);
    }
  });

  it('handles JSON escapes written by hand (\\u escapes of structure characters, escaped quotes)', () => {
    const text = String.raw`{"Records":[{"a":"\u007b\u005d\"","b":"\\","c":"\\\"}"},{"d":"x"}]}`;
    const expected = (JSON.parse(text) as { Records: unknown[] }).Records;
    for (const chunks of chunkings(Buffer.from(text))) {
      expect(split(copies(chunks)).raws.map((r) => JSON.parse(r))).toEqual(expected);
    }
  });

  it('ignores other top-level keys before and after "Records", including tricky ones', () => {
    const before = [
      `"a":"}{][\\"",`,
      `"b":{"Records":[{"not":"a record"}]},`,
      `"c":[1,{"x":"]"},[{"y":{}}]],`,
      `"n":-12.5e3,`,
      `"t":true,`,
      `"Recordsish":[{"no":1}],`,
    ].join('');
    const after = `,"z":null,"y":"\\"Records\\":[{}]","w":[{"q":[]}],"v":{"Records":[{"late":true}]}`;
    const { doc, raws } = buildDoc([{ eventID: 'only-1' }, { eventID: 'only-2' }], before, after);
    const parsed = JSON.parse(doc.toString('utf8')) as { Records: unknown[] };
    expect(parsed.Records).toEqual([{ eventID: 'only-1' }, { eventID: 'only-2' }]);
    for (const chunks of chunkings(doc)) {
      expect(split(copies(chunks)).raws).toEqual(raws);
    }
  });

  it('accepts whitespace everywhere JSON allows it', () => {
    const text = ' \n\t{ \r\n "Records" \t : \n [ \n {"a" : 1} \n , \t {"b":[ 1 , 2 ]} \n ] , "x" : 1 } \n\r\t ';
    const expected = (JSON.parse(text) as { Records: unknown[] }).Records;
    for (const chunks of chunkings(Buffer.from(text))) {
      expect(split(copies(chunks)).raws.map((r) => JSON.parse(r))).toEqual(expected);
    }
  });

  it('skips a UTF-8 byte order mark', () => {
    const { doc, raws } = buildDoc([{ eventID: 'bom-1', s: 'ï»¿' }]);
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), doc]);
    for (const chunks of chunkings(withBom)) {
      expect(split(copies(chunks)).raws).toEqual(raws);
    }
  });

  it('accepts an empty Records array', () => {
    for (const text of ['{"Records":[]}', '{ "Records" : [ \n ] }', '{"a":1,"Records":[],"b":[{}]}']) {
      for (const chunks of chunkings(Buffer.from(text))) {
        const result = split(copies(chunks));
        expect(result.raws).toEqual([]);
        expect(result.nonObjectRecords).toBe(0);
      }
    }
  });

  it('counts non-object elements in nonObjectRecords and emits only the objects', () => {
    const text = '{"Records":[1,"x",null,true,[{"a":1}],{"eventID":"kept"},"}{",-2.5e-3,false,[],{"eventID":"kept-2"}]}';
    const parsed = JSON.parse(text) as { Records: unknown[] };
    const objects = parsed.Records.filter((r) => r !== null && typeof r === 'object' && !Array.isArray(r));
    const nonObjects = parsed.Records.length - objects.length;
    expect(nonObjects).toBe(9);
    for (const chunks of chunkings(Buffer.from(text))) {
      const result = split(copies(chunks));
      expect(result.raws.map((r) => JSON.parse(r))).toEqual(objects);
      expect(result.nonObjectRecords).toBe(nonObjects);
    }
  });

  it('emits records as they complete, before the document ends', () => {
    const raws: string[] = [];
    const splitter = new RecordSplitter((raw) => raws.push(raw.toString('utf8')));
    splitter.push(Buffer.from('{"Records":[{"a":1},{"b"'));
    expect(raws).toEqual(['{"a":1}']);
    splitter.push(Buffer.from(':2}'));
    expect(raws).toEqual(['{"a":1}', '{"b":2}']);
    splitter.push(Buffer.from(']}'));
    splitter.end();
    expect(raws).toHaveLength(2);
  });

  describe('errors', () => {
    it('rejects a document that is not an object', () => {
      expectError('[{"Records":[]}]', /not a JSON object/);
      expectError('"Records"', /not a JSON object/);
      expectError('null', /not a JSON object/);
      expectError('PK\u0003\u0004 not json', /not a JSON object/);
    });

    it('rejects an empty file', () => {
      expectError('', /empty/);
      expectError(' \n\t ', /empty/);
    });

    it('rejects every truncation of a document', () => {
      const { doc } = buildDoc(TRICKY_RECORDS.slice(0, 2), '"a":"b",', ',"z":[1]');
      for (let len = 0; len < doc.length; len++) {
        const truncated = doc.subarray(0, len);
        // one chunk, and cut in two in the middle
        for (const chunks of [[truncated], [truncated.subarray(0, len >> 1), truncated.subarray(len >> 1)]]) {
          expect(() => split(copies(chunks))).toThrow(LogFileFormatError);
        }
      }
      expectError('{"Records":[{"a":"abc', /truncated/);
      expectError('{"Records":[{"a":1}]', /truncated/);
      expectError('{"Records":[{"a":1}', /truncated/);
    });

    it('rejects "Records" that is not an array', () => {
      expectError('{"Records":null}', /"Records" is not an array/);
      expectError('{"Records":{"a":{"eventID":"x"}}}', /"Records" is not an array/);
      expectError('{"Records":"[{}]"}', /"Records" is not an array/);
      expectError('{"Records":42,"x":[{"a":1}]}', /"Records" is not an array/);
    });

    it('emits nothing from a "Records" object even if it holds objects', () => {
      const raws: string[] = [];
      const splitter = new RecordSplitter((raw) => raws.push(raw.toString()));
      splitter.push(Buffer.from('{"Records":{"a":{"eventID":"x"}}}'));
      expect(() => splitter.end()).toThrow(LogFileFormatError);
      expect(raws).toEqual([]);
    });

    it('rejects a document without a Records key, such as a CloudTrail digest file', () => {
      const digest = fs.readFileSync(path.join(SAMPLES_DIR, 'awsdoc_digest_file_example.json'));
      expect(JSON.parse(digest.toString('utf8'))).not.toHaveProperty('Records');
      expectError(digest, /no "Records" array/);
      expectError('{}', /no "Records" array/);
      expectError('{"records":[{"a":1}]}', /no "Records" array/);
      expectError('{"meta":{"Records":[{"a":1}]}}', /no "Records" array/);
      expectError('{"x":"Records","y":[{"a":1}]}', /no "Records" array/);
    });

    it('rejects data after the end of the document', () => {
      expectError('{"Records":[]}{}', /after the end/);
      expectError('{"Records":[{"a":1}]} x', /after the end/);
      expectError('{"Records":[]}]', /after the end/);
      expectError('{"Records":[]}\n{"Records":[]}', /after the end/);
      expectError('{"Records":[]}"', /after the end/);
    });

    it('accepts trailing whitespace after the end', () => {
      for (const chunks of chunkings(Buffer.from('{"Records":[{"a":1}]}\n \r\n\t'))) {
        expect(split(copies(chunks)).raws).toEqual(['{"a":1}']);
      }
    });
  });
});
