import { isOneBalancedObject, rawStringValues } from '../../src/cloudtrail/raw-json';

const b = (text: string) => Buffer.from(text);

describe('isOneBalancedObject', () => {
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

describe('rawStringValues', () => {
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
