/**
 * One `field|modifier...: value(s)` entry of a search identifier (or a keyword list), compiled to a test of a
 * record, with what every match requires (for the prefilter). Modifiers apply in the order written.
 */
import { anyScalar, valueAt } from './field';
import { allOf, anyOf, NOTHING, patternEventName, patternLiteral, type Requirement } from './prefilter';
import { ANY, expandClasses, isWildcardFree, literalPattern, parseSigmaString, patternTest, widen, windash, type Pattern } from './pattern';
import { cidrTest } from './cidr';
import { regexLiteral, translateRegex } from './regex';
import { checkFieldPath } from './fields';

export type RecordTest = (record: Record<string, unknown>) => boolean;
export interface CompiledEntry {
  test: RecordTest;
  requires: Requirement;
}

const SUPPORTED = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'i',
  'm',
  's',
  'cidr',
  'base64',
  'base64offset',
  'windash',
  'exists',
  'cased',
  'fieldref',
  'lt',
  'lte',
  'gt',
  'gte',
  'utf16le',
  'utf16be',
  'utf16',
  'wide',
]);
const UNSUPPORTED = new Set(['neq', 'minute', 'hour', 'day', 'week', 'month', 'year']);
const TYPES = ['re', 'cidr', 'lt', 'lte', 'gt', 'gte', 'exists', 'fieldref'];
const POSITION = ['contains', 'startswith', 'endswith'];
const ENCODINGS = ['utf16le', 'utf16be', 'utf16', 'wide'];
/** at most this many values from one written value (windash before base64) */
const VARIANT_LIMIT = 4096;

type Scalar = string | number | boolean;

/** Throws an Error naming the problem. `field` is '' for a keyword search. */
export function compileEntry(field: string, modifiers: string[], value: unknown): CompiledEntry {
  for (const m of modifiers) {
    if (UNSUPPORTED.has(m)) throw new Error(`unsupported feature: modifier "${m}"`);
    if (!SUPPORTED.has(m)) throw new Error(m === 'expand' ? 'modifier "expand" left after placeholder expansion' : `unknown modifier "${m || '(empty)'}"`);
  }
  if (new Set(modifiers).size !== modifiers.length) throw new Error(`modifier repeated in "${[field, ...modifiers].join('|')}"`);
  if (field !== '') checkFieldPath(field);
  const where = field === '' ? 'keyword search' : `field "${field}"`;
  const types = modifiers.filter((m) => TYPES.includes(m));
  if (types.length > 1) throw new Error(`modifiers "${types.join('" and "')}" cannot be combined (${where})`);
  const type = types[0];
  const segments = field === '' ? [] : field.split('.');
  const at = (record: Record<string, unknown>): unknown => (field === '' ? record : valueAt(record, segments));

  if (value === null) {
    if (modifiers.length > 0 || field === '') throw new Error(`null takes no modifiers and needs a field (${where})`);
    return { test: (r) => isNull(at(r)), requires: NOTHING };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) throw new Error(`${where} has a map as its value`);
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0) throw new Error(`${where} has an empty list of values`);
  for (const v of values) {
    if (v === null) throw new Error(`null cannot be part of a list of values (${where})`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      throw new Error(`${where} has a value that is not a string, number or boolean`);
    // a rule travels as JSON, which has no Infinity or NaN
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${where} has a number that is not finite`);
  }
  const scalars = values as Scalar[];
  const all = modifiers.includes('all');
  if (all && scalars.length < 2) throw new Error(`modifier "all" needs a list of at least two values (${where})`);
  const combine = (tests: RecordTest[], requirements: Requirement[]): CompiledEntry =>
    all ? { test: (r) => tests.every((t) => t(r)), requires: allOf(requirements) } : { test: (r) => tests.some((t) => t(r)), requires: anyOf(requirements) };
  const only = (allowed: string[]): void => {
    const other = modifiers.filter((m) => m !== type && m !== 'all' && !allowed.includes(m));
    if (other.length > 0) throw new Error(`modifier "${type}" cannot be combined with "${other.join('", "')}" (${where})`);
  };
  if (type === undefined && modifiers.some((m) => m === 'i' || m === 'm' || m === 's')) throw new Error(`modifiers "i", "m" and "s" need "re" (${where})`);

  switch (type) {
    case 'exists': {
      only([]);
      if (field === '' || scalars.length !== 1 || typeof scalars[0] !== 'boolean')
        throw new Error(`modifier "exists" needs a field and true or false (${where})`);
      const want = scalars[0];
      const last = segments[segments.length - 1];
      return { test: (r) => (at(r) !== undefined) === want, requires: want && patternLiteral([last]) !== undefined ? { literals: [last] } : NOTHING };
    }
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      only([]);
      const cmp = COMPARE[type];
      const tests = scalars.map((v): RecordTest => {
        if (typeof v !== 'number') throw new Error(`modifier "${type}" needs a number, not ${JSON.stringify(v)} (${where})`);
        return (r) => anyScalar(at(r), (t) => NUMBER.test(t) && cmp(Number(t), v));
      });
      return combine(
        tests,
        tests.map(() => NOTHING),
      );
    }
    case 're': {
      only(['i', 'm', 's']);
      const flags = { i: modifiers.includes('i'), m: modifiers.includes('m'), s: modifiers.includes('s') };
      const tests = scalars.map((v): RecordTest => {
        if (typeof v !== 'string') throw new Error(`modifier "re" needs a string (${where})`);
        let regex: RegExp;
        try {
          regex = translateRegex(v, flags);
        } catch (e) {
          throw new Error(`regular expression ${JSON.stringify(v)}: ${(e as Error).message} (${where})`);
        }
        return (r) => anyScalar(at(r), (t) => regex.test(t));
      });
      return combine(
        tests,
        scalars.map((v) => {
          const literal = patternLiteral(literalPattern(regexLiteral(String(v)) ?? ''));
          return literal === undefined ? NOTHING : { literals: [literal] };
        }),
      );
    }
    case 'cidr': {
      only([]);
      const tests = scalars.map((v): RecordTest => {
        if (typeof v !== 'string') throw new Error(`modifier "cidr" needs a string (${where})`);
        const inRange = cidrTest(v);
        return (r) => anyScalar(at(r), inRange);
      });
      return combine(
        tests,
        tests.map(() => NOTHING),
      );
    }
    case 'fieldref': {
      only([...POSITION, 'cased']);
      if (field === '') throw new Error('modifier "fieldref" needs a field');
      const position = positionOf(modifiers, where);
      const cased = modifiers.includes('cased');
      const tests = scalars.map((v): RecordTest => {
        if (typeof v !== 'string') throw new Error(`modifier "fieldref" needs a field name (${where})`);
        checkFieldPath(v);
        const refSegments = v.split('.');
        return (r) => {
          const other = valueAt(r, refSegments);
          return anyScalar(other, (o) => {
            const test = patternTest(
              widen(literalPattern(o), position === 'contains' || position === 'endswith', position === 'contains' || position === 'startswith'),
              cased,
            );
            return anyScalar(at(r), test);
          });
        };
      });
      return combine(
        tests,
        tests.map(() => NOTHING),
      );
    }
  }

  // plain values, possibly transformed (windash, utf16*, base64*) and positioned (contains, startswith, endswith)
  const cased = modifiers.includes('cased');
  const variants = scalars.map((v) => transform(v, modifiers, field === '', where));
  const eventName = field === 'eventName';
  const tests: RecordTest[] = [];
  const requirements: Requirement[] = [];
  for (const patterns of variants) {
    const matchers = patterns.map((p) => patternTest(p, cased));
    tests.push(matchers.length === 1 ? (r) => anyScalar(at(r), matchers[0]) : (r) => anyScalar(at(r), (t) => matchers.some((m) => m(t))));
    const literals = patterns.map(patternLiteral);
    const names = eventName ? patterns.map((p) => patternEventName(p, cased)) : [];
    requirements.push({
      literals: literals.every((l) => l !== undefined) ? [...new Set(literals as string[])] : undefined,
      names: eventName && names.every((n) => n !== undefined) ? (names as NonNullable<(typeof names)[number]>[]) : undefined,
    });
  }
  return combine(tests, requirements);
}

function positionOf(modifiers: string[], where: string): string | undefined {
  const positions = modifiers.filter((m) => POSITION.includes(m));
  if (positions.length > 1) throw new Error(`modifiers "${positions.join('" and "')}" cannot be combined (${where})`);
  return positions[0];
}

/** A written value through the modifiers in order: the patterns (OR) it stands for. */
function transform(value: Scalar, modifiers: string[], keyword: boolean, where: string): Pattern[] {
  positionOf(modifiers, where);
  let patterns: Pattern[] = [typeof value === 'string' ? parseSigmaString(value) : literalPattern(String(value))];
  let encoding: string | undefined;
  for (let k = 0; k < modifiers.length; k++) {
    const m = modifiers[k];
    if (encoding !== undefined && m !== 'base64' && m !== 'base64offset')
      throw new Error(`modifier "${encoding}" must be followed by "base64" or "base64offset" (${where})`);
    if (m === 'windash') patterns = patterns.map(windash);
    else if (ENCODINGS.includes(m)) encoding = m;
    else if (m === 'base64' || m === 'base64offset') {
      if (m === 'base64offset' && !modifiers.slice(k + 1).includes('contains'))
        throw new Error(`modifier "base64offset" must be followed by "contains" (${where})`);
      if (!patterns.every(isWildcardFree)) throw new Error(`modifier "${m}" cannot encode a value with wildcards (${where})`);
      const texts = patterns.flatMap((p) => expandClasses(p, VARIANT_LIMIT));
      if (texts.length > VARIANT_LIMIT) throw new Error(`more than ${VARIANT_LIMIT} variants of one value (${where})`);
      const bytes = texts.map((t) => encode(t, encoding));
      patterns = bytes.flatMap((b) => (m === 'base64' ? [Buffer64(b)] : base64Offsets(b))).map(literalPattern);
      encoding = undefined;
    } else if (m === 'contains') patterns = patterns.map((p) => widen(p, true, true));
    else if (m === 'startswith') patterns = patterns.map((p) => widen(p, false, true));
    else if (m === 'endswith') patterns = patterns.map((p) => widen(p, true, false));
  }
  if (encoding !== undefined) throw new Error(`modifier "${encoding}" must be followed by "base64" or "base64offset" (${where})`);
  // keywords search anywhere in a value unless positioned
  if (keyword && !modifiers.some((m) => POSITION.includes(m))) patterns = patterns.map((p) => widen(p, true, true));
  return dedupePatterns(patterns);
}

function dedupePatterns(patterns: Pattern[]): Pattern[] {
  const seen = new Map<string, Pattern>();
  for (const p of patterns) seen.set(JSON.stringify(p.map((part) => (part === ANY ? { '*': 1 } : part))), p);
  return [...seen.values()];
}

function encode(text: string, encoding: string | undefined): Uint8Array {
  if (encoding === undefined) return new TextEncoder().encode(text);
  const units: number[] = [];
  for (let i = 0; i < text.length; i++) units.push(text.charCodeAt(i));
  const le = encoding !== 'utf16be';
  const out: number[] = encoding === 'utf16' ? [0xff, 0xfe] : [];
  for (const u of units) out.push(...(le ? [u & 0xff, u >> 8] : [u >> 8, u & 0xff]));
  return Uint8Array.from(out);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding (pure, for worker code without Buffer). */
export function Buffer64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return out;
}

/** The three base64 renderings of the bytes at offsets 0, 1 and 2 of an encoded stream, without the characters that depend on the neighbouring bytes (as pySigma's base64offset). */
export function base64Offsets(bytes: Uint8Array): string[] {
  const start = [0, 2, 3];
  const end = [0, -3, -2];
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const shifted = new Uint8Array(i + bytes.length);
    shifted.fill(0x20, 0, i);
    shifted.set(bytes, i);
    const encoded = Buffer64(shifted);
    const e = end[(bytes.length + i) % 3];
    out.push(encoded.slice(start[i], e === 0 ? undefined : e));
  }
  return out;
}

const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const COMPARE: Record<'lt' | 'lte' | 'gt' | 'gte', (a: number, b: number) => boolean> = {
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
};

function isNull(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  return Array.isArray(value) && value.some((v) => v === null || (Array.isArray(v) && isNull(v)));
}
