import type { CloudTrailRecord } from '../cloudtrail/record';
import { eventTimeMs } from '../cloudtrail/record';
import type { RawSkipTest, Rule, ScanPeriod, SelectedEvent } from './types';

/** A rule with its validated options, ready to run. */
export interface ConfiguredRule {
  rule: Rule<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
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

/**
 * For each event name some enabled rule selects, the raw tests that all must skip a record of that name
 * before it may go unparsed; an empty list when some rule selecting the name has none (always parse).
 */
export function rawSkipTests(rules: readonly ConfiguredRule[]): Map<string, RawSkipTest[]> {
  const byName = new Map<string, RawSkipTest[]>();
  const unskippable = new Set<string>();
  for (const { rule, options } of rules) {
    const test = rule.rawSkip?.(options);
    for (const name of rule.eventNames(options)) {
      if (!test?.eventNames.includes(name)) unskippable.add(name);
      else byName.set(name, [...(byName.get(name) ?? []), test]);
    }
  }
  for (const name of unskippable) byName.set(name, []);
  return byName;
}
