import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LogFileFormatError } from '../cloudtrail/records-reader';
import { tuning } from '../config/tuning';
import { DocumentTooLarge, type ObjectScan, type ScanJob } from './scan-object';

export interface ThreadRequest {
  id: number;
  /** the file's bytes, or the path of a local file for the thread to read */
  file: Uint8Array | string;
  job: ScanJob;
}

export type ThreadReply =
  | { ready: true }
  | { id: number; scan: ObjectScan }
  | { id: number; error: { name: string; message: string; code?: string; formatError: boolean } };

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
  const built = resolve(__dirname, '..', '..', 'dist', 'activities', 'scan-thread.js');
  return existsSync(built) ? built : undefined;
}

function rebuildError(error: { name: string; message: string; code?: string; formatError: boolean }): Error {
  if (error.formatError) return new LogFileFormatError(error.message);
  if (error.name === 'DocumentTooLarge') return new DocumentTooLarge(error.message);
  return Object.assign(new Error(error.message), { name: error.name, code: error.code });
}

/**
 * A fixed set of scan threads shared by every activity of the process; each file goes to the next
 * free thread. Threads start on first use and do not keep the process alive while idle.
 */
export class ScanPool {
  private readonly idle: Worker[] = [];
  private readonly queue: Task[] = [];
  private readonly running = new Map<Worker, Task>();
  private threads = 0;
  private nextId = 0;
  private readonly starting = new Map<Worker, () => void>();

  constructor(
    readonly size: number,
    private readonly script: string,
  ) {}

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
      this.queue.push({ request: { id: this.nextId++, file: payload, job }, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Starts every thread and waits until each has loaded its code, so no scan pays for that. */
  async warm(): Promise<void> {
    const ready: Promise<void>[] = [];
    while (this.threads < this.size) {
      const thread = this.start();
      thread.ref(); // until it is ready: waiting for it is what keeps the process alive
      ready.push(new Promise((resolve) => this.starting.set(thread, resolve)));
      this.idle.push(thread);
    }
    await Promise.all(ready);
  }

  async close(): Promise<void> {
    const threads = [...this.idle, ...this.running.keys()];
    this.idle.length = 0;
    await Promise.all(threads.map((thread) => thread.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length) {
      const thread = this.idle.pop() ?? (this.threads < this.size ? this.start() : undefined);
      if (!thread) return;
      const task = this.queue.shift()!;
      this.running.set(thread, task);
      thread.ref();
      thread.postMessage(task.request, task.transfer);
    }
  }

  private start(): Worker {
    const thread = new Worker(this.script, { resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB } });
    this.threads++;
    thread.on('message', (reply: ThreadReply) => {
      if ('ready' in reply) {
        if (!this.running.has(thread)) thread.unref();
        this.starting.get(thread)?.();
        this.starting.delete(thread);
        return;
      }
      const task = this.running.get(thread);
      this.running.delete(thread);
      thread.unref();
      this.idle.push(thread);
      if (task) {
        if ('scan' in reply) task.resolve(reply.scan);
        else task.reject(rebuildError(reply.error));
      }
      this.dispatch();
    });
    // a thread that dies (out of memory, a crash) fails its file; the next file gets a new thread
    thread.on('error', (error) => this.lose(thread, error));
    thread.on('exit', (code) => this.lose(thread, new Error(`scan thread exited with code ${code}`)));
    thread.unref(); // after the listeners: adding a 'message' listener refs the thread again
    return thread;
  }

  private lose(thread: Worker, error: Error): void {
    const task = this.running.get(thread);
    this.running.delete(thread);
    const at = this.idle.indexOf(thread);
    if (at >= 0) this.idle.splice(at, 1);
    else if (!task) return;
    this.threads--;
    this.starting.get(thread)?.();
    this.starting.delete(thread);
    task?.reject(error);
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
