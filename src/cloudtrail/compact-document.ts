/**
 * The fast path for a whole log file in memory, as CloudTrail writes it: compact JSON,
 * `{"Records":[{"eventVersion":…},{"eventVersion":…}]}`. Native searches find the record separators
 * `},{"eventVersion":` and every `"eventName"` key; only records whose eventName is one the rules
 * select (or written in an unusual way) are cut out and handed on. JavaScript never walks the bytes.
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
import { COLON, QUOTE, isJsonSpace } from './json-bytes';

const SEPARATOR = Buffer.from('},{"eventVersion":');
const PREFIX = Buffer.from('{"Records":[{"eventVersion":');
const RECORDS_OPEN_LENGTH = '{"Records":['.length;
const KEY_TAIL = Buffer.from('Name"');
const BACKSLASH_U = Buffer.from('\\u');
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

/** The records joined by separators, without `{"Records":[` and `]}`; throws when not in this layout. */
function recordsRegion(document: Buffer): Buffer {
  const offset = document.subarray(0, 3).equals(BOM) ? 3 : 0;
  if (!document.subarray(offset, offset + PREFIX.length).equals(PREFIX)) throw new NeedsExactScan('not a compact {"Records":[...]} document');
  let end = document.length;
  while (end > 0 && isJsonSpace(document[end - 1])) end--;
  // the last record's `}`, then `]}` closing Records and the document
  if (end < offset + PREFIX.length + 3 || document[end - 1] !== 0x7d || document[end - 2] !== 0x5d || document[end - 3] !== 0x7d) {
    throw new NeedsExactScan('the document does not end with the last record and "]}"');
  }
  return document.subarray(offset + RECORDS_OPEN_LENGTH, end - 2);
}

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
 * Calls onCandidate, in file order, once for each record that may matter: `eventName` is the selected
 * name its eventName key holds, or undefined when the record must be parsed to know (whitespace, escapes).
 * Returns the number of records. Throws NeedsExactScan when the document is not in the compact layout.
 */
export function scanCompactDocument(
  document: Buffer,
  eventNames: ReadonlySet<string>,
  onCandidate: (raw: Buffer, eventName: string | undefined) => void,
): number {
  const region = recordsRegion(document);
  const separators = separatorsOf(region);
  const nameLengths = new Set([...eventNames].map((name) => Buffer.byteLength(name)));
  const candidates = new Map<number, { end: number; eventName: string | undefined }>();
  const add = (hit: number, eventName: string | undefined) => {
    const index = recordIndexAt(separators, hit);
    const start = index === 0 ? 0 : separators[index - 1] + 2;
    const end = index === separators.length ? region.length : separators[index] + 1;
    const seen = candidates.get(start);
    // a record with two different answers (a nested eventName key) is parsed
    candidates.set(start, { end, eventName: seen && seen.eventName !== eventName ? undefined : eventName });
    return end;
  };

  for (let hit = region.indexOf(KEY_TAIL); hit >= 0; hit = region.indexOf(KEY_TAIL, hit + KEY_TAIL.length)) {
    if (!isEventNameKey(region, hit)) continue;
    const colon = hit + KEY_TAIL.length;
    if (region[colon] !== COLON || region[colon + 1] !== QUOTE) {
      add(hit, undefined);
      continue;
    }
    const valueEnd = region.indexOf(QUOTE, colon + 2);
    if (!nameLengths.has(valueEnd - colon - 2)) continue;
    const eventName = region.toString('utf8', colon + 2, valueEnd);
    if (eventNames.has(eventName)) add(hit, eventName);
  }
  for (let hit = region.indexOf(BACKSLASH_U); hit >= 0; ) {
    const end = add(hit, undefined);
    hit = region.indexOf(BACKSLASH_U, Math.max(end, hit + 2));
  }

  for (const start of [...candidates.keys()].sort((a, b) => a - b)) {
    const { end, eventName } = candidates.get(start)!;
    onCandidate(region.subarray(start, end), eventName);
  }
  return separators.length + 1;
}
