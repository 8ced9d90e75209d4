/**
 * Which UTC days a watch has open, and which of them an object belongs to. Pure and deterministic:
 * the watch workflow imports it (no Node or AWS modules here).
 */
export const DAY_MS = 86_400_000;

/** As the daily scan lists objects (src/sources/s3.ts): names carry the delivery minute, and a little slack costs nothing. */
export const EARLY_SLACK_MS = 10 * 60_000;

export function dayOf(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

export function dayStartMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

/** The days whose watch is open at `nowMs`: today, and the days that ended less than `dayEndsAfterMs` ago. */
export function activeDays(nowMs: number, dayEndsAfterMs: number): string[] {
  const days: string[] = [];
  for (let start = Math.floor((nowMs - dayEndsAfterMs) / DAY_MS) * DAY_MS; start <= nowMs; start += DAY_MS) {
    if (start + DAY_MS + dayEndsAfterMs > nowMs) days.push(dayOf(start));
  }
  return days;
}

/**
 * The days among `days` whose daily scan reads an object delivered at `deliveredMs` (the time in its
 * name): delivered in [day start - lookback - slack, day end + lateDelivery). Undefined: every day.
 */
export function daysOfDelivery(deliveredMs: number | undefined, days: readonly string[], lookbackMs: number, lateDeliveryMs: number): string[] {
  if (deliveredMs === undefined) return [...days];
  return days.filter((day) => {
    const start = dayStartMs(day);
    return deliveredMs >= start - lookbackMs - EARLY_SLACK_MS && deliveredMs < start + DAY_MS + lateDeliveryMs;
  });
}

/** The period a scan of the object must read for all its days: from the first day's start to the last day's end. */
export function periodOfDays(days: readonly string[]): { startMs: number; endMs: number } {
  const starts = days.map(dayStartMs);
  return { startMs: Math.min(...starts), endMs: Math.max(...starts) + DAY_MS };
}
