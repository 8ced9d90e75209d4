import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

/**
 * Custom search attributes every scan sets, so the Web UI and `temporal workflow list --query` find
 * runs by day, rule, outcome and source. `trailwarden dev` registers them; production clusters need
 * `temporal operator search-attribute create` once (see README).
 */
export const ScanDate = defineSearchAttributeKey('ScanDate', SearchAttributeType.DATETIME);
export const RuleIds = defineSearchAttributeKey('RuleIds', SearchAttributeType.KEYWORD_LIST);
export const FindingCount = defineSearchAttributeKey('FindingCount', SearchAttributeType.INT);
export const ScanStatus = defineSearchAttributeKey('ScanStatus', SearchAttributeType.KEYWORD);
export const Sources = defineSearchAttributeKey('Sources', SearchAttributeType.KEYWORD_LIST);
export const SkippedObjects = defineSearchAttributeKey('SkippedObjects', SearchAttributeType.INT);
export const NotificationStatus = defineSearchAttributeKey('NotificationStatus', SearchAttributeType.KEYWORD);
/** "watch" on the runs of `trailwarden watch` (continuous detection); daily scans do not set it */
export const ScanMode = defineSearchAttributeKey('ScanMode', SearchAttributeType.KEYWORD);

/** Temporal's limit on one search attribute value (its JSON), less a margin. */
const KEYWORD_LIST_BYTES = 2000;

/**
 * A keyword list within Temporal's size limit: the values sorted, as many as fit, then "+N more" for
 * the rest (a scan with the Sigma pack has some 70 rule ids, more than one value holds).
 */
export function keywordList(values: readonly string[]): string[] {
  const sorted = [...values].sort();
  const kept: string[] = [];
  for (const [i, value] of sorted.entries()) {
    const rest = sorted.length - i - 1;
    if (JSON.stringify([...kept, value, ...(rest ? [`+${rest} more`] : [])]).length > KEYWORD_LIST_BYTES) {
      return [...kept, `+${sorted.length - i} more`];
    }
    kept.push(value);
  }
  return kept;
}

/** Set by Temporal on runs a Schedule starts: the time the run was scheduled for. */
export const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** Name and type (as `temporal` CLI flags spell them) of every attribute trailwarden sets. */
export const CUSTOM_SEARCH_ATTRIBUTES: ReadonlyArray<{ name: string; cliType: string }> = [
  { name: ScanDate.name, cliType: 'Datetime' },
  { name: RuleIds.name, cliType: 'KeywordList' },
  { name: FindingCount.name, cliType: 'Int' },
  { name: ScanStatus.name, cliType: 'Keyword' },
  { name: Sources.name, cliType: 'KeywordList' },
  { name: SkippedObjects.name, cliType: 'Int' },
  { name: NotificationStatus.name, cliType: 'Keyword' },
  { name: ScanMode.name, cliType: 'Keyword' },
];
