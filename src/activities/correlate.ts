import { writeFileSync } from 'node:fs';
import type { Finding, SelectedEvent } from '../rules/types';
import type { SelectedLine } from '../rules/selection';
import { upsertFindings } from '../store/findings-store';
import { configuredRules } from './configured-rules';
import { blobFromFile, blobLines, removeScratch, scratchPath } from './scratch';
import { type CorrelateInput, type CorrelateResult, MAX_LISTED_FINDING_IDS, type StoreFindingsInput, type StoreFindingsResult } from './types';

/** Deduplicates every rule's selected events by eventID across all partitions, then correlates. */
export async function correlate(input: CorrelateInput): Promise<CorrelateResult> {
  const rules = configuredRules(input.rules);
  const byRule = new Map<string, Map<string, SelectedEvent>>(rules.map(({ rule }) => [rule.id, new Map()]));
  let selectedEvents = 0;
  let duplicateEvents = 0;
  for (const blob of input.selected) {
    for (const line of blobLines(blob)) {
      const { ruleId, event } = JSON.parse(line) as SelectedLine;
      const events = byRule.get(ruleId);
      if (!events) continue;
      selectedEvents++;
      if (events.has(event.eventID)) duplicateEvents++;
      else events.set(event.eventID, event);
    }
  }
  const findings: Finding[] = [];
  const findingsByRule: Record<string, number> = {};
  for (const { rule, options } of rules) {
    const found = rule.correlate([...(byRule.get(rule.id)?.values() ?? [])], input.period, options);
    findingsByRule[rule.id] = found.length;
    findings.push(...found);
  }
  const file = scratchPath(input.scanId, 'findings');
  writeFileSync(file, findings.map((f) => `${JSON.stringify(f)}\n`).join(''));
  const findingIds = findings.length <= MAX_LISTED_FINDING_IDS ? findings.map((f) => f.id).sort() : undefined;
  return { findings: blobFromFile(file, findings.length), findingsByRule, findingIds, selectedEvents, duplicateEvents };
}

export async function storeFindings(input: StoreFindingsInput): Promise<StoreFindingsResult> {
  const findings = [...blobLines(input.findings)].map((line) => JSON.parse(line) as Finding);
  return upsertFindings(input.directory, input.date, findings);
}

export async function cleanupScratch(scanId: string): Promise<void> {
  removeScratch(scanId);
}
