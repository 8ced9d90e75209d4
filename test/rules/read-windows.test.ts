/**
 * Per-rule read windows: each rule reads [start - its own look-back, end); the scan reads the union;
 * LookupEvents asks for each management event name over the windows of the rules that select it, and
 * never for a rule's data events.
 */
import { configuredRules } from '../../src/rules/configured-rules';
import { parseConfig } from '../../src/config/load';
import { ssmCommandExecution, ssmOutputToForeignBucket } from '../../src/rules';
import { lookupQueries, readWindow, recordLine } from '../../src/rules/selection';
import { day, s3Put, sendCommand } from './fixtures';

const DAY = day('2026-11-25');
const HOUR = 3_600_000;
const rulesWith = (rule2: object) => configuredRules(parseConfig({ sources: [], rules: { [ssmOutputToForeignBucket.id]: rule2 } }).rules);

test('each rule has its own window; the scan reads their union', () => {
  const window = readWindow(rulesWith({ commandLookback: 'PT1H' }), DAY);
  expect(window).toEqual({
    startMs: DAY.startMs - HOUR,
    endMs: DAY.endMs,
    byRule: { [ssmCommandExecution.id]: DAY, [ssmOutputToForeignBucket.id]: { startMs: DAY.startMs - HOUR, endMs: DAY.endMs } },
  });
  expect(readWindow(rulesWith({}), DAY)).toMatchObject({ startMs: DAY.startMs, endMs: DAY.endMs });
});

test("a command in rule 2's look-back is selected by rule 2 only; one in the period by both; the line claims its eventID either way", () => {
  const rules = rulesWith({ commandLookback: 'PT1H' });
  const window = readWindow(rules, DAY);
  const before = recordLine(rules, sendCommand({ eventID: 'early', eventTime: '2026-11-24T23:30:00Z', outputS3BucketName: 'out' }), window);
  expect(before.eventID).toBe('early');
  expect(before.selected.map((s) => s.ruleId)).toEqual([ssmOutputToForeignBucket.id]);
  const inside = recordLine(rules, sendCommand({ eventID: 'in', eventTime: '2026-11-25T10:00:00Z', outputS3BucketName: 'out' }), window);
  expect(inside.selected.map((s) => s.ruleId)).toEqual([ssmCommandExecution.id, ssmOutputToForeignBucket.id]);
  const tooEarly = recordLine(rules, sendCommand({ eventID: 'old', eventTime: '2026-11-24T22:59:59Z', outputS3BucketName: 'out' }), window);
  expect(tooEarly.selected).toEqual([]);
  const putBefore = recordLine(rules, s3Put({ eventID: 'put', eventTime: '2026-11-24T23:30:00Z' }), window);
  expect(putBefore.selected.map((s) => s.ruleId)).toEqual([ssmOutputToForeignBucket.id]);
});

test("LookupEvents queries: management events only, each over its rules' windows", () => {
  expect(lookupQueries(rulesWith({}), DAY)).toEqual([
    { eventName: 'CreateAssociation', ...DAY },
    { eventName: 'SendCommand', ...DAY },
  ]);
  expect(lookupQueries(rulesWith({ commandLookback: 'PT2H', includeMultipartUploads: true }), DAY)).toEqual([
    { eventName: 'CreateAssociation', startMs: DAY.startMs - 2 * HOUR, endMs: DAY.endMs },
    { eventName: 'SendCommand', startMs: DAY.startMs - 2 * HOUR, endMs: DAY.endMs },
  ]);
  expect(lookupQueries(rulesWith({ enabled: false }), DAY)).toEqual([{ eventName: 'SendCommand', ...DAY }]);
  expect(ssmOutputToForeignBucket.dataEventNames!(ssmOutputToForeignBucket.optionsSchema.parse({ includeMultipartUploads: true }))).toEqual([
    'PutObject',
    'CreateMultipartUpload',
    'CompleteMultipartUpload',
  ]);
});
