import { isOneBalancedObject, isOneBalancedObjectInJs, rawStringValues, rawStringValuesInJs } from '../../src/cloudtrail/raw-json';
import { nativeScanner } from '../../src/native/scanner';
import { prng } from '../helpers/prng';

const b = (text: string) => Buffer.from(text);

test('the native scanner answers these (npm run build compiles it)', () => {
  expect(nativeScanner()).toBeDefined();
});

describe.each([
  ['native', isOneBalancedObject],
  ['JavaScript', isOneBalancedObjectInJs],
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
    expect(isOneBalancedObject(b(text))).toBe(isOneBalancedObjectInJs(b(text)));
    const values = rawStringValues(b(text), 'accountId');
    expect(values).toEqual(rawStringValuesInJs(b(text), 'accountId'));
    seen.add(isOneBalancedObject(b(text)) ? 'balanced' : 'not balanced');
    seen.add(values === undefined ? 'parse instead' : values.length ? 'values' : 'no values');
  });
});
