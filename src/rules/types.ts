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

/** Severities a rule may have, lowest first (the words OCSF and Security Hub share). */
export const SEVERITIES = ['Informational', 'Low', 'Medium', 'High', 'Critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One MITRE ATT&CK entry of a rule: the tactic, the technique (and sub-technique) it detects. */
export interface AttackEntry {
  tactic: { id: string; name: string };
  technique: { id: string; name: string };
  subTechnique?: { id: string; name: string };
  /** the technique's (or sub-technique's) page on attack.mitre.org */
  reference: string;
}

/**
 * How one finding reads, for every output: the CLI's text, Slack, the webhook body, OCSF and Security
 * Hub. `fields` are what a person wants to see, by label, in reading order.
 */
export interface FindingView {
  /** one line: what happened, by whom, where */
  title: string;
  fields: Record<string, string>;
  /** the AWS account the finding is about */
  accountId: string;
  region?: string;
  /** principals (user names or ARNs), IP addresses and S3 buckets the finding involves */
  users: string[];
  ips: string[];
  buckets: string[];
}

/**
 * The eventName values a rule's `select` can keep (docs/rules.md "Reading records": candidates). A record is
 * parsed when its own eventName is a string equal to one of `equals` or containing one of `contains`;
 * the set must never be narrower than what `select` keeps on the parsed record.
 */
export interface CandidateNames {
  equals: string[];
  contains: string[];
  /**
   * Compared ASCII-case-insensitively (Sigma's plain values): a record is a candidate when its eventName
   * equals one of `foldedEquals` or contains one of `foldedContains` with ASCII letters folded, or has a
   * byte outside ASCII (a Unicode case folding might make it equal).
   */
  foldedEquals?: string[];
  foldedContains?: string[];
  /**
   * For a rule that does not constrain eventName: a record is a candidate when its text contains one of
   * these (printable ASCII without quote or backslash, compared ASCII-case-insensitively), or holds a
   * backslash or a byte outside ASCII (an escape or a case folding might spell one).
   */
  literals?: string[];
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
 * A detection, whole: its card (what it is, why it matters, what to do), its options, and its logic
 * split for streaming: `select` runs on every record in the scan activities and keeps a compact
 * event; `correlate` runs once over the deduplicated selected events of a whole scan. Semantics of
 * the built-in rules: docs/rules.md.
 */
export interface Rule<Options = unknown, Selected extends SelectedEvent = SelectedEvent, F extends CommonFinding = CommonFinding> {
  id: F['ruleId'];
  name: string;
  description: string;
  severity: Severity;
  /** derived from `attacks`: tactic names and (sub-)technique ids, as every finding carries them */
  tactics: string[];
  techniques: string[];
  attacks: AttackEntry[];
  references: string[];
  falsePositives: string[];
  /** what a responder does first, in order */
  runbook: string[];
  /** Strict schema of the rule's options (unknown keys rejected), with the seed's defaults. */
  optionsSchema: z.ZodType<Options>;
  /** The eventName values `select` can keep, for the reader (see CandidateNames). */
  candidates(options: Options): CandidateNames;
  /** The exact eventName values the LookupEvents source queries (its filter has no substring match). */
  eventNames(options: Options): string[];
  /** How long before the scan period a selected event may lie and still matter (ms): the rule reads [start - lookback, end). */
  lookbackMs(options: Options): number;
  /** Optional: which of its event names are data events (S3 object calls), which LookupEvents never holds. */
  dataEventNames?(options: Options): string[];
  select(record: CloudTrailRecord, options: Options): Selected | undefined;
  /** Optional: records of these event names that `select` would certainly not keep (see RawSkipTest). */
  rawSkip?(options: Options): RawSkipTest | undefined;
  /** `selected` is deduplicated by eventID and may hold events outside the period; correlate windows them. */
  correlate(selected: Selected[], period: ScanPeriod, options: Options): F[];
  /** The parts its id is derived from (`findingId(rule.id, ...identity(f)) === f.id`). */
  identity(finding: F): string[];
  /** How a finding of this rule reads (see FindingView). */
  view(finding: F): FindingView;
}

/** The finding type of a rule. */
export type FindingOf<R> = R extends Rule<any, any, infer F> ? F : never; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A finding of any built-in rule (derived from the rule list in index.ts). */
export type { Finding } from './index';
export type { SsmCommandExecutionFinding } from './ssm-command-execution';
export type { SsmOutputToForeignBucketFinding } from './ssm-output-to-foreign-bucket';
