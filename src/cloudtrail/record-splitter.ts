/**
 * Splits the bytes of a CloudTrail log file, `{"Records":[{...},{...}]}`, into the raw bytes of each
 * record without parsing them, so that records can be tested cheaply and parsed only when needed.
 * It tracks strings, escapes and nesting depth; chunks may split anywhere, even inside a UTF-8 sequence.
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE, isJsonSpace as isSpace } from './json-bytes';

export class LogFileFormatError extends Error {}

export class RecordSplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private finishedTop = false;
  /** at depth 1: collecting the bytes of the current key */
  private keyBytes: number[] | undefined;
  private lastKey = '';
  private expectValueFor: string | undefined;
  private inRecords = false;
  private sawRecords = false;
  private recordsNotArray = false;
  private recordParts: Buffer[] = [];
  /** index in the current chunk where the open record began; -1 none open; -2 it began in an earlier chunk */
  private recordStart = -1;
  private otherElement = false;
  /** Non-object elements of Records (each is a malformed record). */
  nonObjectRecords = 0;

  constructor(private readonly onRecord: (raw: Buffer) => void) {}

  push(chunk: Buffer): void {
    const n = chunk.length;
    if (this.recordStart === -2) this.recordStart = 0;
    for (let i = 0; i < n; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.keyBytes) {
            this.lastKey = Buffer.from(this.keyBytes).toString('utf8');
            this.keyBytes = undefined;
          }
        } else if (this.keyBytes && this.keyBytes.length < 64) this.keyBytes.push(c);
        continue;
      }
      if (isSpace(c)) continue;
      if (this.finishedTop) throw new LogFileFormatError('unexpected data after the end of the JSON document');
      if (!this.started) {
        if (c === 0xef || c === 0xbb || c === 0xbf) continue; // UTF-8 byte order mark
        if (c !== OPEN_BRACE) throw new LogFileFormatError('not a JSON object (a CloudTrail log file is {"Records":[...]})');
        this.started = true;
        this.depth = 1;
        continue;
      }
      if (this.depth === 1) {
        this.atTopLevel(c);
        continue;
      }
      if (this.inRecords && this.depth === 2) {
        if (c === CLOSE_BRACKET) {
          this.inRecords = false;
          this.otherElement = false;
          this.depth = 1;
          continue;
        }
        if (c === COMMA) {
          this.otherElement = false;
          continue;
        }
        if (c === OPEN_BRACE && !this.otherElement) {
          this.recordStart = i;
          this.depth = 3;
          continue;
        }
        if (!this.otherElement) {
          this.otherElement = true;
          this.nonObjectRecords++;
        }
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) this.finishedTop = true;
        else if (this.inRecords && this.depth === 2 && this.recordStart !== -1) this.emit(chunk, i + 1);
      }
    }
    if (this.recordStart >= 0) {
      this.recordParts.push(chunk.subarray(this.recordStart));
      this.recordStart = -2; // the record goes on at the start of the next chunk
    }
  }

  /** Call after the last chunk; throws when the document is incomplete or has no Records array. */
  end(): void {
    if (!this.started) throw new LogFileFormatError('empty file');
    if (!this.finishedTop) throw new LogFileFormatError('the JSON document is truncated');
    if (this.recordsNotArray) throw new LogFileFormatError('"Records" is not an array');
    if (!this.sawRecords) throw new LogFileFormatError('no "Records" array (not a CloudTrail log file)');
  }

  private atTopLevel(c: number): void {
    if (this.expectValueFor !== undefined) {
      const key = this.expectValueFor;
      this.expectValueFor = undefined;
      if (key === 'Records') {
        this.sawRecords = true;
        if (c === OPEN_BRACKET) {
          this.inRecords = true;
          this.depth = 2;
          return;
        }
        this.recordsNotArray = true;
      }
      this.beginValue(c);
      return;
    }
    if (c === QUOTE) {
      this.inString = true;
      this.keyBytes = [];
    } else if (c === COLON) {
      this.expectValueFor = this.lastKey;
    } else if (c === CLOSE_BRACE) {
      this.depth = 0;
      this.finishedTop = true;
    } else if (c !== COMMA) {
      this.beginValue(c);
    }
  }

  private beginValue(c: number): void {
    if (c === QUOTE) this.inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
  }

  private emit(chunk: Buffer, endExclusive: number): void {
    const tail = chunk.subarray(this.recordStart, endExclusive);
    const raw = this.recordParts.length ? Buffer.concat([...this.recordParts, tail]) : tail;
    this.recordParts = [];
    this.recordStart = -1;
    this.onRecord(raw);
  }
}
