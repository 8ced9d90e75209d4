/**
 * Byte-level tests on the raw text of one record, for deciding cheaply that a record cannot matter.
 * Each answers conservatively: when unsure, it says so and the caller parses the record.
 * The native scanner, when built, answers the same in C (tested against these JavaScript twins).
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-bytes';

/**
 * True when raw is one object whose braces and brackets balance (strings skipped) and close only at its
 * last byte: the fast path cut a whole record, not a piece of one. Not a JSON validation. (The native
 * scanner's findCandidates answers this for every named candidate itself.)
 */
export function isOneBalancedObject(raw: Buffer): boolean {
  const length = raw.length;
  if (length < 2 || raw[0] !== OPEN_BRACE || raw[length - 1] !== CLOSE_BRACE) return false;
  let depth = 0;
  let i = 0;
  while (i < length) {
    const byte = raw[i++];
    if (byte === QUOTE) {
      // skip to the closing quote: one not preceded by an odd number of backslashes
      for (;;) {
        const quote = raw.indexOf(QUOTE, i);
        if (quote < 0) return false;
        let backslashes = 0;
        while (raw[quote - 1 - backslashes] === BACKSLASH) backslashes++;
        i = quote + 1;
        if (backslashes % 2 === 0) break;
      }
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      depth++;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
      if (depth === 0 && i !== length) return false;
      if (depth < 0) return false;
    }
  }
  return depth === 0;
}

const quotedKeys = new Map<string, Buffer>();

/** `"key"` as bytes, made once per key. */
export function quotedKey(key: string): Buffer {
  let quoted = quotedKeys.get(key);
  if (!quoted) quotedKeys.set(key, (quoted = Buffer.from(`"${key}"`)));
  return quoted;
}

/**
 * For each key, the values of every `"key":"value"` in raw JSON text, at any depth, when the text has no
 * backslash (so every string is literal and no `"` can hide inside one). Undefined when the text has a
 * backslash or an occurrence of a key is not followed by `:"` (whitespace, a non-string value): parse instead.
 */
export function rawStringValuesOf(raw: Buffer, keys: readonly string[]): string[][] | undefined {
  if (raw.includes(BACKSLASH)) return undefined;
  const result: string[][] = [];
  for (const pattern of keys.map(quotedKey)) {
    const values: string[] = [];
    for (let hit = raw.indexOf(pattern); hit >= 0; hit = raw.indexOf(pattern, hit + pattern.length)) {
      const colon = hit + pattern.length;
      if (raw[colon] !== COLON || raw[colon + 1] !== QUOTE) return undefined;
      const end = raw.indexOf(QUOTE, colon + 2);
      if (end < 0) return undefined;
      values.push(raw.toString('utf8', colon + 2, end));
    }
    result.push(values);
  }
  return result;
}

/**
 * A rule's RawSkipTest (src/rules/types.ts) on one record's raw text: true when the record cannot
 * matter to the rule. The native scanner applies the same test in C (native/trailwarden.c: raw_skips).
 */
export function rawTextSkips(raw: Buffer, test: { everyValueOf: string; isBlankOrTheOneValueOf: string }): boolean {
  const [theOne, every] = rawStringValuesOf(raw, [test.isBlankOrTheOneValueOf, test.everyValueOf]) ?? [];
  if (theOne?.length !== 1 || every === undefined) return false;
  return every.every((value) => value === '' || value === theOne[0]);
}
