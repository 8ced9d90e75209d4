/** The plain-JSON shapes of loaded Sigma documents (they travel in Temporal payloads) and the load error. */

export type SigmaLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';

export const SIGMA_LEVELS: readonly SigmaLevel[] = ['informational', 'low', 'medium', 'high', 'critical'];

/** What rules and correlation rules both carry. */
export interface SigmaMetadata {
  id: string;
  /** the spec's optional `name`, by which correlations may refer to the rule */
  name?: string;
  title: string;
  level: SigmaLevel;
  status?: string;
  description?: string;
  author?: string;
  date?: string;
  references: string[];
  tags: string[];
  falsePositives: string[];
  /** where it was loaded from (path relative to the pack root for the shipped pack, else as given) */
  source: string;
}

/** A validated Sigma detection rule, plain JSON (it travels in Temporal payloads). */
export interface SigmaRule extends SigmaMetadata {
  kind: 'rule';
  /** the detection section as written (search identifiers and condition), placeholders already expanded */
  detection: Record<string, unknown>;
  fields?: string[];
}

/** A validated Sigma correlation rule (specification v2). */
export interface SigmaCorrelation extends SigmaMetadata {
  kind: 'correlation';
  type: 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered';
  /** ids of the referenced rules (names resolved to ids at load), in the order written */
  rules: string[];
  groupBy: string[];
  timespanMs: number;
  /** e.g. { gte: 10 } or for value_count { gte: 3, field: 'userIdentity.arn' } */
  condition: { gt?: number; gte?: number; lt?: number; lte?: number; eq?: number; neq?: number; field?: string };
  /** aliases for group-by fields per rule, if the spec's `aliases` is used: alias -> rule id -> field */
  aliases?: Record<string, Record<string, string>>;
  /** whether the referenced rules also produce their own findings (spec: `generate`) */
  generate: boolean;
}

export type SigmaDocument = SigmaRule | SigmaCorrelation;

/** `${file}: rule ${ruleId}: ${problem}` (ruleId omitted when unknown). */
export class SigmaLoadError extends Error {
  readonly file: string;
  readonly ruleId?: string;
  readonly problem: string;
  constructor(file: string, ruleId: string | undefined, problem: string) {
    super(ruleId === undefined ? `${file}: ${problem}` : `${file}: rule ${ruleId}: ${problem}`);
    this.name = 'SigmaLoadError';
    this.file = file;
    this.ruleId = ruleId;
    this.problem = problem;
  }
}

export interface SigmaLoadOptions {
  /** rule and correlation ids to drop */
  exclude?: string[];
  /** keep only documents of these levels (and the rules a kept correlation refers to) */
  levels?: SigmaLevel[];
  /** values for `expand` placeholders, by name without the percent signs */
  placeholders?: Record<string, string[]>;
}

/** What any record the rule matches must have, for a reader that skips records before parsing them. Both parts are optional; each one present must never exclude a record that `matches` accepts. */
export interface SigmaPrefilter {
  /**
   * a matching record's own top-level eventName is a string for which one of these holds. `cased: false` compares
   * under Unicode simple case folding (RegExp `iu`, as the matchers do): a reader that folds ASCII only must also
   * admit names with a non-ASCII character (e.g. the Kelvin sign folds to `k`).
   */
  eventNames?: { op: 'equals' | 'startswith' | 'endswith' | 'contains'; value: string; cased: boolean }[];
  /** a matching record's JSON text contains one of these, compared ASCII-case-insensitively, unless the text contains a backslash or a non-ASCII byte (then no promise). Each literal is printable ASCII without `"` or `\`. */
  literals?: string[];
}

export interface CompiledSigmaRule {
  rule: SigmaRule;
  /** exact Sigma semantics on a parsed record (the JSON.parse of one CloudTrail record) */
  matches(record: unknown): boolean;
  prefilter: SigmaPrefilter;
}

/** What a correlation keeps of each event of a referenced rule. */
export interface SigmaEvent {
  ruleId: string;
  eventID: string;
  eventTimeMs: number;
  values: Record<string, string | undefined>;
}

export interface CorrelationMatch {
  windowStartMs: number;
  windowEndMs: number;
  group: Record<string, string | undefined>;
  eventIDs: string[];
  firstMs: number;
  lastMs: number;
  value: number;
}
