import { isOneBalancedObject, rawStringValuesOf, rawStringValuesOfInJs } from '../../src/cloudtrail/raw-json';
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
const rawStringValuesInJs = (raw: Buffer, key: string) => rawStringValuesOfInJs(raw, [key])?.[0];

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

describe.each([
  ['native', rawStringValuesOf],
  ['JavaScript', rawStringValuesOfInJs],
])('rawStringValuesOf (%s)', (_name, rawStringValuesOf) => {
  test('the values of each key, in the order of the keys; undefined when either key must be parsed', () => {
    const keys = ['recipientAccountId', 'accountId'];
    expect(rawStringValuesOf(b('{"accountId":"1","recipientAccountId":"2","r":[{"accountId":"3"}]}'), keys)).toEqual([['2'], ['1', '3']]);
    expect(rawStringValuesOf(b('{"accountId":"1"}'), keys)).toEqual([[], ['1']]);
    expect(rawStringValuesOf(b('{"accountId":"1","recipientAccountId": "2"}'), keys)).toBeUndefined();
    expect(rawStringValuesOf(b('{"accountId":1,"recipientAccountId":"2"}'), keys)).toBeUndefined();
    expect(rawStringValuesOf(b('{"accountId":"1"}'), [])).toEqual([]);
  });
});

describe.each([
  ['native', rawStringValues],
  ['JavaScript', rawStringValuesInJs],
])('rawStringValues (%s)', (_name, rawStringValues) => {
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

describe('the native tests answer as their JavaScript twins', () => {
  const seen = new Set<string>();
  afterAll(() => {
    // the random texts reached every kind of answer
    expect([...seen].sort()).toEqual(['balanced', 'no values', 'not balanced', 'parse instead', 'values']);
  });
  const PIECES = ['{', '}', '[', ']', '"', '\\', '\\"', ':', ',', '"accountId"', '"accountId":"', '"accountId": "', '111122223333', 'é', 'x', ' '];

  test.each(Array.from({ length: 200 }, (_, seed) => seed))('random text %i', (seed) => {
    const random = prng(seed + 11);
    // every third without backslashes, so that values come up too
    const pieces = seed % 3 ? PIECES : PIECES.filter((piece) => !piece.includes('\\'));
    const parts = Array.from({ length: Math.floor(random() * 60) }, () => pieces[Math.floor(random() * pieces.length)]);
    // half of them shaped as an object, so that balanced answers come up too
    const text = seed % 2 ? `{${parts.join('')}}` : parts.join('');
    expect(nativeIsOneBalancedObject(b(text))).toBe(isOneBalancedObject(b(text)));
    const keys = ['accountId', 'recipientAccountId'];
    expect(rawStringValuesOf(b(text), keys)).toEqual(rawStringValuesOfInJs(b(text), keys));
    const values = rawStringValues(b(text), 'accountId');
    seen.add(isOneBalancedObject(b(text)) ? 'balanced' : 'not balanced');
    seen.add(values === undefined ? 'parse instead' : values.length ? 'values' : 'no values');
  });
});
