import { fieldValue } from '../../src/sigma';
import { detect, record } from './helpers';

const sel = (lines: string): string => `    selection:\n${lines}\n    condition: selection`;

// [what, detection, record fields, expected]; examples after the specification's (rules, modifiers appendix)
const cases: [string, string, Record<string, unknown>, boolean][] = [
  ['plain values are case-insensitive', sel("        userAgent: 'AWS-CLI/2.15.0 python/3.11.6 LINUX/6.1'"), {}, true],
  ['a plain value is the whole value', sel("        userAgent: 'aws-cli'"), {}, false],
  ['? is exactly one character', sel("        eventName: 'DescribeInstance?'"), {}, true],
  ['? is not zero characters', sel("        eventName: 'DescribeInstances?'"), {}, false],
  ['* is any run', sel("        eventName: 'Desc*nces'"), {}, true],
  ['\\* is a plain star', sel("        eventName: 'a\\*b'"), { eventName: 'a*b' }, true],
  ['\\* does not match other text', sel("        eventName: 'a\\*b'"), { eventName: 'axb' }, false],
  ['\\? is a plain question mark', sel("        eventName: 'a\\?'"), { eventName: 'ab' }, false],
  ['a single backslash not before a wildcard is plain', sel("        userAgent: 'C:\\Windows\\x'"), { userAgent: 'C:\\Windows\\x' }, true],
  ['\\\\* is a backslash then a wildcard', sel("        userAgent: 'C:\\\\*'"), { userAgent: 'C:\\anything' }, true],
  ['\\\\\\* is a backslash and a plain star', sel("        userAgent: 'C:\\\\\\*'"), { userAgent: 'C:\\anything' }, false],
  ['\\\\\\* matches backslash star', sel("        userAgent: 'C:\\\\\\*'"), { userAgent: 'C:\\*' }, true],
  ['four backslashes are two', sel("        userAgent: 'a\\\\\\\\b'"), { userAgent: 'a\\\\b' }, true],
  ['lists are OR', sel('        eventName:\n            - CreateUser\n            - DescribeInstances'), {}, true],
  ['maps are AND', sel('        eventName: DescribeInstances\n        eventSource: s3.amazonaws.com'), {}, false],
  ['list of maps is OR', '    selection:\n        - eventName: X\n        - eventSource: ec2.amazonaws.com\n    condition: selection', {}, true],
  ['nested field paths', sel('        userIdentity.sessionContext.sessionIssuer.type: role'), {}, true],
  ['arrays: any element', sel('        requestParameters.instanceIds: i-2'), { requestParameters: { instanceIds: ['i-1', 'i-2'] } }, true],
  [
    'arrays of objects: any element',
    sel('        requestParameters.items.name|contains: bb'),
    { requestParameters: { items: [{ name: 'aa' }, { name: 'abb' }] } },
    true,
  ],
  [
    'an object value: any value inside it',
    sel("        requestParameters|contains: 'Suspended'"),
    { requestParameters: { bucketName: 'b', VersioningConfiguration: { Status: 'Suspended' } } },
    true,
  ],
  [
    'an object value: keys do not count',
    sel("        requestParameters|contains: 'Status'"),
    { requestParameters: { VersioningConfiguration: { Status: 'Enabled' } } },
    false,
  ],
  ['a key containing dots', sel("        requestParameters.x.y: 'v'"), { requestParameters: { 'x.y': 'v' } }, true],
  ['numbers compare as their decimal text', sel('        requestParameters.port: 443'), { requestParameters: { port: 443 } }, true],
  ['a number matches a numeric string', sel('        requestParameters.port: 443'), { requestParameters: { port: '443' } }, true],
  ['booleans compare as text', sel("        readOnly: 'TRUE'"), {}, true],
  ['null matches an absent field', sel('        errorCode: null'), {}, true],
  ['null matches a JSON null', sel('        requestParameters: null'), {}, true],
  ['null does not match a value', sel('        eventName: null'), {}, false],
  ["'' matches only the empty string", sel("        errorCode: ''"), {}, false],
  ["'' matches the empty string", sel("        errorCode: ''"), { errorCode: '' }, true],
  ['exists true', sel('        requestParameters|exists: true'), {}, true],
  ['exists false on an absent field', sel('        errorCode|exists: false'), {}, true],
  ['exists false on a present field', sel('        eventName|exists: false'), {}, false],
  ['contains', sel('        userAgent|contains: PYTHON'), {}, true],
  ['startswith', sel('        userAgent|startswith: aws-cli/'), {}, true],
  ['startswith is anchored', sel('        userAgent|startswith: cli/'), {}, false],
  ['endswith', sel("        userAgent|endswith: 'linux/6.1'"), {}, true],
  ['contains|all needs every value', sel('        userAgent|contains|all:\n            - aws-cli\n            - Windows'), {}, false],
  ['contains|all', sel('        userAgent|contains|all:\n            - aws-cli\n            - Linux'), {}, true],
  ['cased', sel('        eventName|cased: describeinstances'), {}, false],
  ['cased exact', sel('        eventName|cased: DescribeInstances'), {}, true],
  ['re is case-sensitive', sel("        userIdentity.arn|re: ':ASSUMED-role/'"), {}, false],
  ['re|i', sel("        userIdentity.arn|re|i: ':ASSUMED-role/'"), {}, true],
  ['re is a search, not a full match', sel("        userIdentity.arn|re: 'assumed-role/[A-Z][a-z]+/'"), {}, true],
  ['re: . does not match a newline', sel("        userAgent|re: 'a.b'"), { userAgent: 'a\nb' }, false],
  ['re|s: . matches a newline', sel("        userAgent|re|s: 'a.b'"), { userAgent: 'a\nb' }, true],
  ['re: ^ is the start of the value', sel("        userAgent|re: '^b'"), { userAgent: 'a\nb' }, false],
  ['re|m: ^ after a newline', sel("        userAgent|re|m: '^b'"), { userAgent: 'a\nb' }, true],
  ['re: $ before a final newline (PCRE)', sel("        userAgent|re: 'a$'"), { userAgent: 'a\n' }, true],
  ['re: escaped punctuation (PCRE)', sel("        userAgent|re: '\\:\\-x'"), { userAgent: ':-x' }, true],
  ['re: a quantifier', sel("        userAgent|re: '^a{2}b$'"), { userAgent: 'aab' }, true],
  ['re: a { that is no quantifier is literal (PCRE)', sel("        userAgent|re: 'a{x'"), { userAgent: 'a{x' }, true],
  ['re: ] first in a class is literal (PCRE)', sel("        userAgent|re: '^[]a]+$'"), { userAgent: ']a]' }, true],
  ['re: \\s is ASCII whitespace (PCRE)', sel("        userAgent|re: 'a\\sb'"), { userAgent: 'a\u00a0b' }, false],
  ['re: alternation', sel("        userAgent|re: 'Boto3|aws-cli'"), {}, true],
  ['cidr IPv4', sel('        sourceIPAddress|cidr: 203.0.113.0/24'), {}, true],
  ['cidr IPv4 outside', sel('        sourceIPAddress|cidr: 10.0.0.0/8'), {}, false],
  ['cidr IPv6', sel("        sourceIPAddress|cidr: '2001:db8::/32'"), { sourceIPAddress: '2001:db8:0:1::5' }, true],
  ['cidr IPv6 outside', sel("        sourceIPAddress|cidr: '2001:db8::/32'"), { sourceIPAddress: '2001:db9::5' }, false],
  ['cidr on a non-address', sel('        sourceIPAddress|cidr: 10.0.0.0/8'), { sourceIPAddress: 'AWS Internal' }, false],
  ['base64', sel('        requestParameters.userData|base64: "#!/bin/sh"'), { requestParameters: { userData: 'IyEvYmluL3No' } }, true],
  ['base64|contains', sel('        requestParameters.userData|base64|contains: "bin"'), { requestParameters: { userData: 'xxYmluxx' } }, true],
  [
    'base64offset|contains at offset 1',
    sel('        requestParameters.userData|base64offset|contains: "curl"'),
    { requestParameters: { userData: Buffer.from('x curl http://evil').toString('base64') } },
    true,
  ],
  [
    'base64offset|contains at offset 0',
    sel('        requestParameters.userData|base64offset|contains: "curl"'),
    { requestParameters: { userData: Buffer.from('curl http://evil').toString('base64') } },
    true,
  ],
  [
    'base64offset|contains at offset 2',
    sel('        requestParameters.userData|base64offset|contains: "curl"'),
    { requestParameters: { userData: Buffer.from('ab curl').toString('base64') } },
    true,
  ],
  [
    'base64offset|contains absent',
    sel('        requestParameters.userData|base64offset|contains: "curl"'),
    { requestParameters: { userData: Buffer.from('wget http://evil').toString('base64') } },
    false,
  ],
  [
    'wide|base64',
    sel('        requestParameters.cmd|wide|base64: "cmd"'),
    { requestParameters: { cmd: Buffer.from('cmd', 'utf16le').toString('base64') } },
    true,
  ],
  [
    'utf16be|base64',
    sel('        requestParameters.cmd|utf16be|base64: "cmd"'),
    { requestParameters: { cmd: Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString('base64') } },
    true,
  ],
  ['windash: / for -', sel("        requestParameters.cmd|windash|contains: ' -enc '"), { requestParameters: { cmd: 'powershell /enc abc' } }, true],
  ['windash: en dash for -', sel("        requestParameters.cmd|windash|contains: ' -enc '"), { requestParameters: { cmd: 'powershell \u2013enc abc' } }, true],
  [
    'windash: other characters stay',
    sel("        requestParameters.cmd|windash|contains: ' -enc '"),
    { requestParameters: { cmd: 'powershell +enc abc' } },
    false,
  ],
  [
    'fieldref equal',
    sel('        userIdentity.userName|fieldref: requestParameters.userName'),
    { 'userIdentity.userName': 'Bob', 'requestParameters.userName': 'bob' },
    true,
  ],
  [
    'fieldref different',
    sel('        userIdentity.userName|fieldref: requestParameters.userName'),
    { 'userIdentity.userName': 'bob', 'requestParameters.userName': 'eve' },
    false,
  ],
  ['fieldref|contains', sel('        userIdentity.arn|fieldref|contains: requestParameters.userName'), { 'requestParameters.userName': 'alice' }, true],
  ['fieldref to an absent field', sel('        userIdentity.arn|fieldref: requestParameters.userName'), {}, false],
  ['gt', sel('        requestParameters.count|gt: 5'), { requestParameters: { count: 6 } }, true],
  ['gt not equal', sel('        requestParameters.count|gt: 5'), { requestParameters: { count: 5 } }, false],
  ['gte on a numeric string', sel('        requestParameters.count|gte: 5'), { requestParameters: { count: '5' } }, true],
  ['lt', sel('        requestParameters.count|lt: 5'), { requestParameters: { count: 4.5 } }, true],
  ['lte on text', sel('        requestParameters.count|lte: 5'), { requestParameters: { count: 'few' } }, false],
  ['keywords: anywhere in a value, OR', "    keywords:\n        - 'EVILSERVICE'\n        - 'python/3.11'\n    condition: keywords", {}, true],
  ['keywords: not in keys', "    keywords:\n        - 'principalId'\n    condition: keywords", {}, false],
  ['keywords |all', "    keywords:\n        '|all':\n            - 'aws-cli'\n            - 'Admin/alice'\n    condition: keywords", {}, true],
  ['keywords |all needs each', "    keywords:\n        '|all':\n            - 'aws-cli'\n            - 'Admin/bob'\n    condition: keywords", {}, false],
];

const conditions: [string, string, boolean][] = [
  ['a and b', 'a and b', false],
  ['a or b', 'a or b', true],
  ['not binds tighter than and', 'not b and a', true],
  ['and binds tighter than or', 'a or b and c', true],
  ['parentheses', '(a or b) and c', false],
  ['1 of pattern', '1 of sel*', true],
  ['all of pattern', 'all of sel*', false],
  ['1 of them', '1 of them', true],
  ['all of them skips _ identifiers', 'all of them', false],
  ['not 1 of', 'a and not 1 of f*', true],
  ['condition list is OR', '[b, a]', true],
];
// a and sel_1 match; b, c, sel_2, f_1 do not; _x matches
const identifiers =
  '    a:\n        eventName: DescribeInstances\n    b:\n        eventName: X\n    c:\n        eventName: Y\n    sel_1:\n        eventSource: ec2.amazonaws.com\n    sel_2:\n        eventSource: s3.amazonaws.com\n    f_1:\n        eventSource: Z\n    _x:\n        readOnly: true';

describe('Sigma semantics', () => {
  test.each(cases)('%s', (_what, detection, fields, expected) => {
    expect(detect(detection)(record(fields))).toBe(expected);
  });
  test.each(conditions)('condition: %s', (_what, condition, expected) => {
    const text = condition.startsWith('[')
      ? `    condition:\n${condition
          .slice(1, -1)
          .split(', ')
          .map((c) => `        - ${c}`)
          .join('\n')}`
      : `    condition: ${condition}`;
    expect(detect(`${identifiers}\n${text}`)(record())).toBe(expected);
  });
  test('all of them with only matching identifiers', () => {
    expect(detect('    a:\n        eventName: DescribeInstances\n    _b:\n        eventName: X\n    condition: all of them')(record())).toBe(true);
  });
  test('expand uses the configured placeholder values', () => {
    const match = detect("    selection:\n        userIdentity.arn|expand|endswith: '/%Administrators%'\n    condition: selection", {
      Administrators: ['alice', 'root*'],
    });
    expect(match(record())).toBe(true);
    expect(match(record({ 'userIdentity.arn': 'arn:aws:sts::1:assumed-role/R/rootkit' }))).toBe(true);
    expect(match(record({ 'userIdentity.arn': 'arn:aws:sts::1:assumed-role/R/bob' }))).toBe(false);
  });
  test('expand: \\% is a plain percent sign, placeholders inside a value', () => {
    const match = detect("    selection:\n        userAgent|expand: '\\%%tool%/*'\n    condition: selection", { tool: ['aws-cli', 'Boto3'] });
    expect(match(record({ userAgent: '%aws-cli/2.15.0' }))).toBe(true);
    expect(match(record({ userAgent: '%Boto3/1.34' }))).toBe(true);
    expect(match(record({ userAgent: 'aws-cli/2.15.0' }))).toBe(false);
  });
  test('a record without a string eventName matches no rule', () => {
    const match = detect('    selection:\n        userIdentity.type: AssumedRole\n    condition: selection');
    expect(match(record())).toBe(true);
    expect(match(record({ eventName: ['DescribeInstances'] }))).toBe(false);
    expect(match([record()])).toBe(false);
  });
  test('fieldValue: nested, arrays, dotted keys', () => {
    expect(fieldValue(record(), 'userIdentity.sessionContext.sessionIssuer.userName')).toBe('Admin');
    expect(fieldValue({ a: [{ b: 1 }, { c: 2 }, { b: 3 }] }, 'a.b')).toEqual([1, 3]);
    expect(fieldValue({ a: { 'b.c': 4 } }, 'a.b.c')).toBe(4);
    expect(fieldValue({ a: { b: { c: 5 }, 'b.c': 6 } }, 'a.b.c')).toBe(5);
    expect(fieldValue({ a: null }, 'a.b')).toBeUndefined();
  });
});
