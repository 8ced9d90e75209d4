import { setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { ScanConfig } from '../config/load';
import { shiftDay } from '../common/days';
import { type DayOutcome, scanDays } from './scan-days';
import { TemporalScheduledStartTime } from './search-attributes';

export interface ScheduledScanInput {
  config: ScanConfig;
  /** also re-scan this many days before the scanned day, for files CloudTrail delivered late (default 1) */
  rescanDays?: number;
  indexed?: boolean;
}

export interface ScheduledScanResult {
  scheduledFor: string;
  days: DayOutcome[];
}

/**
 * What the daily Schedule starts: scans the UTC day before the run's scheduled time (not the wall
 * clock, so backfills and late runs scan the right day), then re-scans the `rescanDays` days before it.
 */
export async function ScheduledScanWorkflow(input: ScheduledScanInput): Promise<ScheduledScanResult> {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(TemporalScheduledStartTime) ?? info.startTime;
  const day = shiftDay(scheduled.toISOString().slice(0, 10), -1);
  const days = [day];
  for (let i = 1; i <= (input.rescanDays ?? 1); i++) days.push(shiftDay(day, -i));
  setCurrentDetails(`scheduled for ${scheduled.toISOString()}: scanning ${days.join(', ')}`);
  const outcomes = await scanDays(days, input.config, { concurrency: days.length, indexed: input.indexed ?? false });
  return { scheduledFor: scheduled.toISOString(), days: outcomes };
}
