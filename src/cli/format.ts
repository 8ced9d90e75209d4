import type { ScanSummary } from '../activities/types';
import type { RangeScanResult } from '../workflows/range-scan';
import { viewOf } from '../rules';
import type { CommonFinding } from '../rules/types';

/** One line per finding: severity, rule, its rule's title and fields, id. */
export function formatFinding(f: CommonFinding): string {
  const view = viewOf(f);
  const fields = Object.entries(view.fields)
    .map(([label, value]) => `${label}: ${value}`)
    .join('; ');
  return `[${f.severity}] ${f.ruleName}  ${view.title}  (${fields})  id=${f.id}`;
}

export function formatSummary(summary: ScanSummary): string {
  const lines = [
    `scan ${summary.date}: ${summary.findings} finding(s) ` +
      `(${
        Object.entries(summary.findingsByRule)
          .map(([rule, n]) => `${rule}: ${n}`)
          .join(', ') || 'no rules enabled'
      })`,
    `  read ${summary.objects} object(s), ${summary.records} record(s), ${(summary.bytes / 1e6).toFixed(1)} MB ` +
      `from ${summary.partitions} partition(s); ${summary.selectedEvents} selected event(s), ${summary.duplicateEvents} duplicate(s)`,
    ...summary.sources.map(
      (s) =>
        `  ${s.source}: ${s.partitions} partition(s), ${s.records} record(s), ${s.selected} selected` +
        (s.requests !== undefined
          ? `, ${s.requests} request(s), ${s.pages ?? 0} page(s), ${s.retriedAttempts ?? 0} retried attempt(s)`
          : `, ${s.objects} object(s)`),
    ),
    `  findings stored in ${summary.store.file} (${summary.store.added} new, ${summary.store.updated} updated, ${summary.store.stored} in file)`,
  ];
  if (summary.incidents) {
    lines.push(
      `  incidents: ${summary.incidents.newFindings} new finding(s) sent to ${summary.incidents.incidents} incident(s); ` +
        `${summary.incidents.alreadyRouted} already sent by an earlier run`,
    );
  }
  if (summary.skippedCount) {
    lines.push(`  skipped or reported ${summary.skippedCount} object(s) or record(s):`);
    for (const item of summary.skipped) lines.push(`    ${item.key}: ${item.reason}`);
    if (summary.skippedCount > summary.skipped.length) lines.push(`    ... and ${summary.skippedCount - summary.skipped.length} more`);
  }
  for (const failed of summary.failedPartitions) lines.push(`  FAILED partition ${failed.label}: ${failed.error}`);
  return lines.join('\n');
}

export function formatRangeResult(result: RangeScanResult): string {
  const lines = [`re-run ${result.from} .. ${result.to}: ${result.days.length} day(s), ${result.findings} finding(s)`];
  for (const day of result.days) {
    lines.push(`  ${day.date}: ${day.status}${day.status === 'Failed' ? ` (${day.error})` : `, ${day.findings} finding(s)`}`);
  }
  return lines.join('\n');
}
