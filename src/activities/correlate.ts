import type { Finding, ScanPeriod, SelectedEvent } from '../rules/types';
import type { RecordLine } from '../rules/selection';
import { findingsStoreOf } from '../store/findings-store';
import { configuredRules } from '../rules/configured-rules';
import { scanBlobStore, keySegment } from '../store/blob-store';
import { blobBytes, blobLines, byteLines, removeScanStore, removeScratch, storedLines } from './scratch';
import {
  type CorrelateInput,
  type GatherInput,
  type LinesBlob,
  type ScanStore,
  type CorrelateResult,
  MAX_LISTED_FINDING_IDS,
  type StoreFindingsInput,
  type StoreFindingsResult,
} from './types';

/** What correlating a scan's selected lines gives, before anything is stored. */
export interface Correlated {
  findings: Finding[];
  findingsByRule: Record<string, number>;
  selectedEvents: number;
  duplicateEvents: number;
}

/**
 * Deduplicates records by eventID across all partitions (lines in source, key and file order: the
 * first copy is kept, docs/rules.md "Dedup"), then runs each rule's correlate on what the kept copies selected.
 */
export function correlateLines(rulesConfig: Record<string, unknown>, period: ScanPeriod, lines: Iterable<string>): Correlated {
  return correlateRecords(rulesConfig, period, parsed(lines));
}

function* parsed(lines: Iterable<string>): Generator<RecordLine> {
  for (const line of lines) yield JSON.parse(line) as RecordLine;
}

/** correlateLines on lines already parsed (the watch keeps a day's parsed lines across its rounds). */
export function correlateRecords(rulesConfig: Record<string, unknown>, period: ScanPeriod, records: Iterable<RecordLine>): Correlated {
  const rules = configuredRules(rulesConfig);
  const byRule = new Map<string, Map<string, SelectedEvent>>(rules.map(({ rule }) => [rule.id, new Map()]));
  let selectedEvents = 0;
  let duplicateEvents = 0;
  const claimed = new Set<string>();
  for (const { eventID, selected } of records) {
    // the first copy of an eventID is the one kept, for every rule (a later copy may differ)
    if (claimed.has(eventID)) {
      duplicateEvents++;
      continue;
    }
    claimed.add(eventID);
    for (const { ruleId, event } of selected) {
      selectedEvents++;
      byRule.get(ruleId)?.set(event.eventID, event);
    }
  }
  const findings: Finding[] = [];
  const findingsByRule: Record<string, number> = {};
  for (const { rule, options } of rules) {
    const found = rule.correlate([...(byRule.get(rule.id)?.values() ?? [])], period, options);
    findingsByRule[rule.id] = found.length;
    // one by one: a rule may find more than a call's arguments can hold (a Sigma rule matching most records)
    for (const finding of found) findings.push(finding);
  }
  return { findings, findingsByRule, selectedEvents, duplicateEvents };
}

function* linesOfParts(parts: readonly Buffer[]): Generator<string> {
  for (const part of parts) yield* byteLines(part);
}

/** One batch's partitions' record lines as one blob, in their order (a scan's correlate reads one per batch). */
export async function gatherSelected(input: GatherInput): Promise<LinesBlob> {
  const parts = await Promise.all(input.blobs.map((blob) => blobBytes(input.store, input.scanId, blob)));
  const lines = input.blobs.reduce((n, blob) => n + blob.lines, 0);
  const blob = await storedLines(input.store, input.scanId, `selected/${keySegment(input.name)}.jsonl`, lines, Buffer.concat(parts));
  // the partitions' objects are in the batch's now
  if (input.store) for (const part of input.blobs) if (part.key) await scanBlobStore(input.store, input.scanId).delete(part.key);
  return blob;
}

export async function correlate(input: CorrelateInput): Promise<CorrelateResult> {
  const parts = await Promise.all(input.selected.map((blob) => blobBytes(input.store, input.scanId, blob)));
  const { findings, findingsByRule, selectedEvents, duplicateEvents } = correlateLines(input.rules, input.period, linesOfParts(parts));
  const findingIds = findings.length <= MAX_LISTED_FINDING_IDS ? findings.map((f) => f.id).sort() : undefined;
  // inline: the data converter offloads it to payloadStorage when it is large
  const blob: LinesBlob = { lines: findings.length, inline: findings.map((f) => `${JSON.stringify(f)}\n`).join('') };
  return { findings: blob, findingsByRule, findingIds, selectedEvents, duplicateEvents };
}

export async function storeFindings(input: StoreFindingsInput): Promise<StoreFindingsResult> {
  const findings = [...blobLines(input.findings)].map((line) => JSON.parse(line) as Finding);
  return findingsStoreOf(input.store ?? { directory: input.directory }).upsert(input.date, findings);
}

export async function cleanupScratch(scanId: string, store?: ScanStore): Promise<void> {
  removeScratch(scanId);
  if (store) await removeScanStore(store, scanId);
}
