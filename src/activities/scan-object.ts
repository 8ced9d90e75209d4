import { gunzipSync } from 'node:zlib';
import { type EventNames, NeedsExactScan, eventNameList, scanCompactDocument } from '../cloudtrail/compact-document';
import { type LogFileVisitor, type ReadCounts, readDocumentExactly, readLogFile } from '../cloudtrail/read-log-file';
import { type CloudTrailRecord, isEmpty, malformedReason } from '../cloudtrail/record';
import { type ConfiguredRule, rawSkipTests, readPeriod, selectRecord, selectedEventNames } from '../rules/selection';
import type { ScanPeriod } from '../rules/types';
import { type NativeScanner, nativeScanner } from '../native/scanner';
import { configuredRules } from './configured-rules';

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

/** One log file's outcome: counts, the selected events as JSON lines, and what to report. */
export interface ObjectScan extends ReadCounts {
  /** 'exact' when the document was not in the compact layout or a candidate needed the exact reader */
  reader: 'fast' | 'exact';
  lines: string[];
  /** why each malformed record was skipped */
  malformed: string[];
  /** records the rules kept although a field they read is missing */
  warnings: string[];
}

export interface ObjectScanner {
  rules: ConfiguredRule[];
  readWindow: ScanPeriod;
  eventNames: EventNames;
  /** libdeflate and the one-pass search when built; null: zlib and JavaScript searches */
  native: NativeScanner | null;
}

export function objectScanner(job: ScanJob, { native = nativeScanner() ?? null }: { native?: NativeScanner | null } = {}): ObjectScanner {
  const rules = configuredRules(job.rules);
  const eventNames = eventNameList(selectedEventNames(rules), rawSkipTests(rules));
  return {
    rules,
    readWindow: readPeriod(rules, job.period),
    eventNames,
    native,
  };
}

function collector(scanner: ObjectScanner): { visitor: LogFileVisitor; lines: string[]; malformed: string[]; warnings: string[] } {
  const lines: string[] = [];
  const malformed: string[] = [];
  const warnings: string[] = [];
  const visitor: LogFileVisitor = {
    onRecord(record) {
      const selected = selectRecord(scanner.rules, record, scanner.readWindow);
      for (const line of selected) lines.push(JSON.stringify(line));
      if (selected.length && isEmpty(record.userIdentity)) {
        warnings.push(`record ${record.eventID} has no userIdentity: kept, with an empty user`);
      }
    },
    onMalformedRecord(reason) {
      malformed.push(`malformed record: ${reason}`);
    },
  };
  return { visitor, lines, malformed, warnings };
}

/** The compact fast path; nothing reaches the visitor unless the whole document passes. */
function scanCompact(document: Buffer, scanner: ObjectScanner, visitor: LogFileVisitor): ReadCounts {
  const found: CloudTrailRecord[] = [];
  let parsed = 0;
  const records = scanCompactDocument(document, scanner.eventNames, (raw) => {
    parsed++;
    let record: unknown;
    try {
      record = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new NeedsExactScan('a candidate record did not parse on its own');
    }
    if (malformedReason(record)) throw new NeedsExactScan('a candidate record is malformed');
    found.push(record as CloudTrailRecord);
  }, scanner.native);
  for (const record of found) visitor.onRecord(record);
  return { records, parsed, bytes: document.length };
}

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
 * Scans one whole log file (gzipped or plain JSON) held in memory. Throws when the object itself is
 * unusable (bad gzip, truncated, not {"Records":[...]}), or DocumentTooLarge: then stream it instead.
 */
export function scanObjectBytes(bytes: Buffer, scanner: ObjectScanner): ObjectScan {
  const document = inflate(bytes, scanner.native);
  const { visitor, ...collected } = collector(scanner);
  try {
    return { ...scanCompact(document, scanner, visitor), reader: 'fast', ...collected };
  } catch (error) {
    if (!(error instanceof NeedsExactScan)) throw error;
    return { ...readDocumentExactly(document, scanner.eventNames.buffers, visitor), reader: 'exact', ...collected };
  } finally {
    releaseLargeDocumentBuffer();
  }
}

/** Scans one log file as a stream, for objects too large to hold in memory. */
export async function scanObjectStream(body: AsyncIterable<Uint8Array>, scanner: ObjectScanner): Promise<ObjectScan> {
  const { visitor, ...collected } = collector(scanner);
  return { ...(await readLogFile(body, scanner.eventNames.buffers, visitor)), reader: 'exact', ...collected };
}
