/**
 * UTC days, for workflow code and everything else alike: pure, deterministic (no clock).
 */

/** One UTC day in milliseconds. */
export const DAY_MS = 86_400_000;

/** The UTC days from `from` to `to`, inclusive, as YYYY-MM-DD. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`); ms <= Date.parse(`${to}T00:00:00Z`); ms += DAY_MS) {
    days.push(new Date(ms).toISOString().slice(0, 10));
  }
  return days;
}

/** The UTC day (YYYY-MM-DD) `days` days after `date` (before it when negative). */
export function shiftDay(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}
