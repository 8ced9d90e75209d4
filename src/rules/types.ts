import type { z } from 'zod';
import type { CloudTrailRecord } from '../cloudtrail/record';

/** Half-open scan period [startMs, endMs) on eventTime, in epoch milliseconds. */
export interface ScanPeriod {
  startMs: number;
  endMs: number;
}

/** What every rule's `select` returns: a compact, JSON-serialisable event. */
export interface SelectedEvent {
  eventID: string;
  eventTimeMs: number;
}

export interface CommonFinding {
  id: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  tactics: string[];
  techniques: string[];
  firstSeen: string;
  lastSeen: string;
  count: number;
  eventIds: string[];
}

export interface SsmCommandExecutionFinding extends CommonFinding {
  ruleId: 'PH_Rule_ES_IMPORT_AWS_15';
  accountId: string;
  user: string;
  windowStart: string;
  windowEnd: string;
  failedCount: number;
}

export interface SsmOutputToForeignBucketFinding extends CommonFinding {
  ruleId: '21702832-aff3-4bd6-a8e1-663b6818503d';
  s3Bucket: string;
  bucketOwnerAccountId: string;
  commandEventId: string;
  commandEventName: string;
  executionId: string;
  commandUser: string;
  commandUserArn: string;
  commandSourceIpAddress: string;
  documentName: string;
  instanceIds?: string[];
  targets?: unknown;
  awsRegion: string;
  accountName: string;
  accountUpnSuffix: string;
  recipientAccountId: string;
  sourceIpAddress: string;
  putObjectEventIds: string[];
}

export type Finding = SsmCommandExecutionFinding | SsmOutputToForeignBucketFinding;

/**
 * A test on the raw text of a record found by its eventName, declared as data so that the native
 * scanner applies it without calling back into JavaScript (src/cloudtrail/raw-json.ts: rawTextSkips is
 * the same test in JavaScript). A record of one of `eventNames` is skipped when its text has no
 * backslash, `"<theOneValueOf>":"v"` occurs in it exactly once, and every `"<everyValueOf>":"w"`, at
 * any depth, has w blank or equal to v. Any other shape (whitespace, a non-string value): parsed.
 */
export interface RawSkipTest {
  eventNames: string[];
  everyValueOf: string;
  isBlankOrTheOneValueOf: string;
}

/**
 * A detection split for streaming: `select` runs on every record in the scan activities and keeps
 * a compact event; `correlate` runs once over the deduplicated selected events of a whole scan.
 */
export interface Rule<Options = unknown, Selected extends SelectedEvent = SelectedEvent> {
  id: string;
  name: string;
  severity: string;
  tactics: string[];
  techniques: string[];
  /** Strict schema of the rule's options (unknown keys rejected), with the seed's defaults. */
  optionsSchema: z.ZodType<Options>;
  /** The eventName values `select` can keep; the LookupEvents source queries exactly these. */
  eventNames(options: Options): string[];
  /** How long before the scan period a selected event may lie and still matter (ms). */
  lookbackMs(options: Options): number;
  select(record: CloudTrailRecord, options: Options): Selected | undefined;
  /**
   * Optional: records of these event names that `select` would certainly not keep, recognised in their
   * raw text before they are parsed (see RawSkipTest).
   */
  rawSkip?(options: Options): RawSkipTest | undefined;
  /** `selected` is deduplicated by eventID and may hold events outside the period; correlate windows them. */
  correlate(selected: Selected[], period: ScanPeriod, options: Options): Finding[];
}
