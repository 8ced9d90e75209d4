import { type Client, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { ScanConfig } from '../config/load';
import { UsageError } from '../config/load';
import type { ScheduledScanResult, ScheduledScanWorkflow } from '../workflows/scheduled-scan';
import { shiftDay } from '../common/days';
import type { DayOutcome } from '../workflows/scan-days';
import { describeFailure } from './failure';
import type { TemporalTarget } from './temporal';
import { searchAttributesRegistered } from './visibility';

export const DEFAULT_SCHEDULE_ID = 'trailwarden-daily';

export interface ScheduleCreateOptions {
  id: string;
  at: string;
  rescanDays: number;
  catchupWindowMs: number;
  overlap: keyof typeof ScheduleOverlapPolicy;
  pauseOnFailure: boolean;
  paused: boolean;
}

export function parseTimeOfDay(text: string): { hour: number; minute: number } {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!match) throw new UsageError(`--at "${text}" is not a UTC time of day such as 02:00`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/**
 * Creates the daily scan's Temporal Schedule: at a UTC time every day, ScheduledScanWorkflow scans
 * the previous UTC day (derived from the scheduled time) and re-scans `rescanDays` days before it.
 */
export async function createSchedule(client: Client, target: TemporalTarget, config: ScanConfig, options: ScheduleCreateOptions): Promise<string> {
  const { hour, minute } = parseTimeOfDay(options.at);
  const indexed = await searchAttributesRegistered(client, target.namespace);
  const handle = await client.schedule.create<typeof ScheduledScanWorkflow>({
    scheduleId: options.id,
    spec: { calendars: [{ hour, minute, comment: `daily at ${options.at} UTC` }], timezone: 'UTC' },
    action: {
      type: 'startWorkflow',
      workflowType: 'ScheduledScanWorkflow',
      workflowId: `scheduled-scan-${options.id}`,
      taskQueue: target.taskQueue,
      args: [{ config, rescanDays: options.rescanDays, indexed }],
      staticSummary: `Scheduled daily scan (${options.id})`,
    },
    policies: {
      catchupWindow: options.catchupWindowMs,
      overlap: ScheduleOverlapPolicy[options.overlap],
      pauseOnFailure: options.pauseOnFailure,
    },
    state: { paused: options.paused, note: `created by trailwarden: daily at ${options.at} UTC, rescanning ${options.rescanDays} day(s)` },
  });
  return handle.scheduleId;
}

function handleOf(client: Client, id: string) {
  return client.schedule.getHandle(id);
}

async function orNotFound<T>(id: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new UsageError(`schedule "${id}" does not exist (create it with: trailwarden schedule create)`);
    throw error;
  }
}

export interface ScheduleView {
  id: string;
  paused: boolean;
  note?: string;
  spec: string;
  overlap: string;
  catchupWindowMs: number;
  pauseOnFailure: boolean;
  nextRuns: string[];
  recentRuns: RecentRun[];
  runningWorkflowIds: string[];
}

export interface RecentRun {
  scheduledAt: string;
  workflowId: string;
  runId?: string;
  /** the UTC day the run scanned: the day before its scheduled time */
  scannedDay: string;
  /** Running, Completed, Failed, … */
  status?: string;
  /** each day it scanned (the day, then the re-scanned ones), once it completed */
  days?: DayOutcome[];
}

/** The outcome of one scheduled run: its status and, once completed, each scanned day's. */
async function outcomeOf(client: Client, workflowId: string, runId: string): Promise<Pick<RecentRun, 'status' | 'days'>> {
  try {
    const handle = client.workflow.getHandle(workflowId, runId);
    const status = (await handle.describe()).status.name;
    const pretty = status.charAt(0) + status.slice(1).toLowerCase().replace(/_/g, ' ');
    if (status === 'FAILED') {
      // a run that failed as a whole: its root cause, as the CLI's failure line gives it
      const cause = await handle.result().then(
        () => '',
        (error: unknown) =>
          describeFailure('run', error)
            .replace(/^run failed/, '')
            .replace(/^: /, ''),
      );
      return { status: cause ? `Failed: ${cause.replace(/^ in /, 'in ')}` : pretty };
    }
    if (status !== 'COMPLETED') return { status: pretty };
    return { status: pretty, days: ((await handle.result()) as ScheduledScanResult).days };
  } catch {
    return { status: 'unknown' };
  }
}

export async function describeSchedule(client: Client, id: string): Promise<ScheduleView> {
  return orNotFound(id, async () => {
    const d = await handleOf(client, id).describe();
    const calendars = d.spec.calendars ?? [];
    return {
      id,
      paused: d.state.paused,
      note: d.state.note,
      spec: calendars.map((c) => c.comment ?? JSON.stringify(c)).join('; '),
      overlap: d.policies.overlap ?? 'SKIP',
      catchupWindowMs: d.policies.catchupWindow,
      pauseOnFailure: d.policies.pauseOnFailure,
      nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
      recentRuns: await Promise.all(
        d.info.recentActions.slice(-10).map(async (a): Promise<RecentRun> => ({
          scheduledAt: a.scheduledAt.toISOString(),
          workflowId: a.action.workflow.workflowId,
          runId: a.action.workflow.firstExecutionRunId,
          scannedDay: shiftDay(a.scheduledAt.toISOString().slice(0, 10), -1),
          ...(await outcomeOf(client, a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId)),
        })),
      ),
      runningWorkflowIds: d.info.runningActions.map((a) => a.workflow.workflowId),
    };
  });
}

export async function pauseSchedule(client: Client, id: string, note?: string): Promise<void> {
  await orNotFound(id, () => handleOf(client, id).pause(note));
}

export async function unpauseSchedule(client: Client, id: string, note?: string): Promise<void> {
  await orNotFound(id, () => handleOf(client, id).unpause(note));
}

export async function triggerSchedule(client: Client, id: string): Promise<void> {
  await orNotFound(id, () => handleOf(client, id).trigger(ScheduleOverlapPolicy.ALLOW_ALL));
}

export async function deleteSchedule(client: Client, id: string): Promise<void> {
  await orNotFound(id, () => handleOf(client, id).delete());
}

/**
 * Backfills the schedule so that the days `from`..`to` are each scanned once: the run scheduled on
 * day D+1 scans day D, so the backfill covers the scheduled times of from+1 .. to+1. Runs are buffered
 * and run one after another.
 */
export async function backfillSchedule(client: Client, id: string, from: string, to: string): Promise<void> {
  const start = new Date(`${shiftDay(from, 1)}T00:00:00Z`);
  const end = new Date(Date.parse(`${shiftDay(to, 2)}T00:00:00Z`) - 1000);
  await orNotFound(id, () => handleOf(client, id).backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL }));
}
