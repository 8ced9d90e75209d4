/**
 * The reader of a CloudTrail log file's JSON (docs: RULES.md "Reading records"): it validates the whole
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

const SCALAR = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)$/;
const HEX = /^[0-9A-Fa-f]$/;
/** the bytes numbers and true, false, null are made of */
const SCALAR_BYTE = new Uint8Array(256);
for (const c of '0123456789+-.eEtrufalsn') SCALAR_BYTE[c.charCodeAt(0)] = 1;
const ESCAPABLE = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const BOM = [0xef, 0xbb, 0xbf];
const EVENT_NAME = Buffer.from('eventName');
const EVENT_ID = Buffer.from('eventID');
const EVENT_TIME = Buffer.from('eventTime');

/** A string's bytes seen so far, and whether it held a backslash or a non-ASCII byte. */
interface StringBytes {
  parts: Buffer[];
  backslash: boolean;
  nonAscii: boolean;
}

/** What one record's own fields say, for the matcher and the skip tests. */
interface RecordFields {
  /** the record's eventName: undefined absent, a Buffer when a plain string, null any other value */
  eventName: Buffer | null | undefined;
  verify: boolean;
  /** per skip test: its top-level key's value as for eventName */
  topLevel: (Buffer | null | undefined)[];
  /** per skip test: the one non-empty value of its every-key seen, null when it cannot skip */
  every: (Buffer | null | undefined)[];
  /** the record's own eventID and eventTime, as for eventName: a malformed record is never skipped unread */
  eventId: Buffer | null | undefined;
  eventTime: Buffer | null | undefined;
}

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
  private expect = Expect.Value;
  private lex = Lex.Tokens;
  private offset = 0;
  private bomSeen = 0;
  private started = false;
  /** inside a string: after a backslash; then how many \u hex digits are still due */
  private escaped = false;
  private hexDue = 0;
  private escapeAt = 0;
  private stringIsKey = false;
  /** the string being read is one whose bytes are kept (a key at depth 1 or 3+, a tracked value) */
  private keepString = false;
  private kept: StringBytes = { parts: [], backslash: false, nonAscii: false };
  private keptStart = 0;
  private scalarText = '';
  private scalarStart = 0;
  /** the key of the value about to come, when it matters: see keyRole */
  private role = 0;
  private recordsSeen = false;
  private recordsIsArray = false;
  private inRecords = false;
  private records = 0;
  private candidates: number[] = [];
  private raws: Buffer[] = [];
  private record: RecordFields | undefined;
  private recordStart = 0;
  private recordParts: Buffer[] = [];
  private recordOpenInChunk = -1;

  constructor(private readonly matcher: CandidateMatcher) {}

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
    if (this.record) this.recordOpenInChunk = 0;
    if (this.keepString && this.lex === Lex.String) this.keptStart = 0;
    while (i < n) {
      if (this.lex === Lex.String) {
        i = this.stringBytes(chunk, i);
        continue;
      }
      if (this.lex === Lex.Scalar) {
        i = this.scalarBytes(chunk, i);
        continue;
      }
      const c = chunk[i];
      if (isJsonSpace(c)) {
        i++;
        continue;
      }
      this.token(c, chunk, i);
      i++;
    }
    if (this.lex === Lex.String && this.keepString) this.kept.parts.push(Buffer.from(chunk.subarray(this.keptStart)));
    if (this.lex === Lex.Scalar) this.scalarText += chunk.toString('latin1', this.scalarStartInChunk, n);
    if (this.record && this.recordOpenInChunk >= 0) this.recordParts.push(Buffer.from(chunk.subarray(this.recordOpenInChunk)));
    this.scalarStartInChunk = 0;
    this.offset += n;
  }

  end(): ReadResult {
    if (this.lex === Lex.Scalar) this.endScalar(this.offset);
    if (!this.started) this.fail(this.offset === 0 ? Corrupt.Empty : Corrupt.Truncated, this.offset);
    if (this.expect !== Expect.Done || this.lex !== Lex.Tokens) this.fail(Corrupt.Truncated, this.offset);
    if (!this.recordsSeen) this.fail(Corrupt.NoRecords, 0);
    if (!this.recordsIsArray) this.fail(Corrupt.RecordsNotArray, 0);
    return { records: this.records, candidates: this.candidates, raws: this.raws };
  }

  private scalarStartInChunk = 0;

  private fail(code: Corrupt, offset: number): never {
    throw new LogFileFormatError(corruptMessage(code, offset));
  }

  private token(c: number, chunk: Buffer, i: number): void {
    const expect = this.expect;
    const top = this.stack[this.stack.length - 1];
    if (
      (expect === Expect.ValueOrClose && c === CLOSE_BRACKET) ||
      (expect === Expect.KeyOrClose && c === CLOSE_BRACE) ||
      (expect === Expect.CommaOrClose && (c === CLOSE_BRACE || c === CLOSE_BRACKET))
    ) {
      if ((c === CLOSE_BRACE && top !== OPEN_BRACE) || (c === CLOSE_BRACKET && top !== OPEN_BRACKET)) this.fail(Corrupt.InvalidJson, this.offset + i);
      return this.close(top, chunk, i);
    }
    if (expect === Expect.Value || expect === Expect.ValueOrClose) return this.beginValue(c, i);
    if ((expect === Expect.Key || expect === Expect.KeyOrClose) && c === QUOTE) return this.beginString(true, i);
    if (expect === Expect.Colon && c === COLON) {
      this.expect = Expect.Value;
      return;
    }
    if (expect === Expect.CommaOrClose && c === COMMA) {
      this.expect = top === OPEN_BRACE ? Expect.Key : Expect.Value;
      return;
    }
    this.fail(Corrupt.InvalidJson, this.offset + i);
  }

  /** The depth-1 key "Records", or a record's own key: what the value that follows means. */
  private static readonly ROLE_NONE = 0;
  private static readonly ROLE_RECORDS = 1;
  private static readonly ROLE_EVENT_NAME = 2;
  private static readonly ROLE_EVENT_ID = 3;
  private static readonly ROLE_EVENT_TIME = 4;
  /** roles from 16: a skip test's top-level key (16 + test); from 32: its every-key (32 + test) */

  private beginValue(c: number, i: number): void {
    const depth = this.stack.length;
    const role = this.role;
    this.role = RecordsReader.ROLE_NONE;
    if (depth === 1 && role === RecordsReader.ROLE_RECORDS) {
      // the last Records key is the one JSON.parse keeps: forget what an earlier one gave
      this.recordsSeen = true;
      this.recordsIsArray = c === OPEN_BRACKET;
      this.records = 0;
      this.candidates = [];
      this.raws = [];
      if (c === OPEN_BRACKET) {
        this.stack.push(OPEN_BRACKET);
        this.inRecords = true;
        this.expect = Expect.ValueOrClose;
        return;
      }
    } else if (depth === 2 && this.inRecords) {
      this.records++;
      if (c === OPEN_BRACE) {
        const tests = this.matcher.skipTests;
        this.record = { eventName: undefined, verify: false, topLevel: tests.map(() => undefined), every: tests.map(() => undefined), eventId: undefined, eventTime: undefined };
        this.recordStart = this.offset + i;
        this.recordOpenInChunk = i;
        this.recordParts = [];
      }
    } else if (this.record && role !== RecordsReader.ROLE_NONE && c !== QUOTE) {
      this.otherValue(role);
    }
    if (c === OPEN_BRACE) {
      this.stack.push(OPEN_BRACE);
      this.expect = Expect.KeyOrClose;
    } else if (c === OPEN_BRACKET) {
      this.stack.push(OPEN_BRACKET);
      this.expect = Expect.ValueOrClose;
    } else if (c === QUOTE) {
      this.role = role;
      this.beginString(false, i);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET || c === COMMA || c === COLON) {
      this.fail(Corrupt.InvalidJson, this.offset + i);
    } else {
      this.lex = Lex.Scalar;
      this.scalarText = '';
      this.scalarStart = this.offset + i;
      this.scalarStartInChunk = i;
    }
  }

  /** A tracked field whose value is not a string: it matches nothing, and no skip test can pass. */
  private otherValue(role: number): void {
    const record = this.record!;
    if (role === RecordsReader.ROLE_EVENT_NAME) record.eventName = null;
    else if (role === RecordsReader.ROLE_EVENT_ID) record.eventId = null;
    else if (role === RecordsReader.ROLE_EVENT_TIME) record.eventTime = null;
    else if (role >= 32) record.every[role - 32] = null;
    else if (role >= 16) record.topLevel[role - 16] = null;
  }

  private close(open: number, chunk: Buffer, i: number): void {
    this.stack.pop();
    const depth = this.stack.length;
    if (open === OPEN_BRACKET && depth === 1 && this.inRecords) this.inRecords = false;
    if (open === OPEN_BRACE && depth === 2 && this.inRecords && this.record) this.endRecord(chunk, i + 1);
    this.expect = depth === 0 ? Expect.Done : Expect.CommaOrClose;
  }

  private beginString(isKey: boolean, i: number): void {
    this.lex = Lex.String;
    this.stringIsKey = isKey;
    this.escaped = false;
    this.hexDue = 0;
    const depth = this.stack.length;
    // keys are kept at depth 1 (is it Records?) and inside a record (is it eventName, or a skip test's?)
    this.keepString = isKey ? depth === 1 || (this.record !== undefined && depth >= 3) : this.role !== RecordsReader.ROLE_NONE;
    if (this.keepString) {
      this.kept = { parts: [], backslash: false, nonAscii: false };
      this.keptStart = i + 1;
    }
  }

  /** Reads string bytes from i; returns where to go on. */
  private stringBytes(chunk: Buffer, i: number): number {
    const n = chunk.length;
    while (i < n) {
      const c = chunk[i];
      if (this.hexDue > 0) {
        if (!HEX.test(String.fromCharCode(c))) this.fail(Corrupt.InvalidJson, this.escapeAt);
        this.hexDue--;
        i++;
        continue;
      }
      if (this.escaped) {
        this.escaped = false;
        if (c === 0x75) this.hexDue = 4;
        else if (!ESCAPABLE.has(c)) this.fail(Corrupt.InvalidJson, this.escapeAt);
        i++;
        continue;
      }
      if (c === QUOTE) {
        this.endString(chunk, i);
        return i + 1;
      }
      if (c === BACKSLASH) {
        this.escaped = true;
        this.escapeAt = this.offset + i;
        if (this.keepString) this.kept.backslash = true;
      } else if (c < 0x20) {
        this.fail(Corrupt.InvalidJson, this.offset + i);
      } else if (c >= 0x80 && this.keepString) {
        this.kept.nonAscii = true;
      }
      i++;
    }
    return i;
  }

  private endString(chunk: Buffer, quote: number): void {
    this.lex = Lex.Tokens;
    let bytes: Buffer | undefined;
    if (this.keepString) {
      const tail = chunk.subarray(this.keptStart, quote);
      bytes = this.kept.parts.length ? Buffer.concat([...this.kept.parts, tail]) : tail;
    }
    if (this.stringIsKey) {
      this.expect = Expect.Colon;
      if (bytes) this.role = this.keyRole(bytes);
      return;
    }
    this.expect = Expect.CommaOrClose;
    const role = this.role;
    this.role = RecordsReader.ROLE_NONE;
    if (!bytes || !this.record) return;
    const record = this.record;
    const plain = !this.kept.backslash;
    if (role === RecordsReader.ROLE_EVENT_NAME) {
      record.eventName = Buffer.from(bytes);
      record.verify ||= !plain || this.kept.nonAscii;
    } else if (role === RecordsReader.ROLE_EVENT_ID) {
      record.eventId = plain ? Buffer.from(bytes) : null;
    } else if (role === RecordsReader.ROLE_EVENT_TIME) {
      record.eventTime = plain ? Buffer.from(bytes) : null;
    } else if (role >= 32) {
      const test = role - 32;
      const seen = record.every[test];
      if (!plain) record.every[test] = null;
      else if (bytes.length > 0 && seen !== null) {
        if (seen === undefined) record.every[test] = Buffer.from(bytes);
        else if (!seen.equals(bytes)) record.every[test] = null;
      }
    } else if (role >= 16) {
      record.topLevel[role - 16] = plain ? Buffer.from(bytes) : null;
    }
  }

  /** What a kept key means for the value after it. */
  private keyRole(key: Buffer): number {
    const depth = this.stack.length;
    const escaped = this.kept.backslash;
    if (depth === 1) return decodedKey(key, escaped) === 'Records' ? RecordsReader.ROLE_RECORDS : RecordsReader.ROLE_NONE;
    const record = this.record!;
    if (escaped) {
      // an escaped key might spell any name: no skip test can pass, and at the record's own level the
      // caller parses the record to know its eventName
      if (depth === 3) record.verify = true;
      record.every.fill(null);
      return RecordsReader.ROLE_NONE;
    }
    const tests = this.matcher.skipTests;
    if (depth === 3) {
      if (key.equals(EVENT_NAME)) return RecordsReader.ROLE_EVENT_NAME;
      if (key.equals(EVENT_ID)) return RecordsReader.ROLE_EVENT_ID;
      if (key.equals(EVENT_TIME)) return RecordsReader.ROLE_EVENT_TIME;
      for (let t = 0; t < tests.length; t++) if (key.equals(tests[t].topLevelKey)) return 16 + t;
    }
    for (let t = 0; t < tests.length; t++) if (key.equals(tests[t].everyKey)) return 32 + t;
    return RecordsReader.ROLE_NONE;
  }

  private scalarBytes(chunk: Buffer, i: number): number {
    const n = chunk.length;
    let j = i;
    while (j < n) {
      const c = chunk[j];
      if (isJsonSpace(c) || c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === COLON || c === QUOTE || c === OPEN_BRACE || c === OPEN_BRACKET) break;
      // a byte no number or literal holds: fail now, not at the end of a long run (a body that is not JSON)
      if (!SCALAR_BYTE[c]) this.fail(Corrupt.InvalidJson, this.scalarStart);
      j++;
    }
    if (j === n) return n; // the scalar goes on in the next chunk (push() keeps its text)
    this.scalarText += chunk.toString('latin1', this.scalarStartInChunk, j);
    this.scalarStartInChunk = 0;
    this.endScalar(this.offset + j);
    return j;
  }

  private endScalar(_end: number): void {
    this.lex = Lex.Tokens;
    if (!SCALAR.test(this.scalarText)) this.fail(Corrupt.InvalidJson, this.scalarStart);
    this.scalarText = '';
    this.expect = this.stack.length === 0 ? Expect.Done : Expect.CommaOrClose;
  }

  private endRecord(chunk: Buffer, endInChunk: number): void {
    const record = this.record!;
    this.record = undefined;
    const start = this.recordStart;
    const end = this.offset + endInChunk;
    const wellFormed = isPlainEventId(record.eventId) && isSurelyEventTime(record.eventTime);
    const name = this.matcher.decide(record.eventName, record.verify, (test) => wellFormed && skipTestPasses(record, test));
    if (name !== undefined) {
      const tail = chunk.subarray(this.recordOpenInChunk, endInChunk);
      this.candidates.push(start, end, name);
      this.raws.push(this.recordParts.length ? Buffer.concat([...this.recordParts, tail]) : tail);
    }
    this.recordParts = [];
    this.recordOpenInChunk = -1;
  }
}

/** A record's skip test passes: its every-key values are all blank or the record's own top-level value. */
function skipTestPasses(record: RecordFields, test: number): boolean {
  const own = record.topLevel[test];
  const every = record.every[test];
  if (every === null || own === null) return false;
  if (every === undefined) return true;
  return own !== undefined && own.equals(every);
}

function isPlainEventId(id: Buffer | null | undefined): boolean {
  return id instanceof Buffer && id.length > 0;
}

/** An eventTime surely in RULES.md's form and a valid date (days up to 28; anything else is parsed to know). */
const SURE_EVENT_TIME = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?Z$/;

function isSurelyEventTime(time: Buffer | null | undefined): boolean {
  return time instanceof Buffer && SURE_EVENT_TIME.test(time.toString('latin1'));
}

function decodedKey(key: Buffer, escaped: boolean): string {
  return escaped ? (JSON.parse(`"${key.toString('utf8')}"`) as string) : key.toString('utf8');
}
