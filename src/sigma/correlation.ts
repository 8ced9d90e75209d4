/**
 * Correlation rules (specification v2) over the events of their referenced rules. Windows are aligned to the
 * epoch (window k holds eventTime in [k*timespan, (k+1)*timespan)), so a daily scan, a re-run and any
 * partitioning of the same events give the same windows and so the same matches. Events are deduplicated by
 * (rule, eventID); counts are of distinct eventIDs. The result does not depend on the order of the events. A
 * group exists only where it has events, so `lt`/`lte` never match an empty group.
 */
import type { CorrelationMatch, SigmaCorrelation, SigmaEvent } from './types';

/** The fields (group-by, value_count field, aliases' sources) to keep in SigmaEvent.values for a correlation, per referenced rule id. */
export function correlationFields(correlation: SigmaCorrelation): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const rule of correlation.rules) {
    const fields = correlation.groupBy.map((g) => groupField(correlation, g, rule));
    if (correlation.condition.field !== undefined) fields.push(correlation.condition.field);
    out[rule] = [...new Set(fields)];
  }
  return out;
}

/** The event field a group-by name stands for in a rule's events (the alias's source, or the name itself). */
function groupField(correlation: SigmaCorrelation, name: string, rule: string): string {
  return correlation.aliases?.[name]?.[rule] ?? name;
}

/** Deterministic, order-independent: events deduplicated by eventID; windows aligned to the epoch (floor(eventTimeMs / timespanMs)) so daily scans, re-runs and partitions agree. */
export function evaluateCorrelation(correlation: SigmaCorrelation, events: SigmaEvent[]): CorrelationMatch[] {
  const rules = new Set(correlation.rules);
  // one event per (rule, eventID): the earliest, then the smallest values, whatever the order of arrival
  const unique = new Map<string, SigmaEvent>();
  for (const e of events) {
    if (!rules.has(e.ruleId)) continue;
    const id = JSON.stringify([e.ruleId, e.eventID]);
    const seen = unique.get(id);
    if (
      seen === undefined ||
      e.eventTimeMs < seen.eventTimeMs ||
      (e.eventTimeMs === seen.eventTimeMs && JSON.stringify(e.values) < JSON.stringify(seen.values))
    )
      unique.set(id, e);
  }
  const buckets = new Map<string, { window: number; group: Record<string, string | undefined>; events: SigmaEvent[] }>();
  for (const e of unique.values()) {
    const window = Math.floor(e.eventTimeMs / correlation.timespanMs);
    const group: Record<string, string | undefined> = {};
    for (const name of correlation.groupBy) group[name] = e.values[groupField(correlation, name, e.ruleId)];
    const key = JSON.stringify([window, correlation.groupBy.map((n) => group[n] ?? null), correlation.groupBy.map((n) => group[n] === undefined)]);
    let bucket = buckets.get(key);
    if (bucket === undefined) buckets.set(key, (bucket = { window, group, events: [] }));
    bucket.events.push(e);
  }
  const matches: { key: string; match: CorrelationMatch }[] = [];
  for (const [key, bucket] of buckets) {
    const list = bucket.events;
    const value = measure(correlation, list);
    if (!satisfies(correlation, value)) continue;
    const times = list.map((e) => e.eventTimeMs);
    matches.push({
      key,
      match: {
        windowStartMs: bucket.window * correlation.timespanMs,
        windowEndMs: (bucket.window + 1) * correlation.timespanMs,
        group: bucket.group,
        eventIDs: [...new Set(list.map((e) => e.eventID))].sort(),
        firstMs: Math.min(...times),
        lastMs: Math.max(...times),
        value,
      },
    });
  }
  return matches.sort((a, b) => a.match.windowStartMs - b.match.windowStartMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((m) => m.match);
}

function measure(correlation: SigmaCorrelation, events: SigmaEvent[]): number {
  switch (correlation.type) {
    case 'event_count':
      return new Set(events.map((e) => e.eventID)).size;
    case 'value_count': {
      const field = correlation.condition.field as string;
      return new Set(events.map((e) => e.values[field]).filter((v) => v !== undefined)).size;
    }
    case 'temporal':
      return new Set(events.map((e) => e.ruleId)).size;
    case 'temporal_ordered':
      return longestInOrder(correlation.rules, events);
  }
}

/** The most of the correlation's rules that occur in the order written (each at or after the one before), over all subsequences of the rules. */
function longestInOrder(rules: string[], events: SigmaEvent[]): number {
  const times = new Map<string, number[]>();
  for (const e of events) times.set(e.ruleId, [...(times.get(e.ruleId) ?? []), e.eventTimeMs]);
  for (const list of times.values()) list.sort((a, b) => a - b);
  // best[i]: for chains ending with rule i, the earliest end time per chain length
  let best = 0;
  const earliestEnd: Map<number, number>[] = rules.map(() => new Map());
  rules.forEach((rule, i) => {
    const own = times.get(rule);
    if (own === undefined) return;
    earliestEnd[i].set(1, own[0]);
    for (let j = 0; j < i; j++) {
      for (const [length, end] of earliestEnd[j]) {
        const next = own.find((t) => t >= end);
        if (next === undefined) continue;
        const current = earliestEnd[i].get(length + 1);
        if (current === undefined || next < current) earliestEnd[i].set(length + 1, next);
      }
    }
    for (const length of earliestEnd[i].keys()) best = Math.max(best, length);
  });
  return best;
}

function satisfies(correlation: SigmaCorrelation, value: number): boolean {
  const { gt, gte, lt, lte, eq, neq } = correlation.condition;
  const none = gt === undefined && gte === undefined && lt === undefined && lte === undefined && eq === undefined && neq === undefined;
  // temporal kinds without a condition: every referenced rule must occur
  if (none) return value >= correlation.rules.length;
  return (
    (gt === undefined || value > gt) &&
    (gte === undefined || value >= gte) &&
    (lt === undefined || value < lt) &&
    (lte === undefined || value <= lte) &&
    (eq === undefined || value === eq) &&
    (neq === undefined || value !== neq)
  );
}
