import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DefaultLogger, type LogEntry, type LogLevel, Runtime } from '@temporalio/worker';

export type LogMode =
  /** everything at TRAILWARDEN_LOG_LEVEL (default INFO) on stderr */
  | 'verbose'
  /** worker and server logs to a file; on the terminal at most one line per distinct warning */
  | 'quiet'
  /** a long-running worker (dev, worker): like quiet, and activity failures shown once per distinct error */
  | 'worker';

let logFile: string | undefined;

/** The log file of this command's worker and dev server, once logging is installed in a quiet mode. */
export function currentLogFile(): string | undefined {
  return logFile;
}

/** Where this command's logs go: $TRAILWARDEN_LOG_FILE, else a new file under the OS temp folder. */
function logFileFor(command: string): string {
  const file =
    process.env.TRAILWARDEN_LOG_FILE ?? join(tmpdir(), 'trailwarden-logs', `${command}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  mkdirSync(dirname(file), { recursive: true });
  return file;
}

export function appendLog(text: string): void {
  if (!logFile) return;
  try {
    appendFileSync(logFile, text);
  } catch {
    // a log file that cannot be written must not break the command
  }
}

function errorText(meta: Record<string, unknown> | undefined): string {
  const error = meta?.error as { message?: string; type?: string; name?: string } | undefined;
  if (!error) return '';
  return String(error.message ?? error).replace(/\s+/g, ' ');
}

function metaText(meta: Record<string, unknown> | undefined): string {
  if (!meta) return '';
  try {
    return ` ${JSON.stringify(meta, (_key, value) => (value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : typeof value === 'bigint' ? String(value) : value))}`;
  } catch {
    return '';
  }
}

const LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/**
 * Installs the Temporal runtime's logger for this command. Quiet modes write every entry to a log
 * file and show a warning on the terminal only the first time it is seen; repeats are counted and
 * summarised ("… 10 times so far"). Activity failures, which the waiting CLI reports with their cause,
 * reach the terminal only in `worker` mode.
 */
export function installLogging(mode: LogMode, command: string): void {
  const level = ((process.env.TRAILWARDEN_LOG_LEVEL ?? '').toUpperCase() as LogLevel) || undefined;
  if (mode === 'verbose') {
    Runtime.install({ logger: new DefaultLogger(level && LEVELS.includes(level) ? level : 'INFO') });
    return;
  }
  logFile = logFileFor(command);
  const seen = new Map<string, number>();
  const fileLevel = level && LEVELS.includes(level) ? level : 'INFO';
  const logger = new DefaultLogger(fileLevel, (entry: LogEntry) => {
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    appendLog(`${time} [${entry.level}] ${entry.message}${metaText(entry.meta)}\n`);
    if (entry.level !== 'WARN' && entry.level !== 'ERROR') return;
    const activityFailure = /^Activity failed/.test(entry.message);
    // the waiting CLI reports a run's retries and its failure with their causes
    if ((activityFailure || /^Workflow failed/.test(entry.message)) && mode !== 'worker') return;
    const meta = entry.meta as Record<string, unknown> | undefined;
    const what = activityFailure ? `activity ${String(meta?.activityType ?? '')} failed` : entry.message;
    const key = `${what}\u0000${errorText(meta)}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    if (count === 1) {
      const detail = errorText(meta);
      process.stderr.write(
        `trailwarden: worker ${entry.level.toLowerCase()}: ${what}${detail ? `: ${detail}` : ''} (repeats are not shown; log: ${logFile})\n`,
      );
    } else if (count === 10 || count === 100 || count % 1000 === 0) {
      process.stderr.write(`trailwarden: worker ${entry.level.toLowerCase()}: ${what}: the same error ${count} times so far\n`);
    }
  });
  Runtime.install({ logger });
}
