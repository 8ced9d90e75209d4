/**
 * Sigma documents from YAML text: each validated (schema, logsource, detection compiled once to find its
 * problems), then correlations' references resolved to rule ids and the options' exclude/levels applied.
 */
import { parseAllDocuments } from 'yaml';
import { compileDetection } from './compile';
import { expandDetection } from './expand';
import { correlationSchema, ruleSchema, schemaProblem, type CorrelationDocument, type RuleDocument } from './schema';
import { SigmaLoadError, type SigmaCorrelation, type SigmaDocument, type SigmaLevel, type SigmaLoadOptions, type SigmaMetadata, type SigmaRule } from './types';

const CORRELATION_TYPES = ['event_count', 'value_count', 'temporal', 'temporal_ordered'];
const UNSUPPORTED_CORRELATION_TYPES = ['value_sum', 'value_avg', 'value_percentile'];
const TIMESPAN = /^([1-9]\d*)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** the level of a document that gives none (the specification makes `level` optional) */
const DEFAULT_LEVEL: SigmaLevel = 'informational';

/** The same as loadSigma on one file's text (multi-document YAML allowed). */
export function parseSigma(text: string, file: string, options: SigmaLoadOptions = {}): SigmaDocument[] {
  return selectDocuments(readDocuments(text, file, options), options);
}

/** Every document of one file, validated; correlations' references not yet resolved. */
export function readDocuments(text: string, file: string, options: SigmaLoadOptions = {}): SigmaDocument[] {
  const documents = parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(documents) ? documents : [documents];
  const out: SigmaDocument[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new SigmaLoadError(file, undefined, `not valid YAML: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    out.push(readDocument(value, file, options));
  }
  if (out.length === 0) throw new SigmaLoadError(file, undefined, 'holds no Sigma document');
  return out;
}

function readDocument(value: unknown, file: string, options: SigmaLoadOptions): SigmaDocument {
  if (typeof value !== 'object' || Array.isArray(value) || value === null) throw new SigmaLoadError(file, undefined, 'a document is not a map');
  const doc = value as Record<string, unknown>;
  const id = typeof doc.id === 'string' && doc.id.trim() !== '' ? doc.id : undefined;
  const fail = (problem: string): never => {
    throw new SigmaLoadError(file, id, problem);
  };
  if (id === undefined) fail(doc.id === undefined ? 'has no id' : 'id is not a non-empty string');
  if ('action' in doc) fail(`unsupported feature: "action: ${String(doc.action)}" (Sigma 1 rule collections)`);
  if ('filter' in doc && !('detection' in doc)) fail('unsupported feature: Sigma filters');
  if ('correlation' in doc) return readCorrelation(doc, file, fail);
  if (!('detection' in doc)) fail('is neither a rule (no detection) nor a correlation (no correlation)');
  const parsed = ruleSchema.safeParse(doc);
  if (!parsed.success) return fail(schemaProblem(parsed.error));
  const r = parsed.data;
  if (r.logsource.product !== 'aws' || r.logsource.service !== 'cloudtrail')
    fail(`logsource is ${JSON.stringify(r.logsource)}, not {product: aws, service: cloudtrail}: only CloudTrail rules apply`);
  let detection: Record<string, unknown>;
  try {
    detection = expandDetection(r.detection, options.placeholders ?? {});
    compileDetection(detection);
  } catch (e) {
    return fail((e as Error).message);
  }
  const rule: SigmaRule = {
    kind: 'rule',
    ...metadata(r, file),
    detection,
    ...(r.fields !== undefined && { fields: r.fields }),
  };
  return rule;
}

function metadata(d: RuleDocument | CorrelationDocument, file: string): SigmaMetadata {
  return {
    id: d.id,
    ...(d.name !== undefined && { name: d.name }),
    title: d.title,
    level: (d.level as SigmaLevel | undefined) ?? DEFAULT_LEVEL,
    ...(d.status !== undefined && { status: d.status }),
    ...(d.description !== undefined && { description: d.description }),
    ...(d.author !== undefined && { author: d.author }),
    ...(d.date !== undefined && { date: d.date }),
    references: d.references ?? [],
    tags: d.tags ?? [],
    falsePositives: d.falsepositives ?? [],
    source: file,
  };
}

function readCorrelation(doc: Record<string, unknown>, file: string, fail: (problem: string) => never): SigmaCorrelation {
  const type = (doc.correlation as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && UNSUPPORTED_CORRELATION_TYPES.includes(type)) fail(`unsupported feature: correlation type "${type}"`);
  if (typeof type === 'string' && !CORRELATION_TYPES.includes(type)) fail(`unknown correlation type "${type}"`);
  const parsed = correlationSchema.safeParse(doc);
  if (!parsed.success) return fail(schemaProblem(parsed.error));
  const c = parsed.data;
  const k = c.correlation;
  const span = TIMESPAN.exec(k.timespan);
  if (span === null) fail(`timespan "${k.timespan}" is not a number and one of s, m, h, d (like 90m)`);
  const { field, ...bounds } = k.condition ?? {};
  if (Object.keys(bounds).length === 0 && type !== 'temporal' && type !== 'temporal_ordered')
    fail(`correlation type "${type}" needs a condition (gt, gte, lt, lte, eq or neq)`);
  const fields = field === undefined ? [] : Array.isArray(field) ? field : [field];
  if (type === 'value_count' && fields.length === 0) fail('correlation type "value_count" needs condition.field');
  if (type !== 'value_count' && fields.length > 0) fail(`condition.field applies to value_count only, not to "${type}"`);
  if (fields.length > 1) fail('unsupported feature: value_count over several fields');
  for (const alias of Object.keys(k.aliases ?? {})) {
    if (!k['group-by'].includes(alias)) fail(`alias "${alias}" is not in group-by`);
  }
  const [, amount, unit] = span as RegExpExecArray;
  return {
    kind: 'correlation',
    ...metadata(c, file),
    type: type as SigmaCorrelation['type'],
    rules: k.rules,
    groupBy: k['group-by'],
    timespanMs: Number(amount) * UNIT_MS[unit],
    condition: { ...bounds, ...(fields.length === 1 && { field: fields[0] }) },
    ...(k.aliases !== undefined && { aliases: k.aliases }),
    generate: c.generate ?? false,
  };
}

/** Resolves correlations' references (ids or names) across all documents, refuses duplicates, then applies exclude and levels. */
export function selectDocuments(documents: SigmaDocument[], options: SigmaLoadOptions = {}): SigmaDocument[] {
  const byId = new Map<string, SigmaDocument>();
  const byName = new Map<string, SigmaDocument>();
  for (const d of documents) {
    const seen = byId.get(d.id);
    if (seen) throw new SigmaLoadError(d.source, d.id, `duplicate id (also in ${seen.source})`);
    byId.set(d.id, d);
    if (d.name !== undefined) {
      const named = byName.get(d.name);
      if (named) throw new SigmaLoadError(d.source, d.id, `duplicate name "${d.name}" (also rule ${named.id} in ${named.source})`);
      byName.set(d.name, d);
    }
  }
  const resolved = documents.map((d) => (d.kind === 'correlation' ? resolve(d, byId, byName) : d));
  const excluded = new Set(options.exclude ?? []);
  let kept = resolved.filter((d) => !excluded.has(d.id) && !(d.kind === 'correlation' && d.rules.some((r) => excluded.has(r))));
  if (options.levels !== undefined) {
    const levels = new Set(options.levels);
    const needed = new Set(kept.filter((d) => d.kind === 'correlation' && levels.has(d.level)).flatMap((d) => (d as SigmaCorrelation).rules));
    kept = kept.filter((d) => levels.has(d.level) || needed.has(d.id));
  }
  return kept;
}

function resolve(c: SigmaCorrelation, byId: Map<string, SigmaDocument>, byName: Map<string, SigmaDocument>): SigmaCorrelation {
  const idOf = (ref: string): string => {
    const target = byId.get(ref) ?? byName.get(ref);
    if (target === undefined) throw new SigmaLoadError(c.source, c.id, `refers to unknown rule "${ref}"`);
    if (target.kind === 'correlation') throw new SigmaLoadError(c.source, c.id, `unsupported feature: a correlation of correlations ("${ref}")`);
    return target.id;
  };
  const rules = c.rules.map(idOf);
  const aliasRule = (alias: string, ref: string): string => {
    const id = idOf(ref);
    if (!rules.includes(id)) throw new SigmaLoadError(c.source, c.id, `alias "${alias}" names "${ref}", which is not among the correlation's rules`);
    return id;
  };
  if (new Set(rules).size !== rules.length) throw new SigmaLoadError(c.source, c.id, 'refers to the same rule twice');
  const aliases =
    c.aliases === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(c.aliases).map(([alias, perRule]) => [
            alias,
            Object.fromEntries(Object.entries(perRule).map(([ref, field]) => [aliasRule(alias, ref), field])),
          ]),
        );
  return { ...c, rules, ...(aliases !== undefined && { aliases }) };
}
