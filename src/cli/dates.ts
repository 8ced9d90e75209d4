import { UsageError } from '../config/load';
import { DAY_MS } from '../common/days';
import { LOOKUP_RETENTION_DAYS } from '../sources/lookup-events';

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

/** LookupEvents serves the last 90 days only: refuse older dates up front when a lookupEvents source is configured. */
export function checkLookupRetention(sources: readonly { type: string }[], date: string, now = new Date()): void {
  if (!sources.some((s) => s.type === 'lookupEvents')) return;
  const oldest = new Date(now.getTime() - LOOKUP_RETENTION_DAYS * DAY_MS).toISOString().slice(0, 10);
  if (date < oldest) {
    throw new UsageError(
      `${date} is older than the ${LOOKUP_RETENTION_DAYS} days LookupEvents keeps (oldest: ${oldest}); ` +
        'remove the lookupEvents source to scan it from the S3 trail',
    );
  }
}
