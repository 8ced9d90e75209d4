/**
 * Sigma rules as trailwarden rules: each loaded Sigma detection or correlation rule is one Rule, made
 * from the document its options carry (a worker serves any configuration, so the documents travel in
 * the scan's input like every other rule option). Matching is the Sigma engine's (src/sigma/); this
 * module gives it a rule's card, prefilter, selection, findings and view. Semantics: docs/sigma.md.
 *
 * A detection rule gives one finding per matching record (id from the rule id and eventID). A
 * correlation gives one per group and window; a window belongs to the scan whose period holds its end,
 * so the rule reads one timespan back and every window it reports is whole (docs/sigma.md "Windows").
 */
import { z } from 'zod';
import { accountOf, eventTimeMs, isoUtc, str, userOf, type CloudTrailRecord } from '../cloudtrail/record';
import {
  compileSigmaRule,
  correlationFields,
  evaluateCorrelation,
  fieldValue,
  type CompiledSigmaRule,
  type SigmaCorrelation,
  type SigmaDocument,
  type SigmaEvent,
  type SigmaLevel,
  type SigmaPrefilter,
  type SigmaRule,
} from '../sigma';
import { findingHeader, present } from './define';
import { foldAscii } from '../scan/candidate-matcher';
import { suppressionOptions } from './options';
import type { AttackEntry, CandidateNames, CommonFinding, FindingView, Rule, ScanPeriod, SelectedEvent, Severity } from './types';

export const sigmaOptionsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  suppression: suppressionOptions({ enabled: true, duration: 'PT1H', keyFields: ['accountId', 'user'] }),
  /** the validated document (src/sigma/load.ts checked it when the config was loaded) */
  sigma: z.custom<SigmaDocument>(
    (value) => typeof value === 'object' && value !== null && ['rule', 'correlation'].includes((value as { kind?: string }).kind ?? ''),
  ),
  /** a correlation's referenced rules */
  bases: z.array(z.custom<SigmaRule>((value) => typeof value === 'object' && value !== null && (value as { kind?: string }).kind === 'rule')).default([]),
});
export type SigmaOptions = z.output<typeof sigmaOptionsSchema>;

/** Options that carry a Sigma document (a rule id the built-in list does not know). */
export function sigmaDocumentOf(options: unknown): SigmaDocument | undefined {
  const document = (options as { sigma?: SigmaDocument } | undefined)?.sigma;
  return document && typeof document === 'object' && (document.kind === 'rule' || document.kind === 'correlation') ? document : undefined;
}

/**
 * What a finding keeps of its Sigma rule: DRL 1.1 asks that the author and source go wherever findings
 * are shown. Kept short (no description or false positives: the rule file has them), since a rule may
 * match many records and each finding carries its card.
 */
export interface SigmaCard {
  kind: 'rule' | 'correlation';
  title: string;
  level: SigmaLevel;
  status?: string;
  author?: string;
  references: string[];
  tags: string[];
  source: string;
  correlationType?: SigmaCorrelation['type'];
}

export interface SigmaFinding extends CommonFinding {
  sigma: SigmaCard;
  accountId: string;
  user: string;
  userArn: string;
  sourceIpAddress: string;
  eventName: string;
  awsRegion: string;
  /** a correlation's window and group-by values */
  windowStart?: string;
  windowEnd?: string;
  group?: Record<string, string>;
}

/** One record a rule matched: who, where, what; and for a correlation which of its rules matched and the values it groups on. */
export interface SigmaSelected extends SelectedEvent {
  accountId: string;
  user: string;
  userArn: string;
  sourceIpAddress: string;
  eventName: string;
  awsRegion: string;
  matched?: string[];
  values?: Record<string, string | undefined>;
}

const SEVERITY: Record<SigmaLevel, Severity> = {
  informational: 'Informational',
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  critical: 'Critical',
};

/** ATT&CK tactics by their Sigma tag (specification, appendix tags), with the tactic ids ATT&CK gives them. */
const TACTIC_IDS: Record<string, string> = {
  reconnaissance: 'TA0043',
  'resource-development': 'TA0042',
  'initial-access': 'TA0001',
  execution: 'TA0002',
  persistence: 'TA0003',
  'privilege-escalation': 'TA0004',
  'defense-evasion': 'TA0005',
  'credential-access': 'TA0006',
  discovery: 'TA0007',
  'lateral-movement': 'TA0008',
  collection: 'TA0009',
  exfiltration: 'TA0010',
  'command-and-control': 'TA0011',
  impact: 'TA0040',
};

const titleCase = (tag: string) => tag.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => `${dash ? ' ' : ''}${letter.toUpperCase()}`);

/**
 * The ATT&CK entries of a rule's tags. Sigma tags do not pair techniques with tactics, so each technique
 * is entered under the rule's first tactic (every finding still carries all tactics). A tactic ATT&CK
 * ids this table does not know (newer ones, such as stealth) keeps its tag as id; a technique's name is
 * its id, since tags carry no names.
 */
export function attacksOfTags(tags: readonly string[]): { attacks: AttackEntry[]; tactics: string[]; techniques: string[] } {
  const tactics: { id: string; name: string }[] = [];
  const techniques: string[] = [];
  for (const tag of tags) {
    const match = /^attack\.(.+)$/i.exec(tag);
    if (!match) continue;
    const value = match[1].toLowerCase();
    if (/^t\d{4}(\.\d{3})?$/.test(value)) techniques.push(value.toUpperCase());
    else if (/^[a-z][a-z_-]*$/.test(value) && !/^(g|s)\d/.test(value)) {
      const key = value.replace(/_/g, '-');
      if (!tactics.some((t) => t.name === titleCase(key))) tactics.push({ id: TACTIC_IDS[key] ?? key, name: titleCase(key) });
    }
  }
  const first = tactics[0] ?? { id: '', name: '' };
  const attacks: AttackEntry[] = [...new Set(techniques)].map((id) => {
    const [parent] = id.split('.');
    const technique = { id: parent, name: parent };
    const path = id.replace('.', '/');
    return {
      tactic: first,
      technique,
      ...(id !== parent ? { subTechnique: { id, name: id } } : {}),
      reference: `https://attack.mitre.org/techniques/${path}/`,
    };
  });
  return { attacks: first.name ? attacks : [], tactics: tactics.map((t) => t.name), techniques: [...new Set(techniques)] };
}

/** The reader's candidates of a compiled prefilter: exact names, ASCII-folded names and patterns, or literals. */
export function candidatesOf(prefilter: SigmaPrefilter): CandidateNames {
  const names = prefilter.eventNames;
  if (names?.length) {
    const byOp = (cased: boolean, equals: boolean) => names.filter((p) => p.cased === cased && (p.op === 'equals') === equals).map((p) => p.value);
    return { equals: byOp(true, true), contains: byOp(true, false), foldedEquals: byOp(false, true), foldedContains: byOp(false, false) };
  }
  // no literal that every match must hold: every record is a candidate
  return { equals: [], contains: [], literals: prefilter.literals?.length ? prefilter.literals : [''] };
}

const compiledByDocument = new WeakMap<SigmaRule, CompiledSigmaRule>();
const compiledByText = new Map<string, CompiledSigmaRule>();

/**
 * A rule's compiled matcher, made once per process for each version of the document (a scan's
 * documents are the same objects throughout; equal documents from another input share one).
 */
function compiledRule(rule: SigmaRule): CompiledSigmaRule {
  let made = compiledByDocument.get(rule);
  if (!made) {
    const text = JSON.stringify(rule);
    made = compiledByText.get(text) ?? compileSigmaRule(rule);
    compiledByText.set(text, made);
    compiledByDocument.set(rule, made);
  }
  return made;
}

function cardOf(document: SigmaDocument): SigmaCard {
  return {
    kind: document.kind,
    title: document.title,
    level: document.level,
    ...(document.status ? { status: document.status } : {}),
    ...(document.author ? { author: document.author } : {}),
    references: document.references,
    tags: document.tags,
    source: document.source,
    ...(document.kind === 'correlation' ? { correlationType: document.type } : {}),
  };
}

function who(record: CloudTrailRecord, eventID: string, ms: number): SigmaSelected {
  return {
    eventID,
    eventTimeMs: ms,
    accountId: accountOf(record),
    user: userOf(record),
    userArn: str(record.userIdentity?.arn),
    sourceIpAddress: str(record.sourceIPAddress),
    eventName: str(record.eventName),
    awsRegion: str(record.awsRegion),
  };
}

function inPeriod(ms: number, period: ScanPeriod): boolean {
  return ms >= period.startMs && ms < period.endMs;
}

function byEventId<T extends SelectedEvent>(events: readonly T[]): T[] {
  const kept = new Map<string, T>();
  for (const event of events) if (!kept.has(event.eventID)) kept.set(event.eventID, event);
  return [...kept.values()].sort((a, b) => a.eventTimeMs - b.eventTimeMs || (a.eventID < b.eventID ? -1 : a.eventID > b.eventID ? 1 : 0));
}

/** The distinct values of a field over events, or "(n values)" when they differ. */
function common(values: string[]): string {
  const distinct = [...new Set(values.filter((v) => v !== ''))];
  return distinct.length <= 1 ? (distinct[0] ?? '') : `(${distinct.length} values)`;
}

function findingOf(document: SigmaDocument, identity: string[], events: SigmaSelected[], extra: Partial<SigmaFinding>): SigmaFinding {
  const rule = sigmaRule(document);
  return {
    ...findingHeader(rule, identity),
    sigma: cardOf(document),
    accountId: common(events.map((e) => e.accountId)),
    user: common(events.map((e) => e.user)),
    userArn: common(events.map((e) => e.userArn)),
    sourceIpAddress: common(events.map((e) => e.sourceIpAddress)),
    eventName: common(events.map((e) => e.eventName)),
    awsRegion: common(events.map((e) => e.awsRegion)),
    firstSeen: isoUtc(events[0].eventTimeMs),
    lastSeen: isoUtc(events[events.length - 1].eventTimeMs),
    count: events.length,
    eventIds: events.map((e) => e.eventID).sort(),
    ...extra,
  };
}

function view(f: SigmaFinding): FindingView {
  const where = [f.accountId && `account ${f.accountId}`, f.awsRegion].filter(Boolean).join(', ');
  const window = f.windowStart ? `${f.windowStart} .. ${f.windowEnd}` : undefined;
  const fields: Record<string, string> = {
    Rule: `${f.ruleName} (Sigma ${f.ruleId}, level ${f.sigma.level})`,
    Account: f.accountId,
    User: f.user,
    'Event name': f.eventName,
    'Source IP': f.sourceIpAddress,
    Region: f.awsRegion,
    ...(window ? { Window: window } : {}),
    ...(f.group && Object.keys(f.group).length
      ? {
          Group: Object.entries(f.group)
            .map(([k, v]) => `${k}=${v}`)
            .join(', '),
        }
      : {}),
    Events: String(f.count),
    Author: f.sigma.author ?? '',
    Source: f.sigma.source,
  };
  return {
    title: `Sigma: ${f.ruleName}: ${f.eventName || 'events'} by ${f.user || 'an unknown caller'}${where ? ` in ${where}` : ''}${window ? `, ${window}` : ''}`,
    fields,
    accountId: f.accountId,
    region: f.awsRegion || undefined,
    users: present(f.user, f.userArn),
    ips: present(f.sourceIpAddress),
    buckets: [],
  };
}

const RUNBOOK = [
  "Read the rule's description, false positives and references (its source file is named in the finding).",
  'Look the events up in CloudTrail by eventId: who called, from where, with which parameters.',
  'Confirm with the principal or its owner that the activity was intended.',
  "If not: revoke the principal's sessions and keys, and undo what the calls changed.",
];

const madeByDocument = new WeakMap<SigmaDocument, Rule<SigmaOptions, SigmaSelected, SigmaFinding>>();
const madeByText = new Map<string, Rule<SigmaOptions, SigmaSelected, SigmaFinding>>();

type Card = Omit<Rule<SigmaOptions, SigmaSelected, SigmaFinding>, keyof Parts>;

function cardOfDocument(document: SigmaDocument): Card {
  const { attacks, tactics, techniques } = attacksOfTags(document.tags);
  return {
    id: document.id,
    name: document.title,
    description: document.description ?? document.title,
    severity: SEVERITY[document.level],
    attacks,
    tactics,
    techniques,
    references: document.references,
    falsePositives: document.falsePositives,
    runbook: RUNBOOK,
    optionsSchema: sigmaOptionsSchema,
    identity: (f: SigmaFinding) => (f.windowStart ? [String(Date.parse(f.windowStart)), ...Object.values(f.group ?? {})] : [f.eventIds[0]]),
    view,
  };
}

/** The trailwarden rule of a Sigma document (made once per process for each version of the document). */
export function sigmaRule(document: SigmaDocument): Rule<SigmaOptions, SigmaSelected, SigmaFinding> {
  let rule = madeByDocument.get(document);
  if (!rule) {
    const text = JSON.stringify(document);
    rule = madeByText.get(text) ?? { ...cardOfDocument(document), ...(document.kind === 'rule' ? detectionParts(document) : correlationParts(document)) };
    madeByText.set(text, rule);
    madeByDocument.set(document, rule);
  }
  return rule;
}

type Parts = Pick<Rule<SigmaOptions, SigmaSelected, SigmaFinding>, 'candidates' | 'eventNames' | 'lookbackMs' | 'select' | 'correlate'>;

/** Exact names a LookupEvents query can ask for: a rule whose names are patterns, folded or literal is served by S3 trails only. */
function lookupNames(prefilters: SigmaPrefilter[]): string[] {
  if (prefilters.some((p) => !p.eventNames?.length || p.eventNames.some((n) => n.op !== 'equals'))) return [];
  return [...new Set(prefilters.flatMap((p) => p.eventNames!.map((n) => n.value)))];
}

/**
 * A quick test on a parsed record's eventName that a rule's prefilter names (the reader's candidates
 * hold every rule's names: most records it hands on are another rule's). Never narrower than the
 * prefilter: a name outside ASCII always passes, since the matcher folds Unicode case.
 */
export function nameGate(prefilter: SigmaPrefilter): (eventName: unknown) => boolean {
  const patterns = prefilter.eventNames;
  if (!patterns?.length) return () => true;
  const folded = patterns.map((p) => ({ ...p, value: foldAscii(p.value) }));
  const equal = new Set(folded.filter((p) => p.op === 'equals').map((p) => p.value));
  const other = folded.filter((p) => p.op !== 'equals');
  return (eventName) => {
    if (typeof eventName !== 'string') return false;
    const name = foldedName(eventName);
    return name === undefined || equal.has(name) || other.some((p) => name.includes(p.value));
  };
}

// every rule's gate asks about the same record in turn: its folded name is made once
let lastName: string | undefined;
let lastFolded: string | undefined;

/** The name with ASCII letters folded; undefined when it has a character outside printable ASCII. */
function foldedName(name: string): string | undefined {
  if (name !== lastName) {
    lastName = name;
    lastFolded = /^[\x20-\x7e]*$/.test(name) ? foldAscii(name) : undefined;
  }
  return lastFolded;
}

const gates = new WeakMap<CompiledSigmaRule, (eventName: unknown) => boolean>();

/** The compiled rule's verdict on a parsed record, its name gate first. */
function matchesRecord(rule: CompiledSigmaRule, record: CloudTrailRecord): boolean {
  let gate = gates.get(rule);
  if (!gate) gates.set(rule, (gate = nameGate(rule.prefilter)));
  return gate(record.eventName) && rule.matches(record);
}

function detectionParts(document: SigmaRule): Parts {
  const matcher = () => compiledRule(document);
  return {
    candidates: (options) => (options.enabled ? candidatesOf(matcher().prefilter) : { equals: [], contains: [] }),
    eventNames: (options) => (options.enabled ? lookupNames([matcher().prefilter]) : []),
    lookbackMs: () => 0,
    select(record, options) {
      if (!options.enabled || !matchesRecord(matcher(), record)) return undefined;
      return who(record, record.eventID as string, eventTimeMs(record) as number);
    },
    correlate(selected, period, options) {
      if (!options.enabled) return [];
      return byEventId(selected)
        .filter((e) => inPeriod(e.eventTimeMs, period))
        .map((e) => findingOf(document, [e.eventID], [e], {}));
    },
  };
}

function correlationParts(document: SigmaCorrelation): Parts {
  const fields = correlationFields(document);
  // the counted rules' matchers, found once per options object (select runs on every candidate record)
  const basesByOptions = new WeakMap<SigmaOptions, CompiledSigmaRule[]>();
  const bases = (options: SigmaOptions) => {
    let found = basesByOptions.get(options);
    if (!found) basesByOptions.set(options, (found = options.bases.filter((b) => document.rules.includes(b.id)).map(compiledRule)));
    return found;
  };
  return {
    candidates(options) {
      if (!options.enabled) return { equals: [], contains: [] };
      const parts = bases(options).map((b) => candidatesOf(b.prefilter));
      const join = (key: keyof CandidateNames) => [...new Set(parts.flatMap((p) => p[key] ?? []))];
      return {
        equals: join('equals'),
        contains: join('contains'),
        foldedEquals: join('foldedEquals'),
        foldedContains: join('foldedContains'),
        literals: join('literals'),
      };
    },
    eventNames: (options) => (options.enabled ? lookupNames(bases(options).map((b) => b.prefilter)) : []),
    lookbackMs: () => document.timespanMs,
    select(record, options) {
      if (!options.enabled) return undefined;
      const matched = bases(options)
        .filter((b) => matchesRecord(b, record))
        .map((b) => b.rule.id);
      if (!matched.length) return undefined;
      const values: Record<string, string | undefined> = {};
      for (const id of matched) for (const path of fields[id] ?? []) values[path] = textOf(fieldValue(record, path));
      return { ...who(record, record.eventID as string, eventTimeMs(record) as number), matched, values };
    },
    correlate(selected, period, options) {
      if (!options.enabled) return [];
      const events = byEventId(selected);
      const byId = new Map(events.map((e) => [e.eventID, e]));
      const sigmaEvents: SigmaEvent[] = events.flatMap((e) =>
        (e.matched ?? []).map((ruleId) => ({ ruleId, eventID: e.eventID, eventTimeMs: e.eventTimeMs, values: e.values ?? {} })),
      );
      return evaluateCorrelation(document, sigmaEvents)
        .filter((m) => m.windowEndMs > period.startMs && m.windowEndMs <= period.endMs)
        .map((m) => {
          const group = Object.fromEntries(Object.entries(m.group).map(([k, v]) => [k, v ?? '']));
          const matchedEvents = [...new Set(m.eventIDs)].map((id) => byId.get(id)!).sort((a, b) => a.eventTimeMs - b.eventTimeMs);
          return findingOf(document, [String(m.windowStartMs), ...Object.values(group)], matchedEvents, {
            windowStart: isoUtc(m.windowStartMs),
            windowEnd: isoUtc(m.windowEndMs),
            group,
          });
        });
    },
  };
}

/** A field's value as correlations compare it: strings as they are, numbers and booleans as JSON writes them. */
function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A finding's rule when the process has not loaded its document: its card, from what the finding keeps; it never scans. */
export function sigmaRuleOfFinding(finding: { ruleId: string; sigma: SigmaCard }): Rule<SigmaOptions, SigmaSelected, SigmaFinding> {
  const { sigma } = finding;
  const card = cardOfDocument({
    kind: 'rule',
    id: finding.ruleId,
    title: sigma.title,
    level: sigma.level,
    ...(sigma.status ? { status: sigma.status } : {}),
    ...(sigma.author ? { author: sigma.author } : {}),
    references: sigma.references,
    tags: sigma.tags,
    falsePositives: [],
    source: sigma.source,
    detection: {},
  });
  return { ...card, candidates: () => ({ equals: [], contains: [] }), eventNames: () => [], lookbackMs: () => 0, select: () => undefined, correlate: () => [] };
}

/** Is this finding (or a brief of one) a Sigma rule's? */
export function isSigmaFinding<T extends object>(finding: T): finding is T & { sigma: SigmaCard } {
  return typeof (finding as { sigma?: unknown }).sigma === 'object' && (finding as { sigma?: unknown }).sigma !== null;
}
