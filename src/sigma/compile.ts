/**
 * A Sigma rule's detection compiled once to closures over a parsed record: search identifiers (maps AND, lists
 * OR, keyword lists), the condition, and the prefilter every match satisfies.
 */
import { parseCondition, type Condition } from './condition';
import { compileEntry, type CompiledEntry, type RecordTest } from './entry';
import { allOf, anyOf, NOTHING, toPrefilter, type Requirement } from './prefilter';
import type { CompiledSigmaRule, SigmaRule } from './types';

const IDENTIFIER = /^[A-Za-z0-9_-]+$/;

/** Compiles a validated rule; throws an Error naming the problem for an invalid detection (loading reports it). */
export function compileSigmaRule(rule: SigmaRule): CompiledSigmaRule {
  const { test, requires } = compileDetection(rule.detection);
  return {
    rule,
    // a record whose top-level eventName is not a string is no CloudTrail record: no rule matches it
    matches: (record) =>
      record !== null &&
      typeof record === 'object' &&
      !Array.isArray(record) &&
      typeof (record as { eventName?: unknown }).eventName === 'string' &&
      test(record as Record<string, unknown>),
    prefilter: toPrefilter(requires),
  };
}

export function compileDetection(detection: Record<string, unknown>): CompiledEntry {
  if (detection === null || typeof detection !== 'object' || Array.isArray(detection)) throw new Error('detection is not a map');
  if ('timeframe' in detection) throw new Error('unsupported feature: "timeframe" (old-style aggregation; write a correlation rule)');
  const written = detection.condition;
  if (written === undefined) throw new Error('detection has no condition');
  const conditions = Array.isArray(written) ? written : [written];
  if (conditions.length === 0 || conditions.some((c) => typeof c !== 'string')) throw new Error('condition must be a string or a list of strings');
  const searches = new Map<string, CompiledEntry>();
  for (const [name, value] of Object.entries(detection)) {
    if (name === 'condition') continue;
    if (!IDENTIFIER.test(name)) throw new Error(`search identifier "${name}" is not a valid name (letters, digits, "_" and "-")`);
    try {
      searches.set(name, compileSearch(value));
    } catch (e) {
      throw new Error(`search identifier "${name}": ${(e as Error).message}`);
    }
  }
  const names = [...searches.keys()];
  const compiled = (conditions as string[]).map((text) => {
    if (/\|/.test(text) || /\bnear\b/.test(text))
      throw new Error(`unsupported feature: aggregation in the condition "${text}" (old-style; write a correlation rule)`);
    return toTest(parseCondition(text, names), searches);
  });
  return compiled.length === 1 ? compiled[0] : { test: (r) => compiled.some((c) => c.test(r)), requires: anyOf(compiled.map((c) => c.requires)) };
}

/** A search identifier's value: a map (AND of its entries), a list of maps and/or keywords (OR), or one keyword. */
function compileSearch(value: unknown): CompiledEntry {
  if (value === null || value === undefined) throw new Error('has no value');
  if (Array.isArray(value)) {
    if (value.length === 0) throw new Error('is an empty list');
    const maps = value.filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
    const keywords = value.filter((v) => !(v !== null && typeof v === 'object'));
    if (maps.length + keywords.length !== value.length) throw new Error('has a list inside its list');
    const parts = maps.map((m) => compileMap(m as Record<string, unknown>));
    if (keywords.length > 0) parts.push(compileEntry('', [], keywords));
    return or(parts);
  }
  if (typeof value === 'object') return compileMap(value as Record<string, unknown>);
  return compileEntry('', [], value);
}

function compileMap(map: Record<string, unknown>): CompiledEntry {
  const entries = Object.entries(map);
  if (entries.length === 0) throw new Error('has an empty map');
  return and(
    entries.map(([key, value]) => {
      const [field, ...modifiers] = key.split('|');
      return compileEntry(field, modifiers, value);
    }),
  );
}

function or(parts: CompiledEntry[]): CompiledEntry {
  if (parts.length === 1) return parts[0];
  const tests = parts.map((p) => p.test);
  return { test: (r) => tests.some((t) => t(r)), requires: anyOf(parts.map((p) => p.requires)) };
}

function and(parts: CompiledEntry[]): CompiledEntry {
  if (parts.length === 1) return parts[0];
  const tests = parts.map((p) => p.test);
  return { test: (r) => tests.every((t) => t(r)), requires: allOf(parts.map((p) => p.requires)) };
}

function toTest(condition: Condition, searches: Map<string, CompiledEntry>): CompiledEntry {
  switch (condition.op) {
    case 'ref':
      return searches.get(condition.name) as CompiledEntry;
    case 'not': {
      const inner: RecordTest = toTest(condition.arg, searches).test;
      return { test: (r) => !inner(r), requires: NOTHING as Requirement };
    }
    case 'and':
      return and(condition.args.map((a) => toTest(a, searches)));
    case 'or':
      return or(condition.args.map((a) => toTest(a, searches)));
    case 'of': {
      const parts = condition.names.map((n) => searches.get(n) as CompiledEntry);
      return condition.quantifier === 'one' ? or(parts) : and(parts);
    }
  }
}
