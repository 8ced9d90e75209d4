/**
 * A worker's tuning, from its environment. createWorker checks them when the worker starts, so that a
 * bad value exits 2 naming the variable instead of silently meaning the default.
 */
import { UsageError } from './load';

const TUNING = {
  /** scan threads per worker process; 0 scans on the main thread (default: one per core) */
  TRAILWARDEN_SCAN_THREADS: { min: 0, max: 256 },
  /** least milliseconds between two checkpoints of one partition (default 100) */
  TRAILWARDEN_HEARTBEAT_MS: { min: 0, max: 60_000 },
  /** bytes of record lines a partition or batch returns inline; more go to the scan's blob store (default 65536) */
  TRAILWARDEN_INLINE_LINES_BYTES: { min: 0, max: 2_000_000_000 },
  /** seconds a notification the watch received stays invisible to other receivers before it comes back (default 120) */
  TRAILWARDEN_WATCH_VISIBILITY_S: { min: 1, max: 43_200 },
} as const;

export type TuningName = keyof typeof TUNING;

function parse(name: TuningName): number | undefined {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  const { min, max } = TUNING[name];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name}="${text}" is not a whole number from ${min} to ${max}`);
  }
  return value;
}

/** The variable's value, or fallback when it is unset (or invalid: createWorker refuses to start then). */
export function tuning(name: TuningName, fallback: number): number {
  try {
    return parse(name) ?? fallback;
  } catch {
    return fallback;
  }
}

/** Throws UsageError for the first tuning variable that is set to something unusable. */
export function checkTuningEnvironment(): void {
  for (const name of Object.keys(TUNING) as TuningName[]) parse(name);
  const native = process.env.TRAILWARDEN_NATIVE;
  if (native !== undefined && native !== '' && native !== '0' && native !== '1') {
    throw new UsageError(`TRAILWARDEN_NATIVE="${native}" must be 0 (zlib and JavaScript searches) or 1 (the native scanner, when built)`);
  }
}
