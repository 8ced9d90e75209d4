import { correlationFields, evaluateCorrelation, parseSigma, type SigmaCorrelation, type SigmaEvent } from '../../src/sigma';
import { prng } from '../helpers/prng';

const RULES = ['failed', 'success', 'other']
  .map(
    (name) =>
      `title: ${name}\nid: id-${name}\nname: ${name}\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    s:\n        eventName: ${name}\n    condition: s\n`,
  )
  .join('---\n');

function correlation(body: string): SigmaCorrelation {
  const docs = parseSigma(`${RULES}---\ntitle: c\nid: c-1\ncorrelation:\n${body}\n`, 'c.yml');
  return docs.find((d) => d.kind === 'correlation') as SigmaCorrelation;
}

const T0 = Date.parse('2026-11-25T10:00:00Z');
const event = (rule: string, id: string, secondsAfter: number, values: Record<string, string | undefined> = {}): SigmaEvent => ({
  ruleId: `id-${rule}`,
  eventID: id,
  eventTimeMs: T0 + secondsAfter * 1000,
  values,
});

describe('Sigma correlations', () => {
  test('names resolve to ids; fields per rule through aliases', () => {
    const c = correlation(
      '    type: temporal\n    rules: [failed, id-success]\n    group-by: [user, recipientAccountId]\n    timespan: 10m\n    aliases:\n        user:\n            failed: userIdentity.userName\n            success: requestParameters.userName',
    );
    expect(c.rules).toEqual(['id-failed', 'id-success']);
    expect(c.timespanMs).toBe(600_000);
    expect(correlationFields(c)).toEqual({
      'id-failed': ['userIdentity.userName', 'recipientAccountId'],
      'id-success': ['requestParameters.userName', 'recipientAccountId'],
    });
    const a = { recipientAccountId: '1' };
    const events = [
      event('failed', 'e1', 1, { ...a, 'userIdentity.userName': 'bob' }),
      event('success', 'e2', 2, { ...a, 'requestParameters.userName': 'bob' }),
    ];
    expect(evaluateCorrelation(c, events)).toEqual([
      {
        windowStartMs: T0,
        windowEndMs: T0 + 600_000,
        group: { user: 'bob', recipientAccountId: '1' },
        eventIDs: ['e1', 'e2'],
        firstMs: T0 + 1000,
        lastMs: T0 + 2000,
        value: 2,
      },
    ]);
    events[1].values['requestParameters.userName'] = 'eve';
    expect(evaluateCorrelation(c, events)).toEqual([]);
  });

  test('event_count counts distinct events per group and aligned window; duplicates count once', () => {
    const c = correlation('    type: event_count\n    rules: [failed]\n    group-by: [user]\n    timespan: 1h\n    condition:\n        gte: 3');
    const bob = { user: 'bob' };
    expect(evaluateCorrelation(c, [event('failed', 'a', 1, bob), event('failed', 'b', 2, bob), event('failed', 'b', 2, bob)])).toEqual([]);
    const m = evaluateCorrelation(c, [
      event('failed', 'a', 1, bob),
      event('failed', 'b', 2, bob),
      event('failed', 'c', 3, bob),
      event('failed', 'd', 4, { user: 'eve' }),
    ]);
    expect(m.map((x) => [x.group, x.value, x.eventIDs])).toEqual([[bob, 3, ['a', 'b', 'c']]]);
    // the same three straddling the 11:00 boundary
    expect(evaluateCorrelation(c, [event('failed', 'a', 3598, bob), event('failed', 'b', 3599, bob), event('failed', 'c', 3600, bob)])).toEqual([]);
  });

  test('value_count counts distinct values of the field; missing values do not count', () => {
    const c = correlation(
      '    type: value_count\n    rules: [failed]\n    group-by: [ip]\n    timespan: 1d\n    condition:\n        field: user\n        gt: 1\n        lte: 2',
    );
    const ev = (id: string, user?: string) => event('failed', id, 5, { ip: '1.2.3.4', user });
    expect(evaluateCorrelation(c, [ev('a', 'bob'), ev('b', 'bob'), ev('c')])).toEqual([]);
    expect(evaluateCorrelation(c, [ev('a', 'bob'), ev('b', 'eve'), ev('c')])[0].value).toBe(2);
    expect(evaluateCorrelation(c, [ev('a', 'bob'), ev('b', 'eve'), ev('c', 'kim')])).toEqual([]);
  });

  test('temporal needs every rule (no condition), or the count given', () => {
    const all = correlation('    type: temporal\n    rules: [failed, success, other]\n    group-by: []\n    timespan: 5m');
    expect(evaluateCorrelation(all, [event('failed', 'a', 1), event('success', 'b', 2)])).toEqual([]);
    expect(evaluateCorrelation(all, [event('other', 'c', 3), event('failed', 'a', 1), event('success', 'b', 2)])[0].value).toBe(3);
    const two = correlation('    type: temporal\n    rules: [failed, success, other]\n    group-by: []\n    timespan: 5m\n    condition:\n        gte: 2');
    expect(evaluateCorrelation(two, [event('failed', 'a', 1), event('success', 'b', 2)])[0].value).toBe(2);
  });

  test('temporal_ordered needs the rules in the order written (the specification example: failed, then success)', () => {
    const c = correlation('    type: temporal_ordered\n    rules: [failed, success]\n    group-by: [user]\n    timespan: 10m');
    const bob = { user: 'bob' };
    expect(evaluateCorrelation(c, [event('success', 's', 10, bob), event('failed', 'f', 20, bob)])).toEqual([]);
    expect(evaluateCorrelation(c, [event('success', 's', 30, bob), event('failed', 'f', 20, bob)])[0].eventIDs).toEqual(['f', 's']);
    const three = correlation(
      '    type: temporal_ordered\n    rules: [failed, success, other]\n    group-by: []\n    timespan: 10m\n    condition:\n        gte: 2',
    );
    // other, failed, success: the ordered subsequence failed -> success has 2
    expect(evaluateCorrelation(three, [event('other', 'o', 1), event('failed', 'f', 2), event('success', 's', 3)])[0].value).toBe(2);
    expect(evaluateCorrelation(three, [event('other', 'o', 1), event('success', 's', 2), event('failed', 'f', 3)])).toEqual([]);
  });

  test('the result does not depend on the order of the events (many seeds)', () => {
    const c = correlation('    type: event_count\n    rules: [failed, success]\n    group-by: [user]\n    timespan: 1m\n    condition:\n        gte: 2');
    for (let seed = 1; seed <= 50; seed++) {
      const rand = prng(seed);
      const events = Array.from({ length: 40 }, (_, n) =>
        event(rand() < 0.5 ? 'failed' : 'success', `e${Math.floor(rand() * 30)}`, Math.floor(rand() * 300), { user: ['bob', 'eve', undefined][n % 3] }),
      );
      const expected = evaluateCorrelation(c, events);
      expect(expected.length).toBeGreaterThan(0);
      const shuffled = [...events].sort(() => rand() - 0.5);
      expect(evaluateCorrelation(c, shuffled)).toEqual(expected);
    }
  });
});
