/**
 * Which records the reader hands on to be parsed, from what the rules declare (docs/rules.md "Reading
 * records"): a record is a candidate when its own eventName is a string that equals one of the rules'
 * names or contains one of their patterns. A candidate set is never narrower than what `select` keeps on
 * the parsed record. A rule's skip test (RawSkipTest) may rule out a record of a name it selects
 * before it is parsed, when every rule that could select that name declares one and all pass.
 */
import type { CandidateNames, RawSkipTest } from '../rules/types';
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
  const skipsByName = names.map((name) => {
    const selecting = rules.filter((rule) => rule.equals.includes(name) || rule.contains.some((pattern) => name.includes(pattern)));
    if (selecting.some((rule) => !rule.rawSkip?.eventNames.includes(name))) return [];
    return [...new Set(selecting.map((rule) => testIndex(rule.rawSkip!)))];
  });
  const nameBuffers = names.map((name) => Buffer.from(name));
  const containsBuffers = contains.map((pattern) => Buffer.from(pattern));
  const nameIndex = new Map(names.map((name, i) => [name, i]));

  return {
    names,
    nameBuffers,
    contains,
    containsBuffers,
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
      return undefined;
    },
    accepts(eventName) {
      return typeof eventName === 'string' && (nameIndex.has(eventName) || contains.some((pattern) => eventName.includes(pattern)));
    },
  };
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
