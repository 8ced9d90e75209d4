/**
 * Which records the reader hands on to be parsed, from what the rules declare (docs/rules.md "Reading
 * records"): a record is a candidate when its own eventName is a string that equals one of the rules'
 * names or contains one of their patterns. A candidate set is never narrower than what `select` keeps on
 * the parsed record. A rule's skip test (RawSkipTest) may rule out a record of a name it selects
 * before it is parsed, when every rule that could select that name declares one and all pass.
 */
import type { CandidateNames, RawSkipTest } from '../rules/types';
import { BACKSLASH } from './json-bytes';
import { CONTAINS_MATCH, VERIFY } from './records-reader';

export interface SkipKeys {
  topLevelKey: Buffer;
  everyKey: Buffer;
}

export interface CandidateMatcher {
  /** the names a record's eventName may equal, in index order */
  names: readonly string[];
  nameBuffers: readonly Buffer[];
  /** patterns a record's eventName may contain */
  contains: readonly string[];
  containsBuffers: readonly Buffer[];
  /** names and patterns compared with ASCII letters folded, in lower case (see CandidateNames) */
  foldedNames: readonly string[];
  foldedNameBuffers: readonly Buffer[];
  foldedContainsBuffers: readonly Buffer[];
  /** literals a record's text is searched for, in lower case (see CandidateNames); none: no search */
  literalBuffers: readonly Buffer[];
  /** the distinct skip tests, by index */
  skipTests: readonly SkipKeys[];
  /** per name: the skip tests that all must pass to rule a record of that name out (none: never) */
  skipsByName: readonly (readonly number[])[];
  /**
   * A record's verdict from its raw eventName (a plain string's bytes; null another value; undefined
   * absent): the name's index, CONTAINS_MATCH, VERIFY (parse it and ask accepts), or undefined.
   */
  decide(eventName: Buffer | null | undefined, verify: boolean, passes: (test: number) => boolean): number | undefined;
  /** the same question on a parsed record's eventName */
  accepts(eventName: unknown): boolean;
  /** a record the names did not take: is its text (the record's bytes) a literal candidate? */
  literalHit(record: Buffer): boolean;
}

/** One rule's part: the names and patterns its select can keep, and its skip test if any. */
export interface RuleCandidates extends CandidateNames {
  rawSkip?: RawSkipTest;
}

export function candidateMatcher(rules: readonly RuleCandidates[]): CandidateMatcher {
  const names = [...new Set(rules.flatMap((rule) => rule.equals))].sort();
  const contains = [...new Set(rules.flatMap((rule) => rule.contains))].sort();
  const testKeys: string[] = [];
  const skipTests: SkipKeys[] = [];
  const testIndex = (test: RawSkipTest): number => {
    const key = JSON.stringify([test.topLevelValueOf, test.everyValueOf]);
    let index = testKeys.indexOf(key);
    if (index < 0) {
      index = testKeys.push(key) - 1;
      skipTests.push({ topLevelKey: Buffer.from(test.topLevelValueOf), everyKey: Buffer.from(test.everyValueOf) });
    }
    return index;
  };
  const foldedNames = [...new Set(rules.flatMap((rule) => rule.foldedEquals ?? []).map(foldAscii))].sort();
  const foldedContains = [...new Set(rules.flatMap((rule) => rule.foldedContains ?? []).map(foldAscii))].sort();
  const literals = [...new Set(rules.flatMap((rule) => rule.literals ?? []).map(foldAscii))].sort();
  const foldedNameSet = new Set(foldedNames);
  const foldedAccepts = (name: string) => {
    if (!foldedNames.length && !foldedContains.length) return false;
    if (!isAscii(name)) return true;
    const folded = foldAscii(name);
    return foldedNameSet.has(folded) || foldedContains.some((pattern) => folded.includes(pattern));
  };
  // a rule that may select a name without a skip test of its own (a folded rule) keeps every record of it;
  // a record the skip tests rule out still goes to the literal search, which the literal rules' want
  const mayTake = (rule: RuleCandidates, name: string) =>
    rule.equals.includes(name) ||
    rule.contains.some((pattern) => name.includes(pattern)) ||
    (rule.foldedEquals ?? []).some((folded) => foldAscii(folded) === foldAscii(name)) ||
    (rule.foldedContains ?? []).some((pattern) => foldAscii(name).includes(foldAscii(pattern)));
  const skipsByName = names.map((name) => {
    const selecting = rules.filter((rule) => mayTake(rule, name));
    if (selecting.some((rule) => !rule.rawSkip?.eventNames.includes(name))) return [];
    return [...new Set(selecting.map((rule) => testIndex(rule.rawSkip!)))];
  });
  const nameBuffers = names.map((name) => Buffer.from(name));
  const containsBuffers = contains.map((pattern) => Buffer.from(pattern));
  const nameIndex = new Map(names.map((name, i) => [name, i]));
  const foldedNameBuffers = foldedNames.map((name) => Buffer.from(name));
  const foldedContainsBuffers = foldedContains.map((pattern) => Buffer.from(pattern));
  const literalBuffers = literals.map((literal) => Buffer.from(literal));

  return {
    names,
    nameBuffers,
    contains,
    containsBuffers,
    foldedNames,
    foldedNameBuffers,
    foldedContainsBuffers,
    literalBuffers,
    skipTests,
    skipsByName,
    // called once per record: byte loops in place of Buffer calls, which cost more on names this short
    decide(eventName, verify, passes) {
      if (verify) return VERIFY;
      if (!eventName) return undefined;
      for (let index = 0; index < nameBuffers.length; index++) {
        if (!sameBytes(nameBuffers[index], eventName)) continue;
        const tests = skipsByName[index];
        return tests.length > 0 && tests.every(passes) ? undefined : index;
      }
      for (const pattern of containsBuffers) if (holds(eventName, pattern)) return CONTAINS_MATCH;
      if (foldedNameBuffers.length || foldedContainsBuffers.length) {
        if (!asciiBytes(eventName)) return CONTAINS_MATCH;
        for (const name of foldedNameBuffers) if (sameFoldedBytes(name, eventName)) return CONTAINS_MATCH;
        for (const pattern of foldedContainsBuffers) if (holdsFolded(eventName, pattern)) return CONTAINS_MATCH;
      }
      return undefined;
    },
    accepts(eventName) {
      if (literalBuffers.length) return true;
      return typeof eventName === 'string' && (nameIndex.has(eventName) || contains.some((pattern) => eventName.includes(pattern)) || foldedAccepts(eventName));
    },
    literalHit(record) {
      if (!literalBuffers.length) return false;
      if (!asciiBytes(record) || record.includes(BACKSLASH)) return true;
      for (const literal of literalBuffers) if (holdsFolded(record, literal)) return true;
      return false;
    },
  };
}

/** ASCII letters in lower case, every other character as it is. */
export function foldAscii(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function asciiBytes(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return false;
  return true;
}

/** a byte with an ASCII capital letter in lower case */
function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** `folded` (lower case) equals `bytes` with ASCII letters folded */
function sameFoldedBytes(folded: Buffer, bytes: Buffer): boolean {
  if (folded.length !== bytes.length) return false;
  for (let i = 0; i < folded.length; i++) if (folded[i] !== lower(bytes[i])) return false;
  return true;
}

/** `haystack` with ASCII letters folded contains `needle` (lower case; empty: always) */
function holdsFolded(haystack: Buffer, needle: Buffer): boolean {
  const last = haystack.length - needle.length;
  if (last < 0) return false;
  if (needle.length === 0) return true;
  const first = needle[0];
  for (let at = 0; at <= last; at++) {
    if (lower(haystack[at]) !== first) continue;
    let k = 1;
    while (k < needle.length && lower(haystack[at + k]) === needle[k]) k++;
    if (k === needle.length) return true;
  }
  return false;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** haystack.includes(needle); a plain search on a short haystack, memmem on a long one */
function holds(haystack: Buffer, needle: Buffer): boolean {
  const last = haystack.length - needle.length;
  if (last < 0) return false;
  if (haystack.length > 64 || needle.length === 0) return haystack.includes(needle);
  const first = needle[0];
  for (let at = 0; at <= last; at++) {
    if (haystack[at] !== first) continue;
    let k = 1;
    while (k < needle.length && haystack[at + k] === needle[k]) k++;
    if (k === needle.length) return true;
  }
  return false;
}
