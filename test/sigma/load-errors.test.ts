import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSigma, parseSigma, SigmaLoadError } from '../../src/sigma';

const rule = (detection: string, extra = '', id = 'r-1'): string =>
  `title: t\nid: ${id}\n${extra}logsource:\n    product: aws\n    service: cloudtrail\ndetection:\n${detection}\nlevel: high\n`;
const sel = (lines: string, condition = 'selection'): string => rule(`    selection:\n${lines}\n    condition: ${condition}`);

function problem(text: string, options = {}): SigmaLoadError {
  try {
    parseSigma(text, 'x.yml', options);
  } catch (e) {
    if (e instanceof SigmaLoadError) return e;
    throw e;
  }
  throw new Error('no load error');
}

const errors: [string, string, RegExp][] = [
  ['another logsource', rule('    s:\n        a: 1\n    condition: s').replace('service: cloudtrail', 'service: sshd'), /only CloudTrail rules apply/],
  ['unknown modifier', sel('        eventName|startwith: x'), /unknown modifier "startwith"/],
  ['unsupported modifier', sel('        eventName|neq: x'), /unsupported feature: modifier "neq"/],
  ['malformed condition', sel('        eventName: x', 'selection and'), /malformed condition "selection and"/],
  ['unbalanced parentheses', sel('        eventName: x', '(selection'), /malformed condition/],
  ['unknown identifier', sel('        eventName: x', 'selection or other'), /unknown search identifier "other"/],
  ['pattern matching nothing', sel('        eventName: x', '1 of filter*'), /matches no search identifier/],
  ['2 of', sel('        eventName: x', '2 of selection*'), /"2 of" is not supported/],
  ['old aggregation', sel('        eventName: x', 'selection | count() > 5'), /unsupported feature: aggregation/],
  ['timeframe', rule('    selection:\n        eventName: x\n    timeframe: 5m\n    condition: selection'), /unsupported feature: "timeframe"/],
  ['empty path segment', sel('        userIdentity..type: x'), /empty segment/],
  ['a wrongly cased CloudTrail field', sel('        EventName: x'), /cannot exist in a CloudTrail record \(did you mean "eventName"\?\)/],
  ['missing id', rule('    s:\n        eventName: x\n    condition: s').replace('id: r-1\n', ''), /has no id/],
  ['expand without a placeholder', sel("        userIdentity.arn|expand: '%Admins%'"), /placeholder %Admins% has no configured values/],
  ['all with one value', sel('        eventName|all: x'), /"all" needs a list of at least two values/],
  ['null in a list', sel('        errorCode:\n            - x\n            - null'), /null cannot be part of a list/],
  ['bad regex', sel("        eventName|re: '(?i)x'"), /regular expression .*not supported/],
  ['bad cidr', sel('        sourceIPAddress|cidr: 10.0.0.0'), /no prefix length/],
  ['a number that is not finite', sel('        x: .inf'), /not finite/],
  ['lt with text', sel('        x|lt: ten'), /needs a number/],
  ['re with contains', sel('        eventName|re|contains: x'), /cannot be combined/],
  ['base64offset without contains', sel('        x|base64offset: abc'), /must be followed by "contains"/],
  ['utf16le without base64', sel('        x|utf16le: abc'), /must be followed by "base64"/],
  ['base64 of wildcards', sel('        x|contains|base64: abc'), /cannot encode a value with wildcards/],
  ['i without re', sel('        x|i: abc'), /need "re"/],
  ['schema: bad level', rule('    s:\n        eventName: x\n    condition: s').replace('level: high', 'level: severe'), /level/],
  ['schema: bad date', rule('    s:\n        eventName: x\n    condition: s', 'date: 2020/02/11\n'), /date: is not a date/],
  ['not YAML', 'title: [x\n', /not valid YAML/],
  [
    'unknown correlation type',
    'title: c\nid: c-1\ncorrelation:\n    type: value_max\n    rules: [r-1]\n    group-by: []\n    timespan: 1h\n',
    /unknown correlation type "value_max"/,
  ],
  [
    'unsupported correlation type',
    'title: c\nid: c-1\ncorrelation:\n    type: value_sum\n    rules: [r-1]\n    group-by: []\n    timespan: 1h\n',
    /unsupported feature: correlation type "value_sum"/,
  ],
  [
    'bad timespan',
    `${sel('        eventName: x')}---\ntitle: c\nid: c-1\ncorrelation:\n    type: temporal\n    rules: [r-1]\n    group-by: []\n    timespan: 1w\n`,
    /timespan "1w"/,
  ],
  [
    'event_count without condition',
    `${sel('        eventName: x')}---\ntitle: c\nid: c-1\ncorrelation:\n    type: event_count\n    rules: [r-1]\n    group-by: []\n    timespan: 1h\n`,
    /needs a condition/,
  ],
  [
    'value_count without field',
    `${sel('        eventName: x')}---\ntitle: c\nid: c-1\ncorrelation:\n    type: value_count\n    rules: [r-1]\n    group-by: []\n    timespan: 1h\n    condition:\n        gte: 2\n`,
    /needs condition.field/,
  ],
  [
    'unknown rule reference',
    `${sel('        eventName: x')}---\ntitle: c\nid: c-1\ncorrelation:\n    type: temporal\n    rules: [r-1, nothere]\n    group-by: []\n    timespan: 1h\n`,
    /refers to unknown rule "nothere"/,
  ],
  [
    'alias naming a rule outside the correlation',
    `${sel('        eventName: x')}---\n${sel('        eventName: y').replace('id: r-1', 'id: r-2')}---\ntitle: c\nid: c-1\ncorrelation:\n    type: temporal\n    rules: [r-1]\n    group-by: [u]\n    timespan: 1h\n    aliases:\n        u:\n            r-2: a\n`,
    /alias "u" names "r-2"/,
  ],
  ['duplicate id', `${sel('        eventName: x')}---\n${sel('        eventName: y')}`, /duplicate id/],
];

describe('Sigma load errors', () => {
  test.each(errors)('%s', (_what, text, message) => {
    const e = problem(text);
    expect(e.file).toBe('x.yml');
    expect(e.problem).toMatch(message);
    expect(e.message).toBe(e.ruleId === undefined ? `x.yml: ${e.problem}` : `x.yml: rule ${e.ruleId}: ${e.problem}`);
  });
  test('the rule id is named when known', () => {
    expect(problem(sel('        eventName|foo: x')).ruleId).toBe('r-1');
  });
  test('loadSigma names the file, reads folders recursively, applies exclude and levels', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigma-'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'a.yml'), rule('    s:\n        eventName: x\n    condition: s', '', 'a-1'));
    fs.writeFileSync(path.join(dir, 'sub', 'b.yaml'), rule('    s:\n        eventName: y\n    condition: s', '', 'b-1').replace('level: high', 'level: low'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a rule');
    expect(loadSigma([dir]).map((d) => d.id)).toEqual(['a-1', 'b-1']);
    expect(loadSigma([dir], { exclude: ['a-1'] }).map((d) => d.id)).toEqual(['b-1']);
    expect(loadSigma([dir], { levels: ['low'] }).map((d) => d.id)).toEqual(['b-1']);
    fs.writeFileSync(path.join(dir, 'sub', 'c.yml'), sel('        eventName|bad: x'));
    expect(() => loadSigma([dir])).toThrow(`${path.join(dir, 'sub', 'c.yml')}: rule r-1: search identifier "selection": unknown modifier "bad"`);
    expect(() => loadSigma([path.join(dir, 'missing.yml')])).toThrow(/does not exist/);
    fs.rmSync(dir, { recursive: true });
  });
});
