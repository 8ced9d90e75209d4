/** One log file of a source, opened lazily so a scan holds one body at a time. */
export interface LogObject {
  key: string;
  size: number;
  open(): Promise<AsyncIterable<Uint8Array>>;
  /** The whole body at once, where the source has a cheaper way than collecting open()'s chunks. */
  read?(): Promise<Buffer>;
}

/** A log file the scan saw but did not use, with the reason, for the scan summary. */
export interface SkippedItem {
  source: string;
  key: string;
  reason: string;
}
