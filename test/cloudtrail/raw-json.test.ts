import { eventNameList, findCandidatesInJs } from '../../src/cloudtrail/compact-document';
import { isOneBalancedObject, rawStringValuesOf, rawTextSkips } from '../../src/cloudtrail/raw-json';
import { nativeScanner } from '../../src/native/scanner';
import { prng } from '../helpers/prng';

const b = (text: string) => Buffer.from(text);

/** The native scanner, built by npm run build (the test fails without it). */
function native() {
  const scanner = nativeScanner();
  if (!scanner) throw new Error('the native scanner is not built');
  return scanner;
}

const nativeIsOneBalancedObject = (raw: Buffer) => native().isOneBalancedObject(raw);
/** one key at a time, through the many-keys function */
const rawStringValues = (raw: Buffer, key: string) => rawStringValuesOf(raw, [key])?.[0];
const OWN_ACCOUNT_PUT = { eventNames: ['PutObject'], everyValueOf: 'accountId', isBlankOrTheOneValueOf: 'recipientAccountId' };

describe.each([
  ['native', nativeIsOneBalancedObject],
  ['JavaScript', isOneBalancedObject],
])('isOneBalancedObject (%s)', (_name, isOneBalancedObject) => {
  test.each([
    ['{}', true],
    ['{"a":[{"b":1},{"c":"}]{["}]}', true],
    ['{"a":"\\"}"}', true],
    ['{"a":"\\\\"}', true],
    ['{"a":[{"eventVersion":"x"}', false],
    ['{"eventVersion":"x"},{"b":1}]}', false],
    ['{"a":1}}', false],
    ['{"a":"unterminated}', false],
    ['[1]', false],
    ['{"a":1', false],
  ])('%s -> %s', (text, expected) => {
    expect(isOneBalancedObject(b(text))).toBe(expected);
  });
});

describe('rawStringValuesOf', () => {
  test('the values of each key, in the order of the keys; undefined when either key must be parsed', () => {
    const keys = ['recipientAccountId', 'accountId'];
    expect(rawStringValuesOf(b('{"accountId":"1","recipientAccountId":"2","r":[{"accountId":"3"}]}'), keys)).toEqual([['2'], ['1', '3']]);
    expect(rawStringValuesOf(b('{"accountId":"1"}'), keys)).toEqual([[], ['1']]);
    expect(rawStringValuesOf(b('{"accountId":"1","recipientAccountId": "2"}'), keys)).toBeUndefined();
    expect(rawStringValuesOf(b('{"accountId":1,"recipientAccountId":"2"}'), keys)).toBeUndefined();
    expect(rawStringValuesOf(b('{"accountId":"1"}'), [])).toEqual([]);
  });
});

describe('rawStringValuesOf, one key', () => {
  test('every value of the key, at any depth', () => {
    expect(rawStringValues(b('{"accountId":"1","x":{"accountId":"2"},"y":[{"accountId":""}]}'), 'accountId')).toEqual(['1', '2', '']);
    expect(rawStringValues(b('{"recipientAccountId":"1","accountIds":"2"}'), 'accountId')).toEqual([]);
  });

  test.each([
    ['a backslash anywhere', '{"accountId":"1","k":"a\\nb"}'],
    ['a space before the value', '{"accountId": "1"}'],
    ['a space before the colon', '{"accountId" :"1"}'],
    ['a non-string value', '{"accountId":1}'],
    ['a null value', '{"accountId":null}'],
    ['the key used as a value', '{"k":"accountId"}'],
  ])('undefined (parse instead) for %s', (_name, text) => {
    expect(rawStringValues(b(text), 'accountId')).toBeUndefined();
  });
});

describe('rawTextSkips: a put into the account\'s own bucket', () => {
  test.each([
    ['every accountId the recipient', '{"recipientAccountId":"1","userIdentity":{"accountId":"1"},"resources":[{"accountId":"1"}]}', true],
    ['a blank owner', '{"recipientAccountId":"1","resources":[{"accountId":""}]}', true],
    ['no accountId at all', '{"recipientAccountId":"1"}', true],
    ['a foreign owner', '{"recipientAccountId":"1","resources":[{"accountId":"2"}]}', false],
    ['a caller from another account', '{"recipientAccountId":"1","userIdentity":{"accountId":"2"}}', false],
    ['no recipientAccountId', '{"resources":[{"accountId":"1"}]}', false],
    ['two recipientAccountIds', '{"recipientAccountId":"1","x":{"recipientAccountId":"1"}}', false],
    ['a null owner', '{"recipientAccountId":"1","resources":[{"accountId":null}]}', false],
    ['a backslash anywhere', '{"recipientAccountId":"1","key":"a\\"b"}', false],
    ['whitespace after a key', '{"recipientAccountId": "1"}', false],
  ])('%s: %s', (_name, text, expected) => {
    expect(rawTextSkips(b(text), OWN_ACCOUNT_PUT)).toBe(expected);
  });
});

describe('the native tests answer as their JavaScript twins', () => {
  const seen = new Set<string>();
  afterAll(() => {
    // the random texts reached every kind of answer
    expect([...seen].sort()).toEqual(['balanced', 'cut', 'left out', 'not balanced', 'parsed']);
  });
  const PIECES = ['{', '}', '[', ']', '"', '\\', '\\"', ':', ',', '"accountId"', '"accountId":"', '"accountId":"1"', '"accountId":"2"', '"accountId":""',
    '"recipientAccountId":"1"', '"accountId": "', '111122223333', 'é', 'x', ' '];
  const names = eventNameList(['PutObject'], new Map([['PutObject', [OWN_ACCOUNT_PUT]]]));

  test.each(Array.from({ length: 300 }, (_, seed) => seed))('random text %i', (seed) => {
    const random = prng(seed + 11);
    // most without backslashes, so that records are left out too
    const pieces = seed % 4 ? PIECES.filter((piece) => !piece.includes('\\')) : PIECES;
    const parts = Array.from({ length: Math.floor(random() * 40) }, () => pieces[Math.floor(random() * pieces.length)]);
    // half of them shaped as an object, so that balanced answers come up too
    const text = seed % 2 ? `{${parts.join('')}}` : parts.join('');
    expect(nativeIsOneBalancedObject(b(text))).toBe(isOneBalancedObject(b(text)));
    seen.add(isOneBalancedObject(b(text)) ? 'balanced' : 'not balanced');
    // the skip test, through findCandidates: one put record holding the text, with its recipient
    const record = b(`{"eventVersion":"1","eventName":"PutObject","recipientAccountId":"1",${text}}`);
    const found = [...native().findCandidates(record, 0, record.length, names.buffers, names.skipKeys)];
    expect(found).toEqual([...findCandidatesInJs(record, 0, record.length, names)]);
    seen.add(found.length === 1 ? 'left out' : found[4] === 1 ? 'cut' : 'parsed');
  });
});
