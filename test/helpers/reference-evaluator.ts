/**
 * The plain evaluation of the rules over log files, as docs/rules.md ("Shared definitions", "Reading
 * records") states it, with nothing clever in it: inflate when the bytes are gzip, drop one byte order
 * mark, JSON.parse the whole document, take the elements of its Records array, skip malformed records,
 * keep the first copy of each eventID (for every rule), then run the rules' own select and correlate.
 * The differential test holds trailwarden's reader to exactly this.
 */
import { gunzipSync } from 'node:zlib';
import { configuredRules } from '../../src/rules/configured-rules';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { readWindow } from '../../src/rules/selection';
import type { Finding, ScanPeriod, SelectedEvent } from '../../src/rules/types';

export interface LogFile {
  key: string;
  bytes: Buffer;
}

export interface ReferenceResult {
  /** sorted by id */
  findings: Finding[];
  /** the corrupt files' keys (in key order), with why */
  corrupt: Map<string, string>;
  /** the records kept after dedup */
  kept: number;
}

/** docs/rules.md: `YYYY-MM-DDTHH:MM:SS[.fraction]Z` */
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The elements of one file's Records array, or why the file is corrupt. */
export function parseLogFile(bytes: Buffer): { records: unknown[] } | { corrupt: string } {
  let document: Buffer;
  try {
    // gzip by its magic number, whatever the name; gunzipSync reads concatenated members as one
    document = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  } catch (error) {
    return { corrupt: `cannot be inflated: ${(error as Error).message}` };
  }
  let text = document.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { corrupt: `not valid JSON: ${(error as Error).message}` };
  }
  if (!isPlainObject(value) || !Object.hasOwn(value, 'Records')) return { corrupt: 'no Records key' };
  if (!Array.isArray(value.Records)) return { corrupt: 'Records is not an array' };
  return { records: value.Records };
}

/** docs/rules.md "Malformed record", negated. */
export function isWellFormed(record: unknown): record is CloudTrailRecord & { eventID: string; eventTime: string } {
  if (!isPlainObject(record)) return false;
  if (typeof record.eventID !== 'string' || record.eventID === '') return false;
  return typeof record.eventTime === 'string' && EVENT_TIME.test(record.eventTime) && !Number.isNaN(Date.parse(record.eventTime));
}

function byKey<T extends { key: string }>(files: readonly T[]): T[] {
  return [...files].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function sortById(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function referenceEvaluation(files: readonly LogFile[], rulesConfig: Record<string, unknown>, period: ScanPeriod): ReferenceResult {
  const corrupt = new Map<string, string>();
  const kept = new Map<string, CloudTrailRecord & { eventTime: string }>();
  for (const file of byKey(files)) {
    const parsed = parseLogFile(file.bytes);
    if ('corrupt' in parsed) {
      corrupt.set(file.key, parsed.corrupt);
      continue;
    }
    for (const record of parsed.records) {
      // malformed records are skipped before dedup: they claim no eventID
      if (!isWellFormed(record)) continue;
      if (!kept.has(record.eventID)) kept.set(record.eventID, record);
    }
  }

  const rules = configuredRules(rulesConfig);
  const window = readWindow(rules, period);
  const selected: SelectedEvent[][] = rules.map(() => []);
  for (const record of kept.values()) {
    const ms = Date.parse(record.eventTime);
    if (ms < window.startMs || ms >= window.endMs) continue;
    rules.forEach(({ rule, options }, i) => {
      const event = rule.select(record, options);
      if (event) selected[i].push(event);
    });
  }
  const findings = rules.flatMap(({ rule, options }, i) => rule.correlate(selected[i], period, options));
  return { findings: sortById(findings), corrupt, kept: kept.size };
}
