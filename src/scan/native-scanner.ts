/**
 * The native scanner (native/trailwarden.c: libdeflate's inflate and a one-pass candidate search),
 * compiled by `npm run build` when the machine has a C compiler. Without it, or with
 * TRAILWARDEN_NATIVE=0, scans use Node's zlib and the JavaScript reader and find the same records.
 */
import { join } from 'node:path';

export interface NativeScanner {
  /** e.g. "libdeflate 1.25, SSE2/AVX2 JSON reader" */
  version: string;
  /** Inflates gzip members into out; the bytes written, or a negative number: then ask zlib. */
  gunzip(gzipped: Buffer, out: Buffer): number;
  /**
   * [status, records, offset, start, end, name, …]: RecordsReader's answer for a whole document
   * (src/scan/records-reader.ts); status 0, a Corrupt code at offset, or -1: read it in JavaScript.
   */
  findRecords(
    document: Buffer,
    names: readonly Buffer[],
    contains: readonly Buffer[],
    skipTests: Buffer[][],
    skipsByName: Int32Array[],
    foldedNames?: readonly Buffer[],
    foldedContains?: readonly Buffer[],
    literals?: readonly Buffer[],
  ): Int32Array;
}

/** src/scan and dist/scan are both two folders below the package. */
const NATIVE_MODULE_PATH = join(__dirname, '..', '..', 'build', 'trailwarden.node');

function load(): { scanner?: NativeScanner; status: string } {
  if (process.env.TRAILWARDEN_NATIVE === '0') return { status: 'off (TRAILWARDEN_NATIVE=0)' };
  try {
    const module = { exports: {} as NativeScanner };
    process.dlopen(module, NATIVE_MODULE_PATH);
    return { scanner: module.exports, status: module.exports.version };
  } catch (error) {
    return { status: `not built, using zlib and JavaScript (${(error as Error).message.split('\n')[0]})` };
  }
}

let loaded: ReturnType<typeof load> | undefined;

export function nativeScanner(): NativeScanner | undefined {
  return (loaded ??= load()).scanner;
}

/** One line for logs and the benchmark: what scans use. */
export function nativeScannerStatus(): string {
  return (loaded ??= load()).status;
}
