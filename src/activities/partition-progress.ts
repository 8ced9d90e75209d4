import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { keySegment } from '../store/blob-store';
import type { SkippedItem } from '../sources/log-object';
import { scratchPath, storedLines } from './scratch';
import type { PartitionResult, PartitionSpec, PartitionStats, ScanStore } from './types';

const SKIPPED_KEPT = 50;

/** What a partition activity heartbeats: its counts and how much of its scratch file is final. */
export interface ProgressCheckpoint<Position> {
  position: Position;
  scratchBytes: number;
  selectedLines: number;
  stats: PartitionStats;
  skipped: SkippedItem[];
  skippedCount: number;
}

/**
 * The selected events and counts of one partition activity, written to a scratch file as it goes,
 * so that a retried attempt can resume from the last heartbeat instead of starting over.
 */
export class PartitionProgress<Position> {
  readonly resumed: boolean;
  readonly state: ProgressCheckpoint<Position>;
  private readonly file: string;
  private fd: number | undefined;

  constructor(
    private readonly scanId: string,
    private readonly partition: Pick<PartitionSpec, 'id' | 'label'>,
    start: Position,
    previous: ProgressCheckpoint<Position> | undefined,
  ) {
    this.file = scratchPath(scanId, `selected-${partition.id}`);
    this.resumed = previous !== undefined && existsSync(this.file) && statSync(this.file).size >= previous.scratchBytes;
    if (this.resumed && previous) {
      this.state = previous;
      truncateSync(this.file, previous.scratchBytes);
    } else {
      this.state = {
        position: start,
        scratchBytes: 0,
        selectedLines: 0,
        stats: { objects: 0, records: 0, parsed: 0, selected: 0, bytes: 0, malformedRecords: 0 },
        skipped: [],
        skippedCount: 0,
      };
      writeFileSync(this.file, '');
    }
  }

  /** Record lines (src/rules/selection.ts: RecordLine) and how many rule selections they hold. */
  append(lines: readonly string[], selected: number): void {
    if (!lines.length) return;
    const text = Buffer.from(`${lines.join('\n')}\n`);
    this.fd ??= openSync(this.file, 'a');
    for (let written = 0; written < text.length;) written += writeSync(this.fd, text, written);
    this.state.scratchBytes += text.length;
    this.state.selectedLines += lines.length;
    this.state.stats.selected += selected;
  }

  skip(item: SkippedItem): void {
    this.state.skippedCount++;
    if (this.state.skipped.length < SKIPPED_KEPT) this.state.skipped.push(item);
  }

  /** Closes the scratch file; the activity calls it whether it succeeds or fails. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * The partition's result: its lines inline when small, else in the scan's blob store (read as bytes,
   * never as one string); the scratch file goes once they are safe.
   */
  async finish(store: ScanStore | undefined): Promise<PartitionResult> {
    this.close();
    const bytes = existsSync(this.file) ? readFileSync(this.file) : Buffer.alloc(0);
    const selected = await storedLines(store, this.scanId, `selected/${keySegment(this.partition.id)}.jsonl`, this.state.selectedLines, bytes);
    rmSync(this.file, { force: true });
    return {
      partitionId: this.partition.id,
      label: this.partition.label,
      selected,
      stats: this.state.stats,
      skipped: this.state.skipped,
      skippedCount: this.state.skippedCount,
      resumedFromCheckpoint: this.resumed,
    };
  }
}
