import type { CloudTrailRecord } from '../cloudtrail/record';
import { eventTimeMs } from '../cloudtrail/record';
import type { RuleCandidates } from '../scan/candidate-matcher';
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

/**
 * The records a scan reads: [start - the longest look-back, end), and each rule's own window within it
 * ([start - its look-back, end)), by rule id, which its selection keeps to.
 */
export interface ReadWindow extends ScanPeriod {
  byRule?: Record<string, ScanPeriod>;
}

/** The window one rule reads. */
export function ruleWindow({ rule, options }: ConfiguredRule, period: ScanPeriod): ScanPeriod {
  return { startMs: period.startMs - Math.max(0, rule.lookbackMs(options)), endMs: period.endMs };
}

/** The read window of the enabled rules: the union of their windows, and each one's. */
export function readWindow(rules: readonly ConfiguredRule[], period: ScanPeriod): ReadWindow {
  const byRule: Record<string, ScanPeriod> = {};
  for (const configured of rules) byRule[configured.rule.id] = ruleWindow(configured, period);
  const startMs = Math.min(period.startMs, ...Object.values(byRule).map((w) => w.startMs));
  return { startMs, endMs: period.endMs, byRule };
}

/** Every event name some enabled rule can select, for raw-text tests and API filters. */
export function selectedEventNames(rules: readonly ConfiguredRule[]): string[] {
  return [...new Set(rules.flatMap(({ rule, options }) => rule.eventNames(options)))].sort();
}

/** One LookupEvents query: an event name over the union of the windows of the rules that select it. */
export interface LookupQuery {
  eventName: string;
  startMs: number;
  endMs: number;
}

/** The queries LookupEvents needs: each management event name the rules select, over its own window. */
export function lookupQueries(rules: readonly ConfiguredRule[], period: ScanPeriod): LookupQuery[] {
  const windows = new Map<string, ScanPeriod>();
  for (const configured of rules) {
    const { rule, options } = configured;
    const data = new Set(rule.dataEventNames?.(options) ?? []);
    const window = ruleWindow(configured, period);
    for (const name of rule.eventNames(options)) {
      if (data.has(name)) continue;
      const known = windows.get(name);
      windows.set(name, known ? { startMs: Math.min(known.startMs, window.startMs), endMs: Math.max(known.endMs, window.endMs) } : window);
    }
  }
  return [...windows].map(([eventName, w]) => ({ eventName, ...w })).sort((a, b) => (a.eventName < b.eventName ? -1 : 1));
}

/** Runs every rule's select on one record that lies in the read window (and in that rule's own). */
export function selectRecord(rules: readonly ConfiguredRule[], record: CloudTrailRecord, readWindow: ReadWindow): SelectedLine[] {
  const ms = eventTimeMs(record);
  if (ms === undefined || ms < readWindow.startMs || ms >= readWindow.endMs) return [];
  const lines: SelectedLine[] = [];
  for (const { rule, options } of rules) {
    // a rule keeps to its own window: a look-back another rule needs is not its own
    const own = readWindow.byRule?.[rule.id];
    if (own && (ms < own.startMs || ms >= own.endMs)) continue;
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

export function recordLine(rules: readonly ConfiguredRule[], record: CloudTrailRecord, readWindow: ReadWindow): RecordLine {
  return { eventID: record.eventID as string, selected: selectRecord(rules, record, readWindow) };
}
