import { parseScanDate } from '../../src/cli/dates';
import { UsageError } from '../../src/config/load';

const NOW = new Date('2026-11-25T10:00:00Z');

function rejection(text: string, now = NOW, option = '--date'): UsageError {
  try {
    parseScanDate(text, option, now);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`parseScanDate accepted ${text}`);
}

describe('parseScanDate', () => {
  it.each(['2026-11-24', '2026-01-01', '2024-02-29', '2000-12-31', '2026-02-28'])('accepts the real date %s', (text) => {
    expect(parseScanDate(text, '--date', NOW)).toBe(text);
  });

  it('accepts today (UTC), at any time of the day', () => {
    expect(parseScanDate('2026-11-25', '--date', NOW)).toBe('2026-11-25');
    expect(parseScanDate('2026-11-25', '--date', new Date('2026-11-25T00:00:00Z'))).toBe('2026-11-25');
    expect(parseScanDate('2026-11-25', '--date', new Date('2026-11-25T23:59:59.999Z'))).toBe('2026-11-25');
  });

  it('uses the current time by default', () => {
    const today = new Date().toISOString().slice(0, 10);
    expect(parseScanDate(today)).toBe(today);
    expect(() => parseScanDate('9999-12-31')).toThrow(UsageError);
  });

  it.each(['2026-02-30', '2026-13-01', '2026-00-10', '2026-04-31', '2025-02-29', '2026-11-00', '2026-11-32'])('rejects the impossible date %s', (text) => {
    expect(rejection(text).message).toBe(`--date "${text}" is not a valid date (expected YYYY-MM-DD)`);
  });

  it.each(['yesterday', 'today', '', '2026-1-05', '2026/11/25', '20261125', '2026-11-25T00:00:00Z', ' 2026-11-25', '2026-11-25 ', '+02026-11-25'])(
    'rejects the malformed text %j',
    (text) => {
      expect(rejection(text).message).toMatch(/is not a valid date \(expected YYYY-MM-DD\)$/);
    },
  );

  it('rejects a future date, naming today', () => {
    expect(rejection('2026-11-26').message).toBe('--date 2026-11-26 is in the future (today is 2026-11-25 UTC)');
    expect(rejection('2027-01-01').message).toMatch(/is in the future/);
    // late in the day in UTC: tomorrow is still the future
    expect(rejection('2026-11-26', new Date('2026-11-25T23:59:59Z')).message).toMatch(/is in the future/);
  });

  it('names the option in its messages', () => {
    expect(rejection('2026-02-30', NOW, '--from').message).toMatch(/^--from "2026-02-30"/);
    expect(rejection('2026-12-01', NOW, '--to').message).toMatch(/^--to 2026-12-01 is in the future/);
  });
});
