/**
 * A scan thread: inflates and scans whole log files sent by ScanPool, so that a worker uses every
 * core while its main thread keeps talking to Temporal and the sources.
 */
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { LogFileFormatError } from './records-reader';
import { type ScanContext, type ScanJob, scanContext, scanObjectBytes } from './scan-object';
import { JobCache, type ThreadReply, type ThreadRequest } from './scan-pool';

const contexts = new JobCache<ScanContext>();

/** The scan context of a job: built when the job comes with the request, else the one the pool knows this thread holds. */
function contextFor(key: string, job: ScanJob | undefined): ScanContext {
  if (job) contexts.set(key, scanContext(job));
  const context = contexts.get(key);
  if (!context) throw new Error('scan thread: a job was neither sent nor held');
  return context;
}

parentPort?.on('message', ({ id, file, jobKey, job }: ThreadRequest) => {
  let reply: ThreadReply;
  try {
    const context = contextFor(jobKey, job);
    const bytes = typeof file === 'string' ? readFileSync(file) : Buffer.from(file.buffer, file.byteOffset, file.byteLength);
    reply = { id, scan: scanObjectBytes(bytes, context) };
  } catch (error) {
    const { name, message, code } = error as Error & { code?: string };
    reply = { id, error: { name, message, code, formatError: error instanceof LogFileFormatError } };
  }
  parentPort?.postMessage(reply);
});

parentPort?.postMessage({ ready: true } satisfies ThreadReply);
