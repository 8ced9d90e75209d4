/**
 * A scan thread: inflates and scans whole log files sent by ScanPool, so that a worker uses every
 * core while its main thread keeps talking to Temporal and the sources.
 */
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { LogFileFormatError } from '../cloudtrail/records-reader';
import { type ObjectScanner, type ScanJob, objectScanner, scanObjectBytes } from './scan-object';
import type { ThreadReply, ThreadRequest } from './scan-pool';

const scanners = new Map<string, ObjectScanner>();

function scannerFor(job: ScanJob): ObjectScanner {
  const key = JSON.stringify(job);
  let scanner = scanners.get(key);
  if (!scanner) {
    if (scanners.size > 16) scanners.clear();
    scanner = objectScanner(job);
    scanners.set(key, scanner);
  }
  return scanner;
}

parentPort?.on('message', ({ id, file, job }: ThreadRequest) => {
  let reply: ThreadReply;
  try {
    const bytes = typeof file === 'string' ? readFileSync(file) : Buffer.from(file.buffer, file.byteOffset, file.byteLength);
    reply = { id, scan: scanObjectBytes(bytes, scannerFor(job)) };
  } catch (error) {
    const { name, message, code } = error as Error & { code?: string };
    reply = { id, error: { name, message, code, formatError: error instanceof LogFileFormatError } };
  }
  parentPort?.postMessage(reply);
});

parentPort?.postMessage({ ready: true } satisfies ThreadReply);
