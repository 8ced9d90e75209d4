import { type ChildProcess, spawn } from 'node:child_process';
import { BIN, ROOT } from './cli';

export interface BoundedResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** stderr's non-empty lines */
  lines: string[];
}

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** resolves when stderr matches, rejects after `ms` */
  waitFor: (pattern: RegExp, ms: number) => Promise<void>;
  done: Promise<BoundedResult>;
}

/**
 * Starts the built CLI as a user runs it, bounded: after `timeoutMs` it is killed (SIGKILL) and the
 * result says so (`signal`), so that a hang fails its test instead of the whole run.
 */
export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; bin?: string } = {}): Running {
  const started = Date.now();
  const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of watchers.splice(0)) {
      if (w.pattern.test(stderr)) w.resolve();
      else watchers.push(w);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
  const done = new Promise<BoundedResult>((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr, ms: Date.now() - started, lines: stderr.split('\n').filter((l) => l.trim()) });
    });
  });
  const waitFor = (pattern: RegExp, ms: number) =>
    new Promise<void>((resolveWait, reject) => {
      if (pattern.test(stderr)) return resolveWait();
      const t = setTimeout(() => reject(new Error(`stderr did not match ${pattern} within ${ms} ms:\n${stderr}`)), ms);
      watchers.push({ pattern, resolve: () => (clearTimeout(t), resolveWait()) });
    });
  return { child, stdout: () => stdout, stderr: () => stderr, waitFor, done };
}

export function runBounded(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; bin?: string } = {}): Promise<BoundedResult> {
  return startCli(args, options).done;
}

/** No stack trace and no raw worker log dump reached the terminal. */
export function expectNoDump(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(stderr).not.toMatch(/\[WARN\]|\[ERROR\]|sdkComponent|taskToken/);
}
