import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeChild, sleep } from '@temporalio/workflow';
import type { ScanConfig } from '../config/load';
import type { ScanSummary } from '../activities/types';
import type { DailyScanWorkflow } from './daily-scan';
import { failureMessage } from '../common/failure';
import { inLanes } from '../common/lanes';

export interface DayOutcome {
  date: string;
  findings: number;
  status: 'Completed' | 'Partial' | 'Failed';
  error?: string;
}

/**
 * Runs the daily scan of one day as a child workflow "scan-<date>". When a scan of that day is
 * already running (a schedule, another re-run), waits for it to finish and then scans again, so
 * the day is always scanned with this run's configuration; finding ids keep the store free of copies.
 */
export async function scanOneDay(date: string, config: ScanConfig, indexed: boolean): Promise<DayOutcome> {
  for (let waited = 0; ; waited++) {
    try {
      const summary: ScanSummary = await executeChild<typeof DailyScanWorkflow>('DailyScanWorkflow', {
        workflowId: `scan-${date}`,
        args: [{ date, config, indexed }],
        staticSummary: `Daily scan of ${date}`,
      });
      return { date, findings: summary.findings, status: summary.failedPartitions.length ? 'Partial' : 'Completed' };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError && waited < 240) {
        await sleep('15 seconds');
        continue;
      }
      return { date, findings: 0, status: 'Failed', error: failureMessage(error) };
    }
  }
}

/** Scans the days with at most `concurrency` children at a time, in order; calls `onDone` as each ends. */
export async function scanDays(
  days: readonly string[],
  config: ScanConfig,
  options: { concurrency: number; indexed: boolean; onDone?: (outcome: DayOutcome) => void },
): Promise<DayOutcome[]> {
  return inLanes(days, options.concurrency, async (date) => {
    const outcome = await scanOneDay(date, config, options.indexed);
    options.onDone?.(outcome);
    return outcome;
  });
}
