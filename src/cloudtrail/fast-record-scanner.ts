/**
 * The fast path for CloudTrail files as CloudTrail writes them: compact JSON whose records all begin
 * with "eventVersion", so records are separated by the bytes `},{"eventVersion":`. The scanner never
 * walks the bytes itself: native searches find the separators and the needles, and only the records
 * around a needle are cut out and parsed.
 *
 * A cut at a false separator (the same bytes inside a string, or an array of objects that begin with
 * "eventVersion" inside a record) leaves an unbalanced slice that fails to parse, and the caller reads
 * the file again with the exact splitter (RecordSplitter); so does anything not in this layout
 * (pretty-printed files, other key orders, other top-level keys, empty Records). A record the rules
 * need is therefore never missed. The one thing the exact splitter would not also report: a balanced
 * object nested in an array inside a record, beginning with "eventVersion" and holding an eventID,
 * an eventTime and a needle, would be taken for a record.
 */
const SEPARATOR = Buffer.from('},{"eventVersion":');
const PREFIX = Buffer.from('{"Records":[{"eventVersion":');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const MAX_CARRY_BYTES = 64 * 1024 * 1024;

export class NeedsExactScan extends Error {
  override name = 'NeedsExactScan';
}

export interface FastScanResult {
  records: number;
  bytes: number;
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Records in a run of whole records joined by separators. */
function countRecords(region: Buffer): number {
  let count = 1;
  for (let at = region.indexOf(SEPARATOR); at >= 0; at = region.indexOf(SEPARATOR, at + SEPARATOR.length)) count++;
  return count;
}

/** The records of the region that contain a needle, each once, in order. */
function candidates(region: Buffer, needles: readonly Buffer[], emit: (raw: Buffer) => void): void {
  const starts = new Map<number, number>();
  for (const needle of needles) {
    for (let hit = region.indexOf(needle); hit >= 0; ) {
      const before = region.lastIndexOf(SEPARATOR, hit);
      const start = before < 0 ? 0 : before + 2;
      const after = region.indexOf(SEPARATOR, hit);
      const end = after < 0 ? region.length : after + 1;
      starts.set(start, end);
      hit = end >= region.length ? -1 : region.indexOf(needle, end);
    }
  }
  for (const start of [...starts.keys()].sort((a, b) => a - b)) emit(region.subarray(start, starts.get(start)));
}

/**
 * Scans decompressed chunks; emits the raw bytes of every record that contains a needle.
 * Throws NeedsExactScan when the file is not in the compact layout this path relies on.
 */
export async function fastScan(chunks: AsyncIterable<Buffer>, needles: readonly Buffer[], emit: (raw: Buffer) => void): Promise<FastScanResult> {
  const result: FastScanResult = { records: 0, bytes: 0 };
  let carry: Buffer | undefined;
  let head: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    result.bytes += chunk.length;
    if (!carry) {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const offset = head.subarray(0, 3).equals(BOM) ? 3 : 0;
      if (head.length < offset + PREFIX.length) continue;
      if (!head.subarray(offset, offset + PREFIX.length).equals(PREFIX)) throw new NeedsExactScan('not a compact {"Records":[...]} document');
      carry = head.subarray(offset + PREFIX.length - '{"eventVersion":'.length);
      continue;
    }
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const last = data.lastIndexOf(SEPARATOR);
    if (last < 0) {
      if (data.length > MAX_CARRY_BYTES) throw new NeedsExactScan('no record separator in 64 MB');
      carry = data;
      continue;
    }
    const region = data.subarray(0, last + 1);
    result.records += countRecords(region);
    candidates(region, needles, emit);
    carry = data.subarray(last + 2);
  }
  if (!carry) throw new NeedsExactScan('too short for a compact document');
  let end = carry.length;
  while (end > 0 && isSpace(carry[end - 1])) end--;
  // the last record, then `]}` closing Records and the document
  if (end < 3 || carry[end - 1] !== 0x7d || carry[end - 2] !== 0x5d || carry[end - 3] !== 0x7d) {
    throw new NeedsExactScan('the document does not end with the last record and "]}"');
  }
  const lastRecords = carry.subarray(0, end - 2);
  result.records += countRecords(lastRecords);
  candidates(lastRecords, needles, emit);
  return result;
}
