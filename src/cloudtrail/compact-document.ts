/**
 * The fast path for a whole log file in memory, as CloudTrail writes it: compact JSON,
 * `{"Records":[{"eventVersion":…},{"eventVersion":…}]}`. A search finds the record separators
 * `},{"eventVersion":` and every `"eventName"` key; only records whose eventName is one the rules
 * select (or written in an unusual way) are cut out and handed on. The search is the native scanner's
 * one pass (src/native/scanner.ts) or, without it, three of Node's byte searches (findCandidatesInJs):
 * both give the same candidates.
 *
 * Why no record the rules need is skipped: a record matters only through its eventName, and the raw
 * text of the key and of an event name can differ from `"eventName":"Name"` only by whitespace
 * (then the byte after the key is not `:"`, and the record is a candidate), or by a `\u` escape (every
 * record containing `\u` is a candidate). Inside a JSON string a `"` is always escaped, so neither the
 * key nor a separator can be matched inside a string.
 *
 * A separator can still occur inside a record, in a nested array of objects that begin with
 * "eventVersion". A record cut at one is an unbalanced piece: it fails to parse, or the caller's
 * balance check rejects it, and the file is read again with the exact splitter (NeedsExactScan).
 * The one thing the exact splitter would not also do: such a nested object, when balanced and holding
 * an eventID, an eventTime and a selected eventName, is taken for a record (a false positive, never a miss).
 */
import { type NativeScanner, nativeScanner } from '../native/scanner';
import { BACKSLASH_U, COLON, QUOTE, isJsonSpace } from './json-bytes';
import type { RawSkipTest } from '../rules/types';
import { isOneBalancedObject, quotedKey, rawTextSkips } from './raw-json';

const SEPARATOR = Buffer.from('},{"eventVersion":');
const PREFIX = Buffer.from('{"Records":[{"eventVersion":');
const RECORDS_OPEN_LENGTH = '{"Records":['.length;
const KEY_TAIL = Buffer.from('Name"');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export class NeedsExactScan extends Error {
  override name = 'NeedsExactScan';
}

/** `"event` ends right before `Name"` at hit (plain byte tests: a call per hit would cost more). */
function isEventNameKey(region: Buffer, hit: number): boolean {
  return (
    region[hit - 1] === 0x74 && region[hit - 2] === 0x6e && region[hit - 3] === 0x65 &&
    region[hit - 4] === 0x76 && region[hit - 5] === 0x65 && region[hit - 6] === QUOTE
  );
}

/** Where the records joined by separators are, without `{"Records":[` and `]}`; throws when not in this layout. */
function recordsRegion(document: Buffer): [start: number, end: number] {
  const offset = document.subarray(0, 3).equals(BOM) ? 3 : 0;
  if (!document.subarray(offset, offset + PREFIX.length).equals(PREFIX)) throw new NeedsExactScan('not a compact {"Records":[...]} document');
  let end = document.length;
  while (end > 0 && isJsonSpace(document[end - 1])) end--;
  // the last record's `}`, then `]}` closing Records and the document
  if (end < offset + PREFIX.length + 3 || document[end - 1] !== 0x7d || document[end - 2] !== 0x5d || document[end - 3] !== 0x7d) {
    throw new NeedsExactScan('the document does not end with the last record and "]}"');
  }
  return [offset + RECORDS_OPEN_LENGTH, end - 2];
}

/** The event names the rules select, with their raw skip tests, in the forms the searches need. */
export interface EventNames {
  names: readonly string[];
  buffers: Buffer[];
  lengths: ReadonlySet<number>;
  index: ReadonlyMap<string, number>;
  /** per name: the tests that all must rule a record out before it goes unparsed (none: always parsed) */
  skipTests: RawSkipTest[][];
  /** the same for the native scanner: per name, each test's two keys quoted, in pairs */
  skipKeys: Buffer[][];
}

export function eventNameList(names: Iterable<string>, skips: ReadonlyMap<string, RawSkipTest[]> = new Map()): EventNames {
  const list = [...new Set(names)];
  const buffers = list.map((name) => Buffer.from(name));
  const skipTests = list.map((name) => skips.get(name) ?? []);
  const skipKeys = skipTests.map((tests) => tests.flatMap((test) => [test.isBlankOrTheOneValueOf, test.everyValueOf].map(quotedKey)));
  return { names: list, buffers, lengths: new Set(buffers.map((b) => b.length)), index: new Map(list.map((name, i) => [name, i])), skipTests, skipKeys };
}

/** A candidate's name index when the record must be parsed to know. */
const PARSE_TO_KNOW = -1;
/** start, end, name index, cut (see findCandidatesInJs) */
const CANDIDATE_FIELDS = 4;

/** Where each separator starts: record i runs from after separator i-1 to separator i. */
function separatorsOf(region: Buffer): number[] {
  const separators: number[] = [];
  for (let at = region.indexOf(SEPARATOR); at >= 0; at = region.indexOf(SEPARATOR, at + SEPARATOR.length)) separators.push(at);
  return separators;
}

/** The index of the record holding byte `at`: the number of separators before it (binary search). */
function recordIndexAt(separators: readonly number[], at: number): number {
  let low = 0;
  let high = separators.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (separators[middle] < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The candidates of document[regionStart, regionEnd), in the native scanner's format:
 * [records, start, end, name index or -1, cut, …], in file order, offsets into document. A named
 * record that its name's skip tests rule out is left out when it is one balanced object; when it is not
 * (a piece cut at a look-alike separator inside a record) it stays, with cut = 1: read the file exactly.
 */
export function findCandidatesInJs(document: Buffer, regionStart: number, regionEnd: number, eventNames: EventNames): Int32Array {
  const region = document.subarray(regionStart, regionEnd);
  const separators = separatorsOf(region);
  const candidates = new Map<number, { end: number; name: number }>();
  const add = (hit: number, name: number) => {
    const index = recordIndexAt(separators, hit);
    const start = index === 0 ? 0 : separators[index - 1] + 2;
    const end = index === separators.length ? region.length : separators[index] + 1;
    const seen = candidates.get(start);
    // a record with two different answers (a nested eventName key) is parsed
    candidates.set(start, { end, name: seen && seen.name !== name ? PARSE_TO_KNOW : name });
    return end;
  };

  for (let hit = region.indexOf(KEY_TAIL); hit >= 0; hit = region.indexOf(KEY_TAIL, hit + KEY_TAIL.length)) {
    if (!isEventNameKey(region, hit)) continue;
    const colon = hit + KEY_TAIL.length;
    if (region[colon] !== COLON || region[colon + 1] !== QUOTE) {
      add(hit, PARSE_TO_KNOW);
      continue;
    }
    const valueEnd = region.indexOf(QUOTE, colon + 2);
    if (!eventNames.lengths.has(valueEnd - colon - 2)) continue;
    const name = eventNames.index.get(region.toString('utf8', colon + 2, valueEnd));
    if (name !== undefined) add(hit, name);
  }
  for (let hit = region.indexOf(BACKSLASH_U); hit >= 0; ) {
    const end = add(hit, PARSE_TO_KNOW);
    hit = region.indexOf(BACKSLASH_U, Math.max(end, hit + 2));
  }

  const found = [separators.length + 1];
  for (const start of [...candidates.keys()].sort((a, b) => a - b)) {
    const { end, name } = candidates.get(start)!;
    const raw = region.subarray(start, end);
    const tests = name === PARSE_TO_KNOW ? [] : eventNames.skipTests[name];
    const skipped = tests.length > 0 && tests.every((test) => rawTextSkips(raw, test));
    if (skipped && isOneBalancedObject(raw)) continue;
    found.push(regionStart + start, regionStart + end, name, skipped ? 1 : 0);
  }
  return Int32Array.from(found);
}

/**
 * Calls onCandidate, in file order, once for each record that may matter and so must be parsed:
 * `eventName` is the selected name its eventName key holds, or undefined when the record must be parsed
 * to know (whitespace, escapes). Returns the number of records. Throws NeedsExactScan when the document
 * is not in the compact layout, or when a record the skip tests ruled out was cut at a look-alike
 * separator inside it. `native` null: the JavaScript searches, whether or not the native scanner is built.
 */
export function scanCompactDocument(
  document: Buffer,
  eventNames: EventNames,
  onCandidate: (raw: Buffer, eventName: string | undefined) => void,
  native: NativeScanner | null = nativeScanner() ?? null,
): number {
  const [start, end] = recordsRegion(document);
  const found = native
    ? native.findCandidates(document, start, end, eventNames.buffers, eventNames.skipKeys)
    : findCandidatesInJs(document, start, end, eventNames);
  for (let i = 1; i < found.length; i += CANDIDATE_FIELDS) {
    if (found[i + 3] === 1) throw new NeedsExactScan('a record was cut at a separator inside it');
    const name = found[i + 2];
    onCandidate(document.subarray(found[i], found[i + 1]), name === PARSE_TO_KNOW ? undefined : eventNames.names[name]);
  }
  return found[0];
}
