import { continueAsNew, defineQuery, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { ScanConfig } from '../config/load';
import { daysBetween } from '../common/days';
import { inLanes } from '../common/lanes';
import { type DayOutcome, scanOneDay } from './scan-days';

export interface RangeScanInput {
  from: string;
  to: string;
  config: ScanConfig;
  /** daily scans running at once (default 3) */
  concurrency?: number;
  indexed?: boolean;
  /** continue as new after this many days in one run, to keep every history small (default 30) */
  daysPerRun?: number;
  /** carried over by continue-as-new */
  done?: DayOutcome[];
}

export interface RangeProgress {
  from: string;
  to: string;
  daysTotal: number;
  daysDone: number;
  findings: number;
  failedDays: string[];
  running: string[];
}

export interface RangeScanResult {
  from: string;
  to: string;
  days: DayOutcome[];
  findings: number;
  failedDays: DayOutcome[];
  runs: number;
}

export const rangeProgressQuery = defineQuery<RangeProgress>('progress');

/**
 * A manual re-run of an inclusive range of days: each day's DailyScanWorkflow runs as a child
 * ("scan-<date>"), a bounded number at a time. Continues as new every `daysPerRun` days.
 */
export async function RangeScanWorkflow(input: RangeScanInput): Promise<RangeScanResult> {
  const all = daysBetween(input.from, input.to);
  const done = [...(input.done ?? [])];
  const running = new Set<string>();
  const progress = (): RangeProgress => ({
    from: input.from,
    to: input.to,
    daysTotal: all.length,
    daysDone: done.length,
    findings: done.reduce((n, d) => n + d.findings, 0),
    failedDays: done.filter((d) => d.status === 'Failed').map((d) => d.date),
    running: [...running].sort(),
  });
  setHandler(rangeProgressQuery, progress);

  const remaining = all.slice(done.length);
  const batch = remaining.slice(0, input.daysPerRun ?? 30);
  const concurrency = input.concurrency ?? 3;
  await inLanes(batch, concurrency, async (date) => {
    running.add(date);
    const outcome = await scanOneDay(date, input.config, input.indexed ?? false);
    running.delete(date);
    done.push(outcome);
    setCurrentDetails(`${done.length} of ${all.length} day(s) scanned, ${progress().findings} finding(s)`);
  });

  if (done.length < all.length) {
    done.sort((a, b) => a.date.localeCompare(b.date));
    await continueAsNew<typeof RangeScanWorkflow>({ ...input, done });
  }
  done.sort((a, b) => a.date.localeCompare(b.date));
  return {
    from: input.from,
    to: input.to,
    days: done,
    findings: done.reduce((n, d) => n + d.findings, 0),
    failedDays: done.filter((d) => d.status === 'Failed'),
    runs: Math.ceil(all.length / (input.daysPerRun ?? 30)) || 1,
  };
}

/** The range workflow's id: one range re-run of the same days at a time. */
export function rangeWorkflowId(from: string, to: string): string {
  return `scan-range-${from}-${to}`;
}
