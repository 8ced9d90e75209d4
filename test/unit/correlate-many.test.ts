/**
 * A rule may find more findings than a function call's arguments can hold: a Sigma rule that matches
 * most records (the pack's AssumeRole Misuse) makes one per record. correlateLines must take them all.
 */
import { correlateLines } from '../../src/activities/correlate';
import { parseSigma } from '../../src/sigma';
import type { RecordLine } from '../../src/rules/selection';

test('correlateLines takes 200,000 findings of one rule', () => {
  const [rule] = parseSigma(
    [
      'title: Every call',
      'id: 0f1e2d3c-4b5a-4697-8877-665544332211',
      'logsource: {product: aws, service: cloudtrail}',
      'detection:',
      '  selection:',
      '    eventName: DescribeInstances',
      '  condition: selection',
      'level: low',
    ].join('\n'),
    'every-call.yml',
  );
  const rules = { [rule.id]: { enabled: true, suppression: { enabled: true, duration: 'PT1H', keyFields: ['accountId', 'user'] }, sigma: rule, bases: [] } };
  const start = Date.parse('2026-11-25T00:00:00Z');
  const lines = function* (): Generator<string> {
    for (let i = 0; i < 200_000; i++) {
      const event = {
        eventID: `e-${i}`,
        eventTimeMs: start + i * 100,
        accountId: '111122223333',
        user: 'u',
        userArn: '',
        sourceIpAddress: '',
        eventName: 'DescribeInstances',
        awsRegion: 'us-east-1',
      };
      const line: RecordLine = { eventID: event.eventID, selected: [{ ruleId: rule.id, event }] };
      yield JSON.stringify(line);
    }
  };
  const { findings, findingsByRule } = correlateLines(rules, { startMs: start, endMs: start + 86_400_000 }, lines());
  expect(findings).toHaveLength(200_000);
  expect(findingsByRule[rule.id]).toBe(200_000);
});
