import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  compileSigmaRule,
  correlationFields,
  evaluateCorrelation,
  fieldValue,
  loadSigma,
  SIGMAHQ_CLOUDTRAIL_PACK,
  type SigmaCorrelation,
  type SigmaEvent,
  type SigmaRule,
} from '../../src/sigma';
import { record } from './helpers';
import { admits } from './prefilter-check';

interface Fixture {
  rule: string;
  id: string;
  author: string;
  matches: Record<string, unknown>[];
  misses: Record<string, unknown>[];
}

const FIXTURES = path.join(__dirname, 'fixtures', 'rules');
const fixtures: Fixture[] = fs.readdirSync(FIXTURES).map((f) => JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8')));
const documents = loadSigma([SIGMAHQ_CLOUDTRAIL_PACK]);
const rules = documents.filter((d): d is SigmaRule => d.kind === 'rule');
const correlations = documents.filter((d): d is SigmaCorrelation => d.kind === 'correlation');
const compiled = new Map(rules.map((r) => [r.id, compileSigmaRule(r)]));

describe('the SigmaHQ CloudTrail pack', () => {
  test('57 rules at the top, 8 correlations with their base rules, all compiled; sources relative to the pack', () => {
    const top = rules.filter((r) => !r.source.includes('/'));
    expect(top).toHaveLength(57);
    expect(correlations).toHaveLength(8);
    expect(correlations.every((c) => c.source.startsWith('correlations/') && c.rules.every((id) => compiled.has(id)))).toBe(true);
    expect(fs.readdirSync(SIGMAHQ_CLOUDTRAIL_PACK)).toEqual(expect.arrayContaining(['LICENSE-SigmaHQ.md', 'README.md', 'correlations']));
  });
  test('every top-level rule has a fixture, and the author is kept', () => {
    const top = rules.filter((r) => !r.source.includes('/'));
    expect(new Set(fixtures.map((f) => f.id))).toEqual(new Set(top.map((r) => r.id)));
    for (const f of fixtures) expect(compiled.get(f.id)?.rule.author).toBe(f.author);
  });
  test('the 57 rules are the SigmaHQ files unchanged', () => {
    const shipped = rules.filter((r) => !r.source.includes('/'));
    const upstream = '/work/shared/sigma/rules/cloudtrail';
    if (!fs.existsSync(upstream)) return;
    for (const r of shipped)
      expect(fs.readFileSync(path.join(SIGMAHQ_CLOUDTRAIL_PACK, r.source), 'utf8')).toBe(fs.readFileSync(path.join(upstream, r.source), 'utf8'));
  });

  describe.each(fixtures.map((f) => [f.rule, f] as const))('%s', (_file, fixture) => {
    const rule = () => compiled.get(fixture.id)!;
    test.each(fixture.matches.map((m, i) => [i, m] as const))('matches record %i (and its prefilter admits it)', (_i, fields) => {
      const r = record(fields);
      expect(rule().matches(r)).toBe(true);
      expect(admits(rule().prefilter, r, JSON.stringify(r))).toBe(true);
    });
    test.each(fixture.misses.map((m, i) => [i, m] as const))('does not match near miss %i', (_i, fields) => {
      expect(rule().matches(record(fields))).toBe(false);
    });
  });
});

/** The events a correlation keeps of each record its base rules match. */
function eventsOf(correlation: SigmaCorrelation, records: Record<string, unknown>[]): SigmaEvent[] {
  const fields = correlationFields(correlation);
  return records.flatMap((r) =>
    correlation.rules
      .filter((id) => compiled.get(id)!.matches(r))
      .map((id) => ({
        ruleId: id,
        eventID: r.eventID as string,
        eventTimeMs: Date.parse(r.eventTime as string),
        values: Object.fromEntries(fields[id].map((f) => [f, String(fieldValue(r, f))])),
      })),
  );
}

/** A record the base rule matches: its selection's first values (the converted rules are plain selections). */
function baseRecord(ruleId: string, n: number, timeMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const selection = compiled.get(ruleId)!.rule.detection.selection as Record<string, unknown>;
  const fields = Object.fromEntries(Object.entries(selection).map(([k, v]) => [k, String(Array.isArray(v) ? v[n % v.length] : v).replace(/\*$/, 'Keys')]));
  return record({ ...fields, eventID: `${ruleId}-${n}-${timeMs}`, eventTime: new Date(timeMs).toISOString().replace('.000Z', 'Z'), ...extra });
}

const WINDOW_START = Date.parse('2026-11-25T10:00:00Z');

describe('the pack correlations', () => {
  describe.each(correlations.map((c) => [c.title, c] as const))('%s', (_title, c) => {
    const threshold = c.type === 'event_count' ? (c.condition.gt ?? 0) + 1 : c.rules.length;
    const sequence = (count: number, start: number, step: number, extra = {}) =>
      Array.from({ length: count }, (_, n) => baseRecord(c.rules[n % c.rules.length], n, start + n * step, extra));
    test('a sequence inside one window matches', () => {
      const events = eventsOf(c, sequence(threshold, WINDOW_START, 1000));
      const matches = evaluateCorrelation(c, events);
      expect(matches).toHaveLength(1);
      expect(matches[0].value).toBe(threshold);
      expect(matches[0].windowStartMs % c.timespanMs).toBe(0);
    });
    test('one event fewer does not', () => {
      expect(evaluateCorrelation(c, eventsOf(c, sequence(threshold - 1, WINDOW_START, 1000)))).toEqual([]);
    });
    test('the same events split by an aligned window boundary do not', () => {
      const boundary = Math.ceil(WINDOW_START / c.timespanMs) * c.timespanMs + c.timespanMs;
      const records = sequence(threshold, boundary - 1000 * Math.ceil(threshold / 2) + 500, 1000);
      expect(evaluateCorrelation(c, eventsOf(c, records))).toEqual([]);
    });
    test('events of different accounts do not add up', () => {
      const records = sequence(threshold, WINDOW_START, 1000).map((r, n) => ({ ...r, recipientAccountId: n % 2 === 0 ? '111111111111' : '222222222222' }));
      expect(evaluateCorrelation(c, eventsOf(c, records))).toEqual([]);
    });
  });
});
