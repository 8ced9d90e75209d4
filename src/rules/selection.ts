import type { CloudTrailRecord } from '../cloudtrail/record';
import { eventTimeMs } from '../cloudtrail/record';
import type { RuleCandidates } from '../cloudtrail/candidate-matcher';
import type { Rule, ScanPeriod, SelectedEvent } from './types';

/** A rule with its validated options, ready to run. */
export interface ConfiguredRule {
  rule: Rule<any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  options: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface SelectedLine {
  ruleId: string;
  event: SelectedEvent;
}

/** The earliest eventTime any enabled rule needs, given its look-back. */
export function readPeriod(rules: readonly ConfiguredRule[], period: ScanPeriod): ScanPeriod {
  const lookback = Math.max(0, ...rules.map(({ rule, options }) => rule.lookbackMs(options)));
  return { startMs: period.startMs - lookback, endMs: period.endMs };
}

/** Every event name some enabled rule can select, for raw-text tests and API filters. */
export function selectedEventNames(rules: readonly ConfiguredRule[]): string[] {
  return [...new Set(rules.flatMap(({ rule, options }) => rule.eventNames(options)))].sort();
}

/** Runs every rule's select on one record that lies in the read period. */
export function selectRecord(
  rules: readonly ConfiguredRule[],
  record: CloudTrailRecord,
  readWindow: ScanPeriod,
): SelectedLine[] {
  const ms = eventTimeMs(record);
  if (ms === undefined || ms < readWindow.startMs || ms >= readWindow.endMs) return [];
  const lines: SelectedLine[] = [];
  for (const { rule, options } of rules) {
    const event = rule.select(record, options);
    if (event) lines.push({ ruleId: rule.id, event });
  }
  return lines;
}

/** What the reader needs to know of the enabled rules: their candidate names and skip tests. */
export function ruleCandidates(rules: readonly ConfiguredRule[]): RuleCandidates[] {
  return rules.map(({ rule, options }) => ({ ...rule.candidates(options), rawSkip: rule.rawSkip?.(options) }));
}

/**
 * One line per parsed, well-formed candidate record: its eventID, which it claims for dedup whether or
 * not a rule selects it (docs/rules.md: the first copy of an eventID is the one kept, for every rule), and
 * what each rule selected.
 */
export interface RecordLine {
  eventID: string;
  selected: SelectedLine[];
}

export function recordLine(rules: readonly ConfiguredRule[], record: CloudTrailRecord, readWindow: ScanPeriod): RecordLine {
  return { eventID: record.eventID as string, selected: selectRecord(rules, record, readWindow) };
}
