import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from './prng';

/**
 * Test trails for the Sigma rules, built from pySigma's own reading of each rule (the backend's SQL as a
 * tree, scripts/sigma/duckdb-sql.js's parse), not from trailwarden's: real-shaped records from
 * ../shared/samples/ with a rule's fields set so that it matches, near misses (one test of an AND turned
 * false), and random mutations of both (case, wildcard characters, missing fields, arrays, nulls, booleans).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Tree =
  | { op: 'and' | 'or'; items: Tree[] }
  | { op: 'not'; item: Tree }
  | { op: 'equals'; field: string; value: string }
  | { op: 'like'; field: string; pattern: string }
  | { op: 'regex'; field: string; regex: string }
  | { op: 'null' | 'notNull'; field: string }
  | { op: 'fieldref'; field: string; other: string };

export const MULTI = '\uE000';
export const SINGLE = '\uE001';
const SAMPLES = join(__dirname, '..', '..', '..', 'shared', 'samples', 'cloudtrail');

/** Every CloudTrail record of the shared samples (files with a Records array, or one record). */
export function sampleRecords(): Record<string, Json>[] {
  const records: Record<string, Json>[] = [];
  for (const name of readdirSync(SAMPLES)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const parsed = JSON.parse(readFileSync(join(SAMPLES, name), 'utf8')) as Record<string, Json>;
    if (Array.isArray(parsed.Records)) records.push(...(parsed.Records as Record<string, Json>[]));
    else if (typeof parsed.eventName === 'string') records.push(parsed);
  }
  return records;
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const WORDS = ['x', 'Alpha', 'aws', 'NO', 'true', 'Success', 'i-0abc', '%', '_', '*', '?', '\\', 'a%b', 'a_b', "it's", ''];

function flipCase(random: Random, text: string): string {
  return [...text].map((ch) => (random() < 0.5 ? ch.toUpperCase() : ch.toLowerCase())).join('');
}

function setPath(record: Record<string, Json>, field: string, value: Json | undefined): void {
  const keys = field.split('.');
  let at: Record<string, Json> = record;
  for (const key of keys.slice(0, -1)) {
    const next = at[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, Json>;
  }
  if (value === undefined) delete at[keys[keys.length - 1]];
  else at[keys[keys.length - 1]] = value;
}

function getPath(record: Json, field: string): Json | undefined {
  let at: Json | undefined = record;
  for (const key of field.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = at[key];
  }
  return at;
}

/** A string the backend's LIKE pattern (with marked wildcards) accepts, in a random case. */
function fillPattern(random: Random, pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === MULTI) out += random() < 0.4 ? '' : pick(random, WORDS);
    else if (ch === SINGLE) out += pick(random, ['a', 'Z', '_', '%', '?']);
    else out += random() < 0.3 ? flipCase(random, ch) : ch;
  }
  return out;
}

/** A string the regex accepts: enough of the syntax for the SigmaHQ CloudTrail rules (., +, *, ?, literals, \x). */
function fillRegex(random: Random, regex: string): string {
  let out = '';
  for (let i = 0; i < regex.length; i++) {
    let atom = regex[i];
    const any = atom === '.';
    if (atom === '\\') atom = regex[++i];
    else if ('[](){}|^$'.includes(atom)) throw new Error(`the generator cannot fill the regex ${regex}`);
    const next = regex[i + 1];
    const times = next === '+' ? 1 + Math.floor(random() * 3) : next === '*' ? Math.floor(random() * 3) : next === '?' ? Math.floor(random() * 2) : 1;
    if (next === '+' || next === '*' || next === '?') i++;
    for (let n = 0; n < times; n++) out += any ? pick(random, ['a', 'B', ':', '/', '-']) : atom;
  }
  return out;
}

/** A string the literal pattern does not accept: one of its characters changed (case-insensitively different); none without literals. */
function breakText(random: Random, text: string): string | undefined {
  const literal = [...text].map((ch, index) => ({ ch, index })).filter(({ ch }) => ch !== MULTI && ch !== SINGLE);
  if (literal.length === 0) return undefined;
  const { index } = pick(random, literal);
  const chars = [...text];
  chars[index] = chars[index].toLowerCase() === 'q' ? 'x' : 'q';
  return chars.join('');
}

function satisfy(random: Random, tree: Tree, record: Record<string, Json>): void {
  switch (tree.op) {
    case 'and':
      for (const item of tree.items) satisfy(random, item, record);
      return;
    case 'or':
      return satisfy(random, pick(random, tree.items), record);
    case 'not':
      return falsify(random, tree.item, record);
    case 'equals':
      return setPath(record, tree.field, flipCase(random, tree.value));
    case 'like': {
      // several contains of one field (|contains|all) add up; an object (requestParameters) gets the text inside
      const text = fillPattern(random, tree.pattern);
      const now = getPath(record, tree.field);
      const contains = tree.pattern.startsWith(MULTI) && tree.pattern.endsWith(MULTI);
      if (contains && typeof now === 'string') return setPath(record, tree.field, `${now} ${text}`);
      if (now !== null && typeof now === 'object' && !Array.isArray(now) && random() < 0.7) {
        const key = contains ? `sigmaText${Object.keys(now).length}` : 'sigmaText';
        return setPath(record, `${tree.field}.${key}`, text);
      }
      return setPath(record, tree.field, text);
    }
    case 'regex':
      return setPath(record, tree.field, fillRegex(random, tree.regex));
    case 'null':
      return setPath(record, tree.field, random() < 0.5 ? undefined : null);
    case 'notNull':
      return setPath(record, tree.field, pick(random, WORDS));
    case 'fieldref': {
      const value = getPath(record, tree.other);
      return setPath(record, tree.field, typeof value === 'string' ? flipCase(random, value) : 'same');
    }
  }
}

function falsify(random: Random, tree: Tree, record: Record<string, Json>): void {
  switch (tree.op) {
    case 'and': {
      const broken = pick(random, tree.items);
      for (const item of tree.items) (item === broken ? falsify : satisfy)(random, item, record);
      return;
    }
    case 'or':
      for (const item of tree.items) falsify(random, item, record);
      return;
    case 'not':
      return satisfy(random, tree.item, record);
    case 'equals':
      return setPath(record, tree.field, random() < 0.3 ? undefined : breakText(random, tree.value));
    case 'like':
      return setPath(record, tree.field, random() < 0.3 ? undefined : breakText(random, fillPattern(random, tree.pattern)));
    case 'regex':
      return setPath(record, tree.field, random() < 0.3 ? undefined : pick(random, WORDS));
    case 'null':
    case 'fieldref':
      return setPath(record, tree.field, `not-${pick(random, WORDS)}`);
    case 'notNull':
      return setPath(record, tree.field, undefined);
  }
}

/** Every path to a scalar in the record (through objects; arrays are left whole), eventID excepted. */
function leafPaths(value: Json, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return prefix ? [prefix] : [];
  return Object.entries(value).flatMap(([key, child]) => (prefix === '' && key === 'eventID' ? [] : leafPaths(child, prefix ? `${prefix}.${key}` : key)));
}

/** One random change to one field: preferably one the rules read (`fields`). */
function mutate(random: Random, record: Record<string, Json>, fields: readonly string[]): void {
  const paths = leafPaths(record);
  const field = random() < 0.7 && fields.length ? pick(random, fields) : pick(random, paths.length ? paths : fields);
  const value = structuredClone(getPath(record, field));
  const text = typeof value === 'string' ? value : pick(random, WORDS);
  const at = Math.floor(random() * (text.length + 1));
  switch (Math.floor(random() * 7)) {
    case 0:
      return setPath(record, field, flipCase(random, text));
    case 1: // a wildcard or escape character of Sigma or SQL, replacing or inserted
      return setPath(record, field, text.slice(0, at) + pick(random, ['%', '_', '*', '?', '\\', "'"]) + text.slice(at + (random() < 0.5 ? 1 : 0)));
    case 2:
      return setPath(record, field, undefined);
    case 3: // an array: the value among decoys, or decoys only
      return setPath(record, field, random() < 0.7 ? [pick(random, WORDS), value ?? text] : [pick(random, WORDS)]);
    case 4:
      return setPath(record, field, null);
    case 5: // a number or boolean where a string was, or an object
      return setPath(record, field, pick<Json>(random, [true, false, 0, 42, { value: text }, {}, []]));
    default: // the whole value of another field: a fieldref's two sides equal
      return setPath(record, field, structuredClone(getPath(record, pick(random, fields))) ?? text);
  }
}

export interface TrailRule {
  id: string;
  fields: string[];
  tree: Tree;
}

/**
 * The test trail: the samples, then for each rule and seed a matching record, a near miss and a few
 * mutations of each (1 to 3 changes). eventIDs are made unique (trail-<n>).
 */
export function sigmaTestTrail(rules: readonly TrailRule[], seeds: number): Record<string, Json>[] {
  const samples = sampleRecords();
  const records: Record<string, Json>[] = samples.map((r) => structuredClone(r));
  const allFields = [...new Set(rules.flatMap((r) => r.fields))];
  for (let seed = 1; seed <= seeds; seed++) {
    const random = prng(seed);
    for (const rule of rules) {
      const match = structuredClone(pick(random, samples));
      satisfy(random, rule.tree, match);
      const miss = structuredClone(pick(random, samples));
      falsify(random, rule.tree, miss);
      records.push(match, miss);
      for (const base of [match, miss, match]) {
        const mutated = structuredClone(base);
        const changes = 1 + Math.floor(random() * 3);
        for (let n = 0; n < changes; n++) mutate(random, mutated, random() < 0.8 ? rule.fields : allFields);
        records.push(mutated);
      }
    }
  }
  return records.map((record, n) => ({ ...record, eventID: `trail-${n}` }));
}

export interface TrailCorrelation {
  rules: TrailRule[];
  groupBy: string[];
  timespanSeconds: number;
  /** the threshold of its condition (event_count), or undefined (temporal: the rules that occur count) */
  count?: number;
}

/**
 * Records around a correlation's threshold: per aligned window (four from `startMs`) and group (two
 * accounts and one without recipientAccountId, two source IPs), a number of events of its rules just
 * below, at or above the count (temporal: a random subset of its rules), at random times in the window,
 * some repeated later (a re-delivered record: the earliest counts). eventIDs `corr-<n>`.
 */
export function correlationTrail(correlations: readonly TrailCorrelation[], startMs: number, seed: number): Record<string, Json>[] {
  const random = prng(seed);
  const samples = sampleRecords();
  const records: Record<string, Json>[] = [];
  const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  for (const correlation of correlations) {
    const span = correlation.timespanSeconds * 1000;
    for (let window = 0; window < 4; window++) {
      for (const account of ['111122223333', '210987654321', undefined]) {
        const n = correlation.count === undefined ? correlation.rules.length : Math.max(0, correlation.count - 1 + Math.floor(random() * 4));
        for (let i = 0; i < n; i++) {
          const rule = correlation.count === undefined ? correlation.rules[i] : pick(random, correlation.rules);
          if (correlation.count === undefined && random() < 0.25) continue;
          const record = structuredClone(pick(random, samples));
          satisfy(random, rule.tree, record);
          setPath(record, 'recipientAccountId', account);
          setPath(record, 'sourceIPAddress', pick(random, ['198.51.100.7', '203.0.113.9']));
          const at = startMs + window * span + Math.floor(random() * span);
          const eventID = `corr-${records.length}`;
          records.push({ ...record, eventID, eventTime: time(at) });
          if (random() < 0.1) records.push({ ...record, eventID, eventTime: time(at + Math.floor(random() * 2 * span)) });
        }
      }
    }
  }
  return records;
}
