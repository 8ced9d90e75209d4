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
 * The eventName values a rule's `select` can keep (RULES.md "Reading records": candidates). A record is
 * parsed when its own eventName is a string equal to one of `equals` or containing one of `contains`;
 * the set must never be narrower than what `select` keeps on the parsed record.
 */
export interface CandidateNames {
  equals: string[];
  contains: string[];
}

/**
 * A test on a record found by its eventName, declared as data so that the reader (and the native
 * scanner) applies it without parsing the record: a record of one of `eventNames` is skipped when every
 * value of an `everyValueOf` key, at any depth of the record, is a plain string that is blank or equal to
 * the record's own top-level `topLevelValueOf` string (absent counts as blank). Any other shape (an
 * escaped key or value, a value that is not a string): the record is parsed.
 */
export interface RawSkipTest {
  eventNames: string[];
  everyValueOf: string;
  topLevelValueOf: string;
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
  /** The eventName values `select` can keep, for the reader (see CandidateNames). */
  candidates(options: Options): CandidateNames;
  /** The exact eventName values the LookupEvents source queries (its filter has no substring match). */
  eventNames(options: Options): string[];
  /** How long before the scan period a selected event may lie and still matter (ms). */
  lookbackMs(options: Options): number;
  select(record: CloudTrailRecord, options: Options): Selected | undefined;
  /** Optional: records of these event names that `select` would certainly not keep (see RawSkipTest). */
  rawSkip?(options: Options): RawSkipTest | undefined;
  /** `selected` is deduplicated by eventID and may hold events outside the period; correlate windows them. */
  correlate(selected: Selected[], period: ScanPeriod, options: Options): Finding[];
}
