import { UsageError } from '../config/load';

/** Validates a YYYY-MM-DD calendar date that is not in the future (UTC). */
export function parseScanDate(text: string, option = '--date', now = new Date()): string {
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
    throw new UsageError(`${option} "${text}" is not a valid date (expected YYYY-MM-DD)`);
  }
  const today = now.toISOString().slice(0, 10);
  if (text > today) throw new UsageError(`${option} ${text} is in the future (today is ${today} UTC)`);
  return text;
}
