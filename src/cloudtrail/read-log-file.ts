import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type CloudTrailRecord, malformedReason } from './record';
import { BACKSLASH_U } from './json-bytes';
import { RecordSplitter } from './record-splitter';

export interface ReadCounts {
  records: number;
  /** records that passed the raw-text test and were parsed */
  parsed: number;
  bytes: number;
}

export interface LogFileVisitor {
  /** called for every parsed, well-formed candidate record */
  onRecord(record: CloudTrailRecord): void;
  onMalformedRecord(reason: string): void;
}


/**
 * A record can only matter to the rules if its raw text contains one of the needles (event names),
 * or if it uses a \u escape, which could spell a needle in another way; all others are never parsed.
 */
export function mightMatch(raw: Buffer, needles: readonly Buffer[]): boolean {
  for (const needle of needles) if (raw.includes(needle)) return true;
  return raw.includes(BACKSLASH_U);
}

async function* decompressedChunks(body: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer> {
  const iterator = body[Symbol.asyncIterator]();
  try {
    let first = await iterator.next();
    while (!first.done && first.value.length < 2) {
      const next = await iterator.next();
      first = next.done ? first : { done: false, value: Buffer.concat([first.value, next.value]) };
      if (next.done) break;
    }
    if (first.done) return;
    const asBuffer = (bytes: Buffer | Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const head = asBuffer(first.value);
    async function* all(): AsyncGenerator<Buffer> {
      yield head;
      for (;;) {
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
    // A file rejected part-way must still release its body (a file descriptor, an HTTP socket):
    // closing the iterator destroys a stream. Not awaited, so a stalled body cannot hang the reader.
    iterator.return?.()?.catch(() => undefined);
  }
}

/** Parses one candidate record and hands it to the visitor (or reports it malformed). */
function visitCandidate(raw: Buffer, index: number, visitor: LogFileVisitor): void {
  let record: unknown;
  try {
    record = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    visitor.onMalformedRecord(`record ${index} is not valid JSON: ${(error as Error).message}`);
    return;
  }
  const reason = malformedReason(record);
  if (reason) visitor.onMalformedRecord(reason);
  else visitor.onRecord(record as CloudTrailRecord);
}

/** A splitter that tests and parses each record the exact way, counting into counts. */
function exactSplitter(needles: readonly Buffer[], visitor: LogFileVisitor, counts: ReadCounts): RecordSplitter {
  return new RecordSplitter((raw) => {
    counts.records++;
    if (!mightMatch(raw, needles)) return;
    counts.parsed++;
    visitCandidate(raw, counts.records, visitor);
  });
}

function finish(splitter: RecordSplitter, visitor: LogFileVisitor, counts: ReadCounts): ReadCounts {
  splitter.end();
  for (let i = 0; i < splitter.nonObjectRecords; i++) visitor.onMalformedRecord('a Records element is not a JSON object');
  counts.records += splitter.nonObjectRecords;
  return counts;
}

/**
 * The exact reader for a whole decompressed log file in memory: walks every byte with RecordSplitter,
 * for any JSON layout. Throws when the document is unusable (truncated, not {"Records":[...]}).
 */
export function readDocumentExactly(document: Buffer, needles: readonly Buffer[], visitor: LogFileVisitor): ReadCounts {
  const counts: ReadCounts = { records: 0, parsed: 0, bytes: document.length };
  const splitter = exactSplitter(needles, visitor, counts);
  splitter.push(document);
  return finish(splitter, visitor, counts);
}

/**
 * Streams one log file (gzipped or plain JSON) through the exact reader and hands each candidate
 * record to the visitor; for files too large to hold in memory. Throws when the object itself is
 * unusable (bad gzip, truncated, not {"Records":[...]}).
 */
export async function readLogFile(body: AsyncIterable<Buffer | Uint8Array>, needles: readonly Buffer[], visitor: LogFileVisitor): Promise<ReadCounts> {
  const counts: ReadCounts = { records: 0, parsed: 0, bytes: 0 };
  const splitter = exactSplitter(needles, visitor, counts);
  for await (const chunk of decompressedChunks(body)) {
    counts.bytes += chunk.length;
    splitter.push(chunk);
  }
  return finish(splitter, visitor, counts);
}
