/**
 * The reader of a CloudTrail log file's JSON (docs: docs/rules.md "Reading records"): it validates the whole
 * document as JSON.parse would, and finds the records that may matter, without parsing any record.
 *
 * A record is an element of the top-level `Records` array (the last `Records` key, as JSON.parse keeps
 * the last of duplicate keys), and nothing else: the reader tracks string state and nesting depth
 * through every byte, so an object nested in a record, or anything in another top-level key, is never
 * taken for one. For each record it notes its own (depth-3) `eventName` and the fields its rules' skip
 * tests read; a record is a candidate when its eventName is a string the matcher accepts. When deciding
 * would need a decoded string (an escape in the eventName, or in any key of the record, or a non-ASCII
 * eventName), the record is a candidate to verify: the caller parses it and asks the matcher.
 *
 * The native scanner (native/trailwarden.c: find_records) is this reader's twin for whole documents;
 * this one also reads a document in chunks (files too large to hold in memory).
 *
 * How it is fast: one loop (scan) reads the tokens that lie wholly in a chunk, its state in local
 * variables. A string's end is found four bytes at a time (one word test flags a quote or a control
 * byte), and the backslashes, which are rare, with memchr. Keys are compared in place, by length first;
 * a tracked value is kept as a span of the chunk, copied only when its record goes on past the chunk.
 * A string with an escape, and a token cut by the chunk's end, go the byte-at-a-time way (stringBytes,
 * scalarBytes), which keeps the bytes it needs across chunks.
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE, isJsonSpace } from './json-bytes';
import type { CandidateMatcher } from './candidate-matcher';

export class LogFileFormatError extends Error {
  override name = 'LogFileFormatError';
}

/** A candidate's name index when the caller must parse the record to decide (see the file comment). */
export const VERIFY = -2;
/** A candidate accepted by a contains-pattern: always parsed, no skip test applies. */
export const CONTAINS_MATCH = -1;

/** Why a document is corrupt; the same codes as the native scanner's. */
export const enum Corrupt {
  InvalidJson = 1,
  Truncated = 2,
  NoRecords = 3,
  RecordsNotArray = 4,
  Empty = 5,
}

export function corruptMessage(code: number, offset: number): string {
  switch (code) {
    case Corrupt.InvalidJson:
      return `not valid JSON (unexpected byte at offset ${offset})`;
    case Corrupt.Truncated:
      return 'the JSON document is truncated';
    case Corrupt.NoRecords:
      return 'no "Records" array (not a CloudTrail log file)';
    case Corrupt.RecordsNotArray:
      return '"Records" is not an array';
    default:
      return 'empty file';
  }
}

/** What may come next; the first four may be a string (scan tests expect <= Key). */
const enum Expect {
  Value,
  ValueOrClose,
  KeyOrClose,
  Key,
  Colon,
  CommaOrClose,
  Done,
}

const enum Lex {
  Tokens,
  String,
  Scalar,
}

/** What the key before a value says it is (see keyRole); Top + test: a skip test's top-level key, Every + test: its every-key. */
const enum Role {
  None = 0,
  Records = 1,
  EventName = 2,
  EventId = 3,
  EventTime = 4,
  Top = 16,
  Every = 32,
}

/** A tracked field: absent, a plain string (its span), or any other value. */
const enum Kind {
  Absent = 0,
  Plain = 1,
  Other = 2,
}

/** Byte classes for scalars: the bytes numbers and true, false, null are made of, and those that end one. */
const enum Scalar {
  Invalid = 0,
  Byte = 1,
  End = 2,
}

const SCALAR = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)$/;
const SCALAR_CLASS = new Uint8Array(256);
for (const c of '0123456789+-.eEtrufalsn') SCALAR_CLASS[c.charCodeAt(0)] = Scalar.Byte;
for (const c of ' \n\r\t,}]:"{[') SCALAR_CLASS[c.charCodeAt(0)] = Scalar.End;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const ESCAPABLE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPABLE[c.charCodeAt(0)] = 1;
/** how many bytes one call of scan reads (whole tokens: it may read past) */
const SLICE = 16384;
const BOM = [0xef, 0xbb, 0xbf];
const RECORDS = Buffer.from('Records');
const EVENT_NAME = Buffer.from('eventName');
const EVENT_ID = Buffer.from('eventID');
const EVENT_TIME = Buffer.from('eventTime');
const NO_BYTES: Buffer = Buffer.alloc(0);

export interface ReadResult {
  records: number;
  /** per candidate: start, end (offsets into the document), name index or CONTAINS_MATCH or VERIFY */
  candidates: number[];
  /** the raw text of each candidate, in order (also when the document came in chunks) */
  raws: Buffer[];
}

/**
 * Push the document's bytes in order (one whole buffer, or chunks split anywhere), then call end().
 * Throws LogFileFormatError for a corrupt document; nothing it found may be used then.
 */
export class RecordsReader {
  private readonly stack: number[] = [];
  /** expect, role and offset: set in the constructor, see there */
  private expect: Expect;
  private lex = Lex.Tokens;
  private offset: number;
  private bomSeen = 0;
  private started = false;
  /**
   * a string read the slow way (it has an escape, or a chunk's end cuts it): after a backslash; then how
   * many \u hex digits are still due
   */
  private escaped = false;
  private hexDue = 0;
  private escapeAt = 0;
  private stringIsKey = false;
  /** that string is one whose bytes are kept (a key at depth 1 or 3+, a tracked value) */
  private keepString = false;
  private keptParts: Buffer[] = [];
  private keptBackslash = false;
  private keptStart = 0;
  private scalarText = '';
  private scalarStart = 0;
  /** the key of the value about to come, when it matters: see keyRole */
  private role: number;
  private recordsSeen = false;
  private recordsIsArray = false;
  private inRecords = false;
  private records = 0;
  private candidates: number[] = [];
  private raws: Buffer[] = [];
  /** the chunk's next backslash at or after the string being read (n: none) */
  private nextBackslash = 0;

  /** The record being read (at most one is open): its own fields, as spans of a chunk or of a copy. */
  private recordOpen = false;
  private recordStart = 0;
  private recordParts: Buffer[] = [];
  private recordOpenInChunk = -1;
  private verify = false;
  private nameKind = Kind.Absent;
  private nameBytes = NO_BYTES;
  private nameStart = 0;
  private nameLength = 0;
  /** eventID a non-empty plain string; eventTime surely valid (a malformed record is never skipped unread) */
  private idPlain = false;
  private timeSure = false;
  /** per skip test: its top-level key's value, and the one non-empty value of its every-key seen */
  private readonly topKind: Kind[];
  private readonly topBytes: Buffer[];
  private readonly topStart: number[];
  private readonly topLength: number[];
  private readonly everyKind: Kind[];
  private readonly everyBytes: Buffer[];
  private readonly everyStart: number[];
  private readonly everyLength: number[];
  private readonly passes: (test: number) => boolean;
  private wellFormed = false;
  /** by length, the keys the reader tracks at a record's own level and deeper in it, first match first */
  private readonly ownKeys: TrackedKey[][];
  private readonly nestedKeys: TrackedKey[][];

  constructor(private readonly matcher: CandidateMatcher) {
    // assigned here rather than where declared, so that the engine takes these fields for mutable from
    // the start: else the first optimization of scan, begun before its end first stores them, is dropped
    this.expect = Expect.Value;
    this.role = Role.None;
    this.offset = 0;
    const tests = matcher.skipTests;
    this.topKind = tests.map(() => Kind.Absent);
    this.topBytes = tests.map(() => NO_BYTES);
    this.topStart = tests.map(() => 0);
    this.topLength = tests.map(() => 0);
    this.everyKind = tests.map(() => Kind.Absent);
    this.everyBytes = tests.map(() => NO_BYTES);
    this.everyStart = tests.map(() => 0);
    this.everyLength = tests.map(() => 0);
    let keys = trackedKeys.get(matcher);
    if (!keys) {
      const own = [
        { bytes: EVENT_NAME, role: Role.EventName },
        { bytes: EVENT_ID, role: Role.EventId },
        { bytes: EVENT_TIME, role: Role.EventTime },
        ...tests.map((test, t) => ({ bytes: test.topLevelKey, role: Role.Top + t })),
        ...tests.map((test, t) => ({ bytes: test.everyKey, role: Role.Every + t })),
      ];
      keys = { own: byLength(own), nested: byLength(own.filter((key) => key.role >= Role.Every)) };
      trackedKeys.set(matcher, keys);
    }
    this.ownKeys = keys.own;
    this.nestedKeys = keys.nested;
    this.passes = (test) => this.wellFormed && this.skipTestPasses(test);
  }

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    if (!this.started) {
      while (i < n && this.bomSeen < 3 && chunk[i] === BOM[this.bomSeen] && this.offset + i === this.bomSeen) {
        this.bomSeen++;
        i++;
      }
      if (this.bomSeen > 0 && this.bomSeen < 3 && i === n) {
        this.offset += n;
        return;
      }
      if (this.bomSeen > 0 && this.bomSeen < 3) this.fail(Corrupt.InvalidJson, this.offset + i - this.bomSeen);
      if (i < n) this.started = true;
    }
    if (this.recordOpen) this.recordOpenInChunk = 0;
    if (this.lex === Lex.String) {
      if (this.keepString) this.keptStart = 0;
      i = this.stringBytes(chunk, i);
    } else if (this.lex === Lex.Scalar) {
      i = this.scalarBytes(chunk, i);
    }
    if (i < n) {
      const view = new DataView(chunk.buffer, chunk.byteOffset, n);
      const backslash = chunk.indexOf(BACKSLASH, i);
      this.nextBackslash = backslash < 0 ? n : backslash;
      // in slices, so that the engine optimizes scan early and soon again after a rare path
      while (i < n) i = this.scan(chunk, view, i, i + SLICE < n ? i + SLICE : n);
    }
    if (this.lex === Lex.String && this.keepString) this.keptParts.push(Buffer.from(chunk.subarray(this.keptStart)));
    if (this.recordOpen) {
      if (this.recordOpenInChunk >= 0) this.recordParts.push(Buffer.from(chunk.subarray(this.recordOpenInChunk)));
      this.copySpans(chunk);
    }
    this.offset += n;
  }

  end(): ReadResult {
    if (this.lex === Lex.Scalar) this.endScalar();
    if (!this.started) this.fail(this.offset === 0 ? Corrupt.Empty : Corrupt.Truncated, this.offset);
    if (this.expect !== Expect.Done || this.lex !== Lex.Tokens) this.fail(Corrupt.Truncated, this.offset);
    if (!this.recordsSeen) this.fail(Corrupt.NoRecords, 0);
    if (!this.recordsIsArray) this.fail(Corrupt.RecordsNotArray, 0);
    return { records: this.records, candidates: this.candidates, raws: this.raws };
  }

  private fail(code: Corrupt, offset: number): never {
    throw new LogFileFormatError(corruptMessage(code, offset));
  }

  /**
   * Reads the tokens of the chunk that start from i to limit (the last may end past it), in the order
   * and with the checks of a byte-wise reader: the first error found is the one at the lowest offset.
   * Returns where the next token starts.
   */
  private scan(b: Buffer, view: DataView, i: number, limit: number): number {
    const n = b.length;
    const stack = this.stack;
    let depth = stack.length;
    let expect = this.expect;
    let role = this.role;
    while (i < limit) {
      const c = b[i];
      if (c === QUOTE && expect <= Expect.Key) {
        // a string, key or value: the most common token by far
        const isKey = expect >= Expect.KeyOrClose;
        const valueRole = role;
        role = Role.None;
        if (!isKey && depth <= 2) this.topValue(c, i, valueRole, depth);
        const close = this.plainStringEnd(b, view, i + 1, n);
        if (close < 0) {
          this.expect = expect;
          this.role = valueRole;
          // keys are kept at depth 1 (is it Records?) and inside a record (is it eventName, or a skip test's?)
          i = this.beginSlowString(b, i, isKey, isKey ? depth === 1 || (depth >= 3 && this.recordOpen) : valueRole !== Role.None);
          expect = this.expect;
          role = this.role;
          continue;
        }
        if (isKey) {
          if (depth === 1 || (depth >= 3 && this.recordOpen)) {
            // most keys have a length no tracked key has
            const keys = depth === 1 ? TOP_LEVEL_KEYS : depth === 3 ? this.ownKeys : this.nestedKeys;
            const length = close - i - 1;
            if (length < keys.length && keys[length].length !== 0) role = trackedRole(keys, b, view, i + 1, length);
          }
          // in a compact document the colon follows at once
          i = close + 1;
          if (i < n && b[i] === COLON) {
            expect = Expect.Value;
            i++;
          } else {
            expect = Expect.Colon;
          }
        } else {
          if (valueRole !== Role.None && this.recordOpen) this.stringValue(valueRole, b, i + 1, close - i - 1, false);
          // and most values are followed by a comma
          i = close + 1;
          if (i < n && b[i] === COMMA) {
            expect = stack[depth - 1] === OPEN_BRACE ? Expect.Key : Expect.Value;
            i++;
          } else {
            expect = Expect.CommaOrClose;
          }
        }
        continue;
      }
      if (c <= 0x20 && isJsonSpace(c)) {
        i++;
        while (i < n && b[i] <= 0x20 && isJsonSpace(b[i])) i++;
        continue;
      }
      let closes: boolean;
      if (expect === Expect.CommaOrClose) {
        const open = stack[depth - 1];
        if (c === COMMA) {
          expect = open === OPEN_BRACE ? Expect.Key : Expect.Value;
          i++;
          continue;
        }
        // (after a top-level string, nothing is open: a close is an error too)
        if (!((c === CLOSE_BRACE && open === OPEN_BRACE) || (c === CLOSE_BRACKET && open === OPEN_BRACKET))) this.fail(Corrupt.InvalidJson, this.offset + i);
        closes = true;
      } else if (expect === Expect.Colon) {
        if (c !== COLON) this.fail(Corrupt.InvalidJson, this.offset + i);
        expect = Expect.Value;
        i++;
        continue;
      } else {
        // not a string: the close of an empty object or array, or a value
        closes = (c === CLOSE_BRACE && expect === Expect.KeyOrClose) || (c === CLOSE_BRACKET && expect === Expect.ValueOrClose);
      }
      if (closes) {
        depth = this.close(b, i);
        expect = depth === 0 ? Expect.Done : Expect.CommaOrClose;
        i++;
        continue;
      }
      if (expect !== Expect.Value && expect !== Expect.ValueOrClose) this.fail(Corrupt.InvalidJson, this.offset + i);
      const valueRole = role;
      role = Role.None;
      if (depth <= 2) this.topValue(c, i, valueRole, depth);
      else if (valueRole !== Role.None && this.recordOpen) this.otherValue(valueRole);
      if (c === OPEN_BRACE) {
        stack.push(OPEN_BRACE);
        depth++;
        expect = Expect.KeyOrClose;
        i++;
      } else if (c === OPEN_BRACKET) {
        stack.push(OPEN_BRACKET);
        depth++;
        expect = Expect.ValueOrClose;
        i++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET || c === COMMA || c === COLON) {
        this.fail(Corrupt.InvalidJson, this.offset + i);
      } else {
        let j = i;
        let kind = Scalar.Byte;
        while (j < n && (kind = SCALAR_CLASS[b[j]]) === Scalar.Byte) j++;
        // a byte no number or literal holds: fail now, not at the end of a long run (a body that is not JSON)
        if (kind === Scalar.Invalid) this.fail(Corrupt.InvalidJson, this.offset + i);
        if (j === n) {
          // the scalar goes on in the next chunk
          this.lex = Lex.Scalar;
          this.scalarStart = this.offset + i;
          this.scalarText = b.toString('latin1', i, n);
          i = n;
          break;
        }
        if (!isScalar(b, i, j)) this.fail(Corrupt.InvalidJson, this.offset + i);
        i = j;
        expect = depth === 0 ? Expect.Done : Expect.CommaOrClose;
      }
    }
    this.expect = expect;
    this.role = role;
    return i;
  }

  /** A value at depth 1 or 2: the Records array's (the last Records key is the one JSON.parse keeps), or one of its elements. */
  private topValue(c: number, i: number, role: number, depth: number): void {
    if (depth === 1 && role === Role.Records) {
      // forget what an earlier Records key gave
      this.recordsSeen = true;
      this.recordsIsArray = c === OPEN_BRACKET;
      this.inRecords = c === OPEN_BRACKET;
      this.records = 0;
      this.candidates = [];
      this.raws = [];
    } else if (depth === 2 && this.inRecords) {
      this.records++;
      if (c === OPEN_BRACE) this.beginRecord(i);
    }
  }

  /**
   * The closing quote of the string whose bytes start at i, when it holds no backslash or control byte
   * and ends in the chunk; else -1 (the slow way reads it).
   */
  private plainStringEnd(b: Buffer, view: DataView, start: number, n: number): number {
    let i = start;
    // four bytes at a time: with y = word ^ 0x02020202, a quote or a byte below 0x20 is a byte of y below
    // 0x21, which (y - 0x21212121) & ~y & 0x80808080 flags (the lowest flag is exact)
    const last = n - 8;
    let close = -1;
    while (i <= last) {
      let y = view.getInt32(i, true) ^ 0x02020202;
      let found = (y - 0x21212121) & ~y & 0x80808080;
      if (found === 0) {
        i += 4;
        y = view.getInt32(i, true) ^ 0x02020202;
        found = (y - 0x21212121) & ~y & 0x80808080;
      }
      if (found !== 0) {
        close = i + ((31 - Math.clz32(found & -found)) >> 3);
        break;
      }
      i += 4;
    }
    if (close < 0) {
      while (i < n && b[i] !== QUOTE && b[i] >= 0x20) i++;
      if (i === n) return -1;
      close = i;
    }
    if (b[close] !== QUOTE) return -1;
    // backslashes are rare: memchr finds the next, kept until a string starts past it
    let backslash = this.nextBackslash;
    if (backslash < start) {
      backslash = b.indexOf(BACKSLASH, start);
      this.nextBackslash = backslash = backslash < 0 ? n : backslash;
    }
    return backslash < close ? -1 : close;
  }

  /** Starts a string that has a backslash or a control byte, or goes on past the chunk: byte by byte. */
  private beginSlowString(b: Buffer, quote: number, isKey: boolean, keep: boolean): number {
    this.lex = Lex.String;
    this.stringIsKey = isKey;
    this.escaped = false;
    this.hexDue = 0;
    this.keepString = keep;
    this.keptBackslash = false;
    this.keptStart = quote + 1;
    return this.stringBytes(b, quote + 1);
  }

  /** Reads string bytes from i; returns where to go on. */
  private stringBytes(chunk: Buffer, i: number): number {
    const n = chunk.length;
    let escaped = this.escaped;
    let hexDue = this.hexDue;
    while (i < n) {
      const c = chunk[i];
      if (hexDue > 0) {
        if (!HEX[c]) this.fail(Corrupt.InvalidJson, this.escapeAt);
        hexDue--;
      } else if (escaped) {
        escaped = false;
        if (c === 0x75) hexDue = 4;
        else if (!ESCAPABLE[c]) this.fail(Corrupt.InvalidJson, this.escapeAt);
      } else if (c === QUOTE) {
        this.endString(chunk, i);
        return i + 1;
      } else if (c === BACKSLASH) {
        escaped = true;
        this.escapeAt = this.offset + i;
        this.keptBackslash = true;
      } else if (c < 0x20) {
        this.fail(Corrupt.InvalidJson, this.offset + i);
      }
      i++;
    }
    // the string goes on in the next chunk
    this.escaped = escaped;
    this.hexDue = hexDue;
    return i;
  }

  private endString(chunk: Buffer, quote: number): void {
    this.lex = Lex.Tokens;
    const keep = this.keepString;
    let bytes = chunk;
    let start = this.keptStart;
    let length = quote - start;
    if (keep && this.keptParts.length) {
      bytes = Buffer.concat([...this.keptParts, chunk.subarray(start, quote)]);
      start = 0;
      length = bytes.length;
      this.keptParts = [];
    }
    if (this.stringIsKey) {
      this.expect = Expect.Colon;
      if (keep) this.role = this.keyRole(bytes, start, length, this.keptBackslash);
      return;
    }
    this.expect = Expect.CommaOrClose;
    const role = this.role;
    this.role = Role.None;
    if (keep && this.recordOpen) this.stringValue(role, bytes, start, length, this.keptBackslash);
  }

  /** What a kept key read the slow way means for the value after it (scan matches plain keys itself). */
  private keyRole(key: Buffer, start: number, length: number, escaped: boolean): number {
    const depth = this.stack.length;
    if (depth === 1) {
      if (escaped) return decodedKey(key.subarray(start, start + length)) === 'Records' ? Role.Records : Role.None;
      return equalAt(key, start, length, RECORDS) ? Role.Records : Role.None;
    }
    if (escaped) {
      // an escaped key might spell any name: no skip test can pass, and at the record's own level the
      // caller parses the record to know its eventName
      if (depth === 3) this.verify = true;
      this.everyKind.fill(Kind.Other);
      return Role.None;
    }
    return trackedRole(depth === 3 ? this.ownKeys : this.nestedKeys, key, new DataView(key.buffer, key.byteOffset, key.length), start, length);
  }

  /** A tracked field's string value, its bytes at start in `bytes` (a chunk until copySpans). */
  private stringValue(role: number, bytes: Buffer, start: number, length: number, escaped: boolean): void {
    if (role === Role.EventName) {
      this.nameKind = Kind.Plain;
      this.nameBytes = bytes;
      this.nameStart = start;
      this.nameLength = length;
      if (escaped || hasNonAscii(bytes, start, length)) this.verify = true;
    } else if (role === Role.EventId) {
      this.idPlain = !escaped && length > 0;
    } else if (role === Role.EventTime) {
      this.timeSure = !escaped && isSurelyEventTime(bytes, start, length);
    } else if (role >= Role.Every) {
      const t = role - Role.Every;
      const seen = this.everyKind[t];
      if (escaped) this.everyKind[t] = Kind.Other;
      else if (length > 0 && seen !== Kind.Other) {
        if (seen === Kind.Absent) {
          this.everyKind[t] = Kind.Plain;
          this.everyBytes[t] = bytes;
          this.everyStart[t] = start;
          this.everyLength[t] = length;
        } else if (!equalSpans(bytes, start, length, this.everyBytes[t], this.everyStart[t], this.everyLength[t])) {
          this.everyKind[t] = Kind.Other;
        }
      }
    } else if (role >= Role.Top) {
      const t = role - Role.Top;
      this.topKind[t] = escaped ? Kind.Other : Kind.Plain;
      this.topBytes[t] = bytes;
      this.topStart[t] = start;
      this.topLength[t] = length;
    }
  }

  /** A tracked field whose value is not a string: it matches nothing, and no skip test can pass. */
  private otherValue(role: number): void {
    if (role === Role.EventName) this.nameKind = Kind.Other;
    else if (role === Role.EventId) this.idPlain = false;
    else if (role === Role.EventTime) this.timeSure = false;
    else if (role >= Role.Every) this.everyKind[role - Role.Every] = Kind.Other;
    else if (role >= Role.Top) this.topKind[role - Role.Top] = Kind.Other;
  }

  /** The open record's spans still in this chunk, copied: the caller may reuse the chunk's memory. */
  private copySpans(chunk: Buffer): void {
    if (this.nameKind === Kind.Plain && this.nameBytes === chunk) {
      this.nameBytes = Buffer.from(chunk.subarray(this.nameStart, this.nameStart + this.nameLength));
      this.nameStart = 0;
    }
    for (let t = 0; t < this.topKind.length; t++) {
      if (this.topKind[t] === Kind.Plain && this.topBytes[t] === chunk) {
        this.topBytes[t] = Buffer.from(chunk.subarray(this.topStart[t], this.topStart[t] + this.topLength[t]));
        this.topStart[t] = 0;
      }
      if (this.everyKind[t] === Kind.Plain && this.everyBytes[t] === chunk) {
        this.everyBytes[t] = Buffer.from(chunk.subarray(this.everyStart[t], this.everyStart[t] + this.everyLength[t]));
        this.everyStart[t] = 0;
      }
    }
  }

  /** Pops the container closed at i; returns the depth. */
  private close(chunk: Buffer, i: number): number {
    const open = this.stack.pop();
    const depth = this.stack.length;
    if (this.inRecords && depth <= 2) {
      // what closes at depth 1 is the Records array (one store for both cases keeps the engine's feedback warm)
      this.inRecords = depth === 2;
      if (open === OPEN_BRACE && depth === 2 && this.recordOpen) this.endRecord(chunk, i + 1);
    }
    return depth;
  }

  private beginRecord(i: number): void {
    this.recordOpen = true;
    this.recordStart = this.offset + i;
    this.recordOpenInChunk = i;
    this.verify = false;
    this.nameKind = Kind.Absent;
    this.idPlain = false;
    this.timeSure = false;
    for (let t = 0; t < this.topKind.length; t++) this.topKind[t] = this.everyKind[t] = Kind.Absent;
  }

  /** Reads scalar bytes from i (a scalar cut by the last chunk's end); returns where to go on. */
  private scalarBytes(chunk: Buffer, i: number): number {
    const n = chunk.length;
    let j = i;
    let kind = Scalar.Byte;
    while (j < n && (kind = SCALAR_CLASS[chunk[j]]) === Scalar.Byte) j++;
    if (kind === Scalar.Invalid) this.fail(Corrupt.InvalidJson, this.scalarStart);
    this.scalarText += chunk.toString('latin1', i, j);
    if (j === n) return n; // it goes on in the next chunk
    this.endScalar();
    return j;
  }

  private endScalar(): void {
    this.lex = Lex.Tokens;
    if (!SCALAR.test(this.scalarText)) this.fail(Corrupt.InvalidJson, this.scalarStart);
    this.scalarText = '';
    this.expect = this.stack.length === 0 ? Expect.Done : Expect.CommaOrClose;
  }

  private endRecord(chunk: Buffer, endInChunk: number): void {
    this.recordOpen = false;
    const start = this.recordStart;
    const end = this.offset + endInChunk;
    this.wellFormed = this.idPlain && this.timeSure;
    const eventName =
      this.nameKind === Kind.Plain
        ? this.nameBytes.subarray(this.nameStart, this.nameStart + this.nameLength)
        : this.nameKind === Kind.Other
          ? null
          : undefined;
    let name = this.matcher.decide(eventName, this.verify, this.passes);
    const tail = chunk.subarray(this.recordOpenInChunk, endInChunk);
    let raw: Buffer | undefined;
    if (name === undefined && this.matcher.literalBuffers.length) {
      raw = this.recordParts.length ? Buffer.concat([...this.recordParts, tail]) : tail;
      if (this.matcher.literalHit(raw)) name = CONTAINS_MATCH;
    }
    if (name !== undefined) {
      this.candidates.push(start, end, name);
      this.raws.push(raw ?? (this.recordParts.length ? Buffer.concat([...this.recordParts, tail]) : tail));
    }
    if (this.recordParts.length !== 0) this.recordParts = [];
    this.recordOpenInChunk = -1;
  }

  /** A record's skip test passes: its every-key values are all blank or the record's own top-level value. */
  private skipTestPasses(test: number): boolean {
    const own = this.topKind[test];
    const every = this.everyKind[test];
    if (every === Kind.Other || own === Kind.Other) return false;
    if (every === Kind.Absent) return true;
    return (
      own === Kind.Plain &&
      equalSpans(this.topBytes[test], this.topStart[test], this.topLength[test], this.everyBytes[test], this.everyStart[test], this.everyLength[test])
    );
  }
}

/** the tracked keys by length, per matcher (a reader is made per document, a matcher per scan) */
const trackedKeys = new WeakMap<CandidateMatcher, { own: TrackedKey[][]; nested: TrackedKey[][] }>();

interface TrackedKey {
  bytes: Buffer;
  role: number;
  /** its first four bytes as a little-endian word (0 when shorter) */
  head: number;
}

function byLength(keys: { bytes: Buffer; role: number }[]): TrackedKey[][] {
  const lists: TrackedKey[][] = Array.from({ length: Math.max(...keys.map((key) => key.bytes.length)) + 1 }, () => []);
  for (const { bytes, role } of keys) lists[bytes.length].push({ bytes, role, head: bytes.length >= 4 ? bytes.readInt32LE(0) : 0 });
  return lists;
}

const TOP_LEVEL_KEYS = byLength([{ bytes: RECORDS, role: Role.Records }]);

/** The role of the first tracked key the key at start equals (its first four bytes compared at once). */
function trackedRole(keys: TrackedKey[][], b: Buffer, view: DataView, start: number, length: number): number {
  if (length >= keys.length) return Role.None;
  const list = keys[length];
  const head = length >= 4 ? view.getInt32(start, true) : 0;
  for (let k = 0; k < list.length; k++) if (list[k].head === head && equalAt(b, start, length, list[k].bytes)) return list[k].role;
  return Role.None;
}

function equalAt(bytes: Buffer, start: number, length: number, key: Buffer): boolean {
  if (length !== key.length) return false;
  for (let k = 0; k < length; k++) if (bytes[start + k] !== key[k]) return false;
  return true;
}

function equalSpans(a: Buffer, aStart: number, aLength: number, b: Buffer, bStart: number, bLength: number): boolean {
  if (aLength !== bLength) return false;
  for (let k = 0; k < aLength; k++) if (a[aStart + k] !== b[bStart + k]) return false;
  return true;
}

function hasNonAscii(bytes: Buffer, start: number, length: number): boolean {
  for (let k = start; k < start + length; k++) if (bytes[k] >= 0x80) return true;
  return false;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** The bytes from start to end are a number, true, false or null, exactly (the SCALAR pattern). */
function isScalar(b: Buffer, start: number, end: number): boolean {
  const length = end - start;
  const first = b[start];
  if (first === 0x74) return length === 4 && b[start + 1] === 0x72 && b[start + 2] === 0x75 && b[start + 3] === 0x65;
  if (first === 0x66) return length === 5 && b[start + 1] === 0x61 && b[start + 2] === 0x6c && b[start + 3] === 0x73 && b[start + 4] === 0x65;
  if (first === 0x6e) return length === 4 && b[start + 1] === 0x75 && b[start + 2] === 0x6c && b[start + 3] === 0x6c;
  let i = start;
  if (b[i] === 0x2d) i++;
  if (i >= end) return false;
  if (b[i] === 0x30) i++;
  else if (b[i] >= 0x31 && b[i] <= 0x39) while (i < end && isDigit(b[i])) i++;
  else return false;
  if (i < end && b[i] === 0x2e) {
    i++;
    if (i >= end || !isDigit(b[i])) return false;
    while (i < end && isDigit(b[i])) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || !isDigit(b[i])) return false;
    while (i < end && isDigit(b[i])) i++;
  }
  return i === end;
}

/** Two digits from p whose value lies from low to high. */
function twoDigits(b: Buffer, p: number, low: number, high: number): boolean {
  if (!isDigit(b[p]) || !isDigit(b[p + 1])) return false;
  const value = (b[p] - 0x30) * 10 + (b[p + 1] - 0x30);
  return value >= low && value <= high;
}

/**
 * An eventTime surely in docs/rules.md's form that eventTimeMs parses: YYYY-MM-DDTHH:MM:SS[.fraction]Z
 * with days 01-31 and hours 00-23 (Date.parse takes a 31st in any month, rolling 2026-02-31 over into
 * March; a test pins that). Anything else is parsed to know.
 */
export function isSurelyEventTime(b: Buffer, p: number, length: number): boolean {
  if (length < 20 || b[p + 4] !== 0x2d || b[p + 7] !== 0x2d || b[p + 10] !== 0x54 || b[p + 13] !== 0x3a || b[p + 16] !== 0x3a || b[p + length - 1] !== 0x5a)
    return false;
  for (let k = 0; k < 4; k++) if (!isDigit(b[p + k])) return false;
  if (
    !twoDigits(b, p + 5, 1, 12) ||
    !twoDigits(b, p + 8, 1, 31) ||
    !twoDigits(b, p + 11, 0, 23) ||
    !twoDigits(b, p + 14, 0, 59) ||
    !twoDigits(b, p + 17, 0, 59)
  )
    return false;
  if (length === 20) return true;
  if (b[p + 19] !== 0x2e || length < 22) return false;
  for (let k = 20; k < length - 1; k++) if (!isDigit(b[p + k])) return false;
  return true;
}

function decodedKey(key: Buffer): string {
  return JSON.parse(`"${key.toString('utf8')}"`) as string;
}
