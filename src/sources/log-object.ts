/** One log file of a source, opened lazily so a scan holds one body at a time. */
export interface LogObject {
  key: string;
  size: number;
  open(): Promise<AsyncIterable<Uint8Array>>;
  /** A local file's path: a scan thread reads it itself, sparing the main thread the I/O. */
  path?: string;
}

/** A log file the scan saw but did not use, with the reason, for the scan summary. */
export interface SkippedItem {
  source: string;
  key: string;
  reason: string;
}
