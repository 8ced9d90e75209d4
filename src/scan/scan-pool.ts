import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LogFileFormatError } from './records-reader';
import { tuning } from '../config/tuning';
import { DocumentTooLarge, type ObjectScan, type ScanJob } from './scan-object';

export interface ThreadRequest {
  id: number;
  /** the file's bytes, or the path of a local file for the thread to read */
  file: Uint8Array | string;
  /** the job's text, which names it in the thread's cache of scan contexts */
  jobKey: string;
  /** the job itself, sent only when the thread's cache does not hold it */
  job?: ScanJob;
}

/**
 * Scan contexts a thread keeps, by job key: every partition of a scan has the same job, so a thread builds
 * its scan context once per scan, and a job is sent to each thread once, not with every file. The pool
 * mirrors each thread's cache (a thread handles its messages in order) to know what to send.
 */
export class JobCache<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly max = 16) {}
  get(key: string): T | undefined {
    return this.entries.get(key);
  }
  set(key: string, value: T): void {
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, value);
  }
}

export type ThreadReply =
  { ready: true } | { id: number; scan: ObjectScan } | { id: number; error: { name: string; message: string; code?: string; formatError: boolean } };

/**
 * A scan thread's garbage is short-lived (strings of the few records it parses): a small young
 * generation keeps each thread ~20 MB smaller, at no measurable cost in speed.
 */
const THREAD_YOUNG_GENERATION_MB = 4;

interface Task {
  request: ThreadRequest;
  transfer: ArrayBuffer[];
  resolve(scan: ObjectScan): void;
  reject(error: Error): void;
}

/** The compiled thread script; under ts-jest-like runners (src/*.ts) the build's copy in dist/. */
function threadScript(): string | undefined {
  const beside = join(__dirname, 'scan-thread.js');
  if (existsSync(beside)) return beside;
  const built = resolve(__dirname, '..', '..', 'dist', 'scan', 'scan-thread.js');
  return existsSync(built) ? built : undefined;
}

function rebuildError(error: { name: string; message: string; code?: string; formatError: boolean }): Error {
  if (error.formatError) return new LogFileFormatError(error.message);
  if (error.name === 'DocumentTooLarge') return new DocumentTooLarge(error.message);
  return Object.assign(new Error(error.message), { name: error.name, code: error.code });
}

/**
 * Files each thread holds at once: the one it scans and the next, waiting in its message port, so a
 * thread never idles while the main thread (busy with Temporal, or not scheduled on a full machine)
 * gets round to its reply.
 */
const FILES_PER_THREAD = 2;

/**
 * A fixed set of scan threads shared by every activity of the process; each file goes to the thread
 * with the fewest files in hand. Threads start on first use and do not keep the process alive while idle.
 */
export class ScanPool {
  private readonly queue: Task[] = [];
  /** each live thread's files in the order sent (a thread answers in that order) */
  private readonly inHand = new Map<Worker, Task[]>();
  /** the jobs each thread holds (a mirror of its JobCache) */
  private readonly jobsHeld = new Map<Worker, JobCache<true>>();
  private readonly jobKeys = new WeakMap<ScanJob, string>();
  private nextId = 0;
  private readonly starting = new Map<Worker, () => void>();

  constructor(
    readonly size: number,
    private readonly script: string,
  ) {}

  /** How many files the pool takes at once without queueing them. */
  get capacity(): number {
    return this.size * FILES_PER_THREAD;
  }

  /** Scans a file's bytes, or the local file at a path (read by the thread). */
  scan(file: Buffer | string, job: ScanJob): Promise<ObjectScan> {
    let payload: Uint8Array | string = file;
    const transfer: ArrayBuffer[] = [];
    if (typeof file !== 'string') {
      // a Buffer may share its ArrayBuffer with others (Node's pool for small ones): transfer only memory
      // it owns whole, else a copy in memory of its own (Buffer.from would copy into the pool again)
      const owned = file.byteOffset === 0 && file.byteLength === file.buffer.byteLength && file.buffer instanceof ArrayBuffer;
      const bytes = owned ? file : new Uint8Array(file);
      payload = bytes;
      transfer.push(bytes.buffer as ArrayBuffer);
    }
    return new Promise((resolve, reject) => {
      let jobKey = this.jobKeys.get(job);
      if (jobKey === undefined) this.jobKeys.set(job, (jobKey = JSON.stringify(job)));
      this.queue.push({ request: { id: this.nextId++, file: payload, jobKey, job }, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Starts every thread and waits until each has loaded its code, so no scan pays for that. */
  async warm(): Promise<void> {
    const ready: Promise<void>[] = [];
    while (this.inHand.size < this.size) {
      const thread = this.start();
      thread.ref(); // until it is ready: waiting for it is what keeps the process alive
      ready.push(new Promise((resolve) => this.starting.set(thread, resolve)));
    }
    await Promise.all(ready);
  }

  async close(): Promise<void> {
    const threads = [...this.inHand.keys()];
    this.inHand.clear();
    this.jobsHeld.clear();
    await Promise.all(threads.map((thread) => thread.terminate()));
  }

  /** The live thread with the fewest files in hand, while it has room; a new one while there are fewer than size. */
  private freeThread(): Worker | undefined {
    let best: Worker | undefined;
    for (const [thread, tasks] of this.inHand) {
      if (tasks.length === 0) return thread;
      if (tasks.length < FILES_PER_THREAD && (!best || tasks.length < this.inHand.get(best)!.length)) best = thread;
    }
    if (this.inHand.size < this.size) return this.start();
    return best;
  }

  private dispatch(): void {
    while (this.queue.length) {
      const thread = this.freeThread();
      if (!thread) return;
      const task = this.queue.shift()!;
      this.inHand.get(thread)!.push(task);
      thread.ref();
      const held = this.jobsHeld.get(thread)!;
      const { job, ...request } = task.request;
      if (held.get(request.jobKey)) thread.postMessage(request, task.transfer);
      else {
        held.set(request.jobKey, true);
        thread.postMessage({ ...request, job }, task.transfer);
      }
    }
  }

  private start(): Worker {
    const thread = new Worker(this.script, { resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB } });
    this.inHand.set(thread, []);
    this.jobsHeld.set(thread, new JobCache());
    thread.on('message', (reply: ThreadReply) => {
      const tasks = this.inHand.get(thread);
      if ('ready' in reply) {
        if (!tasks?.length) thread.unref();
        this.starting.get(thread)?.();
        this.starting.delete(thread);
        return;
      }
      const task = tasks?.shift();
      if (tasks && !tasks.length) thread.unref();
      if (task) {
        if ('scan' in reply) task.resolve(reply.scan);
        else task.reject(rebuildError(reply.error));
      }
      this.dispatch();
    });
    // a thread that dies (out of memory, a crash) fails its file; the next files get a new thread
    thread.on('error', (error) => this.lose(thread, error));
    thread.on('exit', (code) => this.lose(thread, new Error(`scan thread exited with code ${code}`)));
    thread.unref(); // after the listeners: adding a 'message' listener refs the thread again
    return thread;
  }

  private lose(thread: Worker, error: Error): void {
    const tasks = this.inHand.get(thread);
    if (!tasks) return;
    this.inHand.delete(thread);
    this.jobsHeld.delete(thread);
    this.starting.get(thread)?.();
    this.starting.delete(thread);
    // the file being scanned fails; the ones waiting behind it go to another thread
    const [scanning, ...waiting] = tasks;
    this.queue.unshift(...waiting);
    scanning?.reject(error);
    this.dispatch();
  }
}

let shared: ScanPool | null | undefined;

/**
 * The process's scan pool: TRAILWARDEN_SCAN_THREADS threads (default: one per core); none when that
 * is 0 or the compiled thread script is missing, and files are then scanned on the calling thread.
 */
export function sharedScanPool(): ScanPool | undefined {
  if (shared === undefined) {
    const size = tuning('TRAILWARDEN_SCAN_THREADS', availableParallelism());
    const script = threadScript();
    shared = size > 0 && script ? new ScanPool(size, script) : null;
  }
  return shared ?? undefined;
}
