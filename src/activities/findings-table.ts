import { viewOf } from '../rules';
import type { Finding } from '../rules/types';
import { blobLines } from './scratch';
import type { LinesBlob } from './types';

/** Rows a scan run's details show; the rest are counted. */
export const FINDINGS_TABLE_ROWS = 20;

function cell(value: unknown): string {
  return (
    String(value ?? '')
      .replace(/\|/g, '\\|')
      .replace(/\s+/g, ' ') || '—'
  );
}

/**
 * A scan's findings as a Markdown table for its run's details in the Web UI: rule, severity,
 * account, user, bucket, time; at most FINDINGS_TABLE_ROWS rows, with the total counted.
 */
export function findingsTableOf(findings: readonly Finding[], total = findings.length): string {
  if (!total) return '';
  const rows = findings.slice(0, FINDINGS_TABLE_ROWS).map((f) => {
    const view = viewOf(f);
    return `| ${cell(f.ruleName)} | ${cell(f.severity)} | ${cell(view.accountId)} | ${cell(view.users[0])} | ${cell(view.buckets.join(', '))} | ${cell(f.firstSeen)} |`;
  });
  const more = total > rows.length ? `\n\n… and ${total - rows.length} more finding(s) (trailwarden findings --date lists them all)` : '';
  return `| rule | severity | account | user | bucket | time |\n|---|---|---|---|---|---|\n${rows.join('\n')}${more}`;
}

/** The activity: reads the scan's findings (inline or from the scratch store) and formats their table. */
export async function findingsTable(input: { findings: LinesBlob }): Promise<string> {
  const findings: Finding[] = [];
  for (const line of blobLines(input.findings)) {
    if (findings.length >= FINDINGS_TABLE_ROWS) break;
    findings.push(JSON.parse(line) as Finding);
  }
  return findingsTableOf(findings, input.findings.lines);
}
