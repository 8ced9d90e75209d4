import { correlateRecords } from '../activities/correlate';
import type { ScanConfig } from '../config/load';
import type { RecordLine } from '../rules/selection';
import type { Finding } from '../rules/types';
import { type FindingLatency, readDay, recordsOf, watchStore } from './day-store';
import { DAY_MS, dayStartMs } from './days';

export interface CorrelatedDay {
  findings: Finding[];
  findingsByRule: Record<string, number>;
  selectedEvents: number;
  duplicateEvents: number;
  objects: number;
  /** per finding id: when the last of its evidence was delivered (epoch ms) */
  lastEvidenceMs: Map<string, number>;
}

/**
 * The day so far, exactly as the daily scan would correlate it: every object's record lines in the
 * daily scan's order (so dedup keeps the same first copies), through the same correlate. Rule 1's
 * windows and rule 2's joins are recomputed over the whole day each time, so a finding's id is the
 * daily scan's and a later event of a window updates the same finding.
 */
export async function correlateDay(config: ScanConfig, date: string): Promise<CorrelatedDay> {
  const entries = await readDay(watchStore(config), date);
  const deliveredOf = new Map<string, number>();
  function* records(): Generator<RecordLine> {
    for (const entry of entries) {
      for (const record of recordsOf(entry)) {
        if (!deliveredOf.has(record.eventID)) deliveredOf.set(record.eventID, entry.object.deliveredMs);
        yield record;
      }
    }
  }
  const startMs = dayStartMs(date);
  const correlated = correlateRecords(config.rules, { startMs, endMs: startMs + DAY_MS }, records());
  const lastEvidenceMs = new Map<string, number>();
  for (const finding of correlated.findings) {
    lastEvidenceMs.set(finding.id, Math.max(...finding.eventIds.map((id) => deliveredOf.get(id) ?? 0)));
  }
  return { ...correlated, objects: entries.length, lastEvidenceMs };
}

/**
 * The latency records after a correlation at `nowMs`: a new finding, or one whose count changed, is
 * detected now; one that did not change keeps its record.
 */
export function updatedLatency(
  before: Record<string, FindingLatency>,
  day: CorrelatedDay,
  nowMs: number,
): { latency: Record<string, FindingLatency>; changed: Finding[] } {
  const latency = { ...before };
  const changed: Finding[] = [];
  const now = new Date(nowMs).toISOString();
  for (const finding of day.findings) {
    const old = latency[finding.id];
    if (old && old.count === finding.count) continue;
    changed.push(finding);
    const delivered = new Date(day.lastEvidenceMs.get(finding.id) ?? nowMs).toISOString();
    latency[finding.id] = { ...(old ?? { deliveredAt: delivered, detectedAt: now }), count: finding.count, lastEvidenceDeliveredAt: delivered, updatedAt: now };
  }
  return { latency, changed };
}

/** p50, p95 and max of some durations (ms), or undefined when there are none. */
export function percentiles(values: readonly number[]): { count: number; p50Ms: number; p95Ms: number; maxMs: number } | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { count: sorted.length, p50Ms: at(0.5), p95Ms: at(0.95), maxMs: sorted[sorted.length - 1] };
}

/** Delivery -> detection and delivery -> notification accepted of a day's findings (first detection of each). */
export function latencySummary(latency: Record<string, FindingLatency>) {
  const entries = Object.values(latency);
  const since = (from: string, to?: string) => (to ? Date.parse(to) - Date.parse(from) : undefined);
  return {
    detection: percentiles(entries.map((l) => since(l.deliveredAt, l.detectedAt)!).filter((ms) => ms >= 0)),
    notification: percentiles(entries.map((l) => since(l.deliveredAt, l.notificationAcceptedAt)).filter((ms): ms is number => ms !== undefined && ms >= 0)),
  };
}
