/**
 * What every record a part of a rule matches must have: eventName patterns (when the part tests the top-level
 * eventName) and literals its JSON text must contain. Combined up the condition: `and` keeps the most selective
 * side, `or` needs every side, `not` promises nothing.
 */
import { ANY, type Pattern } from './pattern';
import type { SigmaPrefilter } from './types';

export type EventNamePattern = NonNullable<SigmaPrefilter['eventNames']>[number];

export interface Requirement {
  /** the record's eventName satisfies one of these, or undefined when not constrained */
  names?: EventNamePattern[];
  /** the record's text contains one of these, or undefined when nothing is required */
  literals?: string[];
}

export const NOTHING: Requirement = {};

/** The longest run of the pattern's literal text that a JSON text without escapes must contain: printable ASCII without `"` or `\`, and no run that could be (part of) a number's text, since numbers compare by their JavaScript string form whatever their writing. */
export function patternLiteral(pattern: Pattern): string | undefined {
  let best: string | undefined;
  for (const part of pattern) {
    if (typeof part !== 'string') continue;
    for (const run of part.split(/[^\x20-\x7e]|["\\]/)) {
      if (run === '' || couldBeNumberText(run)) continue;
      if (best === undefined || run.length > best.length) best = run;
    }
  }
  return best;
}

function couldBeNumberText(text: string): boolean {
  return /^[0-9.+eE-]*$/.test(text) || '-infinity'.includes(text.toLowerCase());
}

/** The eventName test a pattern implies, or undefined when it does not constrain the name. */
export function patternEventName(pattern: Pattern, cased: boolean): EventNamePattern | undefined {
  const strings = pattern.filter((p): p is string => typeof p === 'string');
  if (pattern.length === 0) return { op: 'equals', value: '', cased };
  if (strings.length === pattern.length) return { op: 'equals', value: strings.join(''), cased };
  const first = pattern[0];
  const last = pattern[pattern.length - 1];
  if (pattern.length === 3 && first === ANY && last === ANY && typeof pattern[1] === 'string') return { op: 'contains', value: pattern[1], cased };
  if (typeof first === 'string') return { op: 'startswith', value: first, cased };
  if (typeof last === 'string') return { op: 'endswith', value: last, cased };
  const longest = strings.reduce((a, b) => (b.length > a.length ? b : a), '');
  return longest === '' ? undefined : { op: 'contains', value: longest, cased };
}

function literalScore(literals: string[]): number {
  return Math.min(...literals.map((l) => l.length)) * 1000 - literals.length;
}

function namesScore(names: EventNamePattern[]): number {
  return -names.length;
}

export function allOf(requirements: Requirement[]): Requirement {
  let names: EventNamePattern[] | undefined;
  let literals: string[] | undefined;
  for (const r of requirements) {
    if (r.names && (names === undefined || namesScore(r.names) > namesScore(names))) names = r.names;
    if (r.literals && (literals === undefined || literalScore(r.literals) > literalScore(literals))) literals = r.literals;
  }
  return { names, literals };
}

export function anyOf(requirements: Requirement[]): Requirement {
  const names = requirements.every((r) => r.names) ? dedupe(requirements.flatMap((r) => r.names ?? [])) : undefined;
  const literals = requirements.every((r) => r.literals) ? [...new Set(requirements.flatMap((r) => r.literals ?? []))] : undefined;
  return { names, literals };
}

function dedupe(names: EventNamePattern[]): EventNamePattern[] {
  const seen = new Map<string, EventNamePattern>();
  for (const n of names) seen.set(JSON.stringify([n.op, n.value, n.cased]), n);
  return [...seen.values()];
}

/** The rule's prefilter: eventName patterns when every match needs them, otherwise required literals. */
export function toPrefilter(requirement: Requirement): SigmaPrefilter {
  if (requirement.names) return { eventNames: requirement.names };
  if (requirement.literals) return { literals: requirement.literals };
  return {};
}
