import { Readable, pipeline } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { type CandidateMatcher, candidateMatcher } from './candidate-matcher';
import { type CloudTrailRecord, isEmpty, malformedReason } from '../cloudtrail/record';
import { LogFileFormatError, type ReadResult, RecordsReader, VERIFY, corruptMessage } from './records-reader';
import { type ConfiguredRule, type ReadWindow, readWindow, recordLine, ruleCandidates } from '../rules/selection';
import type { ScanPeriod } from '../rules/types';
import { type NativeScanner, nativeScanner } from './native-scanner';
import { configuredRules } from '../rules/configured-rules';

/** Log files that inflate to more than this are streamed instead of held in memory. */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

export class DocumentTooLarge extends Error {
  override name = 'DocumentTooLarge';
}

/** What scanning needs to know, as plain data that can be sent to a scan thread. */
export interface ScanJob {
  rules: Record<string, unknown>;
  period: ScanPeriod;
}

/** One log file's outcome: counts, its record lines (src/rules/selection.ts: RecordLine), and what to report. */
export interface ObjectScan {
  records: number;
  /** candidate records parsed */
  parsed: number;
  /** bytes of JSON */
  bytes: number;
  /** 'native' when the native scanner read it, 'js' for the JavaScript reader */
  reader: 'native' | 'js';
  lines: string[];
  /** rule selections among the lines */
  selected: number;
  /** why each malformed record was skipped */
  malformed: string[];
  /** records the rules kept although a field they read is missing */
  warnings: string[];
}

/** What scanning a log file needs, built once per job: its rules, their read window, the candidate matcher. */
export interface ScanContext {
  rules: ConfiguredRule[];
  readWindow: ReadWindow;
  matcher: CandidateMatcher;
  /** libdeflate and the native reader when built; null: zlib and the JavaScript reader */
  native: NativeScanner | null;
}

export function scanContext(job: ScanJob, { native = nativeScanner() ?? null }: { native?: NativeScanner | null } = {}): ScanContext {
  const rules = configuredRules(job.rules);
  return { rules, readWindow: readWindow(rules, job.period), matcher: candidateMatcher(ruleCandidates(rules)), native };
}

/**
 * Parses each candidate the reader found (its text is valid JSON: the reader checked the whole
 * document), drops a verified candidate whose decoded eventName the rules do not want, reports a
 * malformed one, and turns the rest into record lines.
 */
function collect(result: ReadResult, bytes: number, reader: ObjectScan['reader'], context: ScanContext): ObjectScan {
  const scan: ObjectScan = { records: result.records, parsed: 0, bytes, reader, lines: [], selected: 0, malformed: [], warnings: [] };
  for (let c = 0; c < result.raws.length; c++) {
    const record = JSON.parse(result.raws[c].toString('utf8')) as CloudTrailRecord;
    scan.parsed++;
    if (result.candidates[3 * c + 2] === VERIFY && !context.matcher.accepts(record.eventName)) continue;
    const reason = malformedReason(record);
    if (reason) {
      scan.malformed.push(`malformed record: ${reason}`);
      continue;
    }
    const line = recordLine(context.rules, record, context.readWindow);
    scan.lines.push(JSON.stringify(line));
    scan.selected += line.selected.length;
    if (line.selected.length && isEmpty(record.userIdentity)) {
      scan.warnings.push(`record ${record.eventID} has no userIdentity: kept, with an empty user`);
    }
  }
  return scan;
}

/** The native reader's answer as a ReadResult, or a LogFileFormatError; undefined: read it in JavaScript. */
function readNatively(document: Buffer, native: NativeScanner, matcher: CandidateMatcher): ReadResult | undefined {
  const found = native.findRecords(
    document,
    matcher.nameBuffers,
    matcher.containsBuffers,
    matcher.skipTests.map((t) => [t.topLevelKey, t.everyKey]),
    matcher.skipsByName.map((tests) => Int32Array.from(tests)),
    matcher.foldedNameBuffers,
    matcher.foldedContainsBuffers,
    matcher.literalBuffers,
  );
  const [status, records, offset] = found;
  if (status === NATIVE_NEEDS_JS) return undefined;
  if (status !== 0) throw new LogFileFormatError(corruptMessage(status, offset));
  const candidates = Array.from(found.subarray(3));
  const raws: Buffer[] = [];
  for (let i = 0; i < candidates.length; i += 3) raws.push(document.subarray(candidates[i], candidates[i + 1]));
  return { records, candidates, raws };
}

/** The native reader's status when a document needs the JavaScript reader (an escaped top-level key). */
const NATIVE_NEEDS_JS = -1;

const MIN_CHUNK_BYTES = 64 * 1024;

/**
 * One buffer per thread that every document is inflated into, in turn: a fresh buffer per file cost a
 * page fault per 4 KB of JSON and left the freeing to the garbage collector (~20 MB more peak RSS).
 * Nothing keeps a view of a document past scanObjectBytes (candidates are parsed into new strings).
 * A buffer grown past KEPT_DOCUMENT_BYTES for a large file is let go after it.
 */
const KEPT_DOCUMENT_BYTES = 8 * 1024 * 1024;
let reusedDocument: Buffer | undefined;

function documentBuffer(bytes: number): Buffer {
  if (!reusedDocument || reusedDocument.length < bytes) reusedDocument = Buffer.allocUnsafeSlow(Math.max(bytes, 1024 * 1024));
  return reusedDocument;
}

function releaseLargeDocumentBuffer(): void {
  if (reusedDocument && reusedDocument.length > KEPT_DOCUMENT_BYTES) reusedDocument = undefined;
}

/**
 * Inflates into one buffer sized by the gzip trailer's ISIZE (the length mod 2^32): zlib's default
 * 16 KB chunks, joined at the end, cost a third more. A wrong ISIZE only costs chunks or memory.
 * libdeflate, when built, inflates about twice as fast; whatever it does not take (a wrong ISIZE,
 * bad data, bytes after the last member) goes to zlib, which gives the result or the error.
 */
function inflate(bytes: Buffer, native: NativeScanner | null): Buffer {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const isize = bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
  if (native && isize > 0 && isize <= MAX_DOCUMENT_BYTES) {
    const document = documentBuffer(isize);
    const length = native.gunzip(bytes, document);
    if (length >= 0) return document.subarray(0, length);
  }
  const chunkSize = Math.min(Math.max(isize + 1, MIN_CHUNK_BYTES), MAX_DOCUMENT_BYTES);
  try {
    return gunzipSync(bytes, { chunkSize, maxOutputLength: MAX_DOCUMENT_BYTES });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new DocumentTooLarge(`inflates to more than ${MAX_DOCUMENT_BYTES} bytes`);
    throw error;
  }
}

/**
 * Scans one whole log file (gzipped or plain JSON, told apart by its bytes) held in memory. Throws when
 * the object is corrupt (bad gzip, not valid JSON, no Records array), or DocumentTooLarge: stream it then.
 */
export function scanObjectBytes(bytes: Buffer, context: ScanContext): ObjectScan {
  const document = inflate(bytes, context.native);
  try {
    const native = context.native && readNatively(document, context.native, context.matcher);
    if (native) return collect(native, document.length, 'native', context);
    const reader = new RecordsReader(context.matcher);
    reader.push(document);
    return collect(reader.end(), document.length, 'js', context);
  } finally {
    releaseLargeDocumentBuffer();
  }
}

/** The body's bytes, inflated when they start with gzip's magic number (concatenated members too). */
async function* documentChunks(body: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const iterator = body[Symbol.asyncIterator]();
  const asBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    let head = Buffer.alloc(0);
    let done = false;
    while (head.length < 2 && !done) {
      const next = await iterator.next();
      if (next.done) done = true;
      else head = Buffer.concat([head, asBuffer(next.value)]);
    }
    async function* all(): AsyncGenerator<Buffer> {
      if (head.length) yield head;
      while (!done) {
        const next = await iterator.next();
        if (next.done) return;
        yield asBuffer(next.value);
      }
    }
    if (head[0] !== 0x1f || head[1] !== 0x8b) {
      yield* all();
      return;
    }
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    pipeline(Readable.from(all()), gunzip, () => undefined);
    for await (const chunk of gunzip) yield chunk as Buffer;
  } finally {
    // a file rejected part-way must still release its body (a file descriptor, an HTTP socket); not
    // awaited, so a stalled body cannot hang the reader
    iterator.return?.()?.catch(() => undefined);
  }
}

/** Scans one log file as a stream, for objects too large to hold in memory (the JavaScript reader reads chunks). */
export async function scanObjectStream(body: AsyncIterable<Uint8Array>, context: ScanContext): Promise<ObjectScan> {
  const reader = new RecordsReader(context.matcher);
  let bytes = 0;
  for await (const chunk of documentChunks(body)) {
    bytes += chunk.length;
    reader.push(chunk);
  }
  return collect(reader.end(), bytes, 'js', context);
}
