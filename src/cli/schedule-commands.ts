import { type Client, ScheduleAlreadyRunning } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { LoadedConfig } from '../config/load';
import { parseIsoDuration } from '../config/duration';
import { parseScanDate } from './dates';
import {
  DEFAULT_SCHEDULE_ID,
  backfillSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  parseTimeOfDay,
  pauseSchedule,
  triggerSchedule,
  unpauseSchedule,
} from './schedule';
import { scanConfigOf } from './scan';
import { connectClient, temporalTarget } from './temporal';
import { UsageError, checkPathsForRemote } from '../config/load';

function isoDuration(option: string, value: string): number {
  try {
    return parseIsoDuration(value);
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message}`);
  }
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
}

/** `trailwarden schedule create|describe|pause|unpause|trigger|backfill|delete`: the daily scan's Temporal Schedule. */
export function registerScheduleCommands(program: Command, configOf: (command: Command) => LoadedConfig): void {
  const schedule = program.command('schedule').description("manage the daily scan's Temporal Schedule");
  const idOption = () => new Option('--id <scheduleId>', 'schedule id').default(DEFAULT_SCHEDULE_ID);
  const withClient = async (command: Command, work: (client: Client, config: LoadedConfig) => Promise<void>) => {
    const config = configOf(command);
    const { client, close } = await connectClient(temporalTarget(config));
    try {
      await work(client, config);
    } finally {
      await close();
    }
  };

  schedule
    .command('create')
    .description('create the schedule: every day at --at (UTC), scan the previous UTC day and re-scan --rescan-days before it')
    .addOption(idOption())
    .option('--at <HH:MM>', 'UTC time of day', '02:00')
    .addOption(new Option('--rescan-days <n>', 'days before the scanned day to scan again, for late files').default(1).argParser(wholeNumber))
    .addOption(new Option('--catchup-window <duration>', 'how late a missed run may still start (ISO-8601)').default('P1D'))
    .addOption(
      new Option('--overlap <policy>', 'when a run is still going at the next time')
        .choices(['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'TERMINATE_OTHER', 'ALLOW_ALL'])
        .default('BUFFER_ONE'),
    )
    .option('--no-pause-on-failure', 'keep running after a failed scan')
    .option('--paused', 'create it paused')
    .action(
      async (
        opts: { id: string; at: string; rescanDays: number; catchupWindow: string; overlap: 'BUFFER_ONE'; pauseOnFailure: boolean; paused?: boolean },
        command: Command,
      ) => {
        parseTimeOfDay(opts.at);
        const catchupWindowMs = isoDuration('--catchup-window', opts.catchupWindow);
        await withClient(command, async (client, config) => {
          const scanConfig = scanConfigOf(config);
          const target = temporalTarget(config);
          // the schedule's runs happen on the workers, later: paths relative to this machine mean nothing there
          checkPathsForRemote(config, target.address);
          const id = await createSchedule(client, target, scanConfig, {
            id: opts.id,
            at: opts.at,
            rescanDays: opts.rescanDays,
            catchupWindowMs,
            overlap: opts.overlap,
            pauseOnFailure: opts.pauseOnFailure,
            paused: Boolean(opts.paused),
          });
          process.stdout.write(
            `created schedule ${id}: daily at ${opts.at} UTC, scanning the previous day and re-scanning ${opts.rescanDays} day(s) before it\n`,
          );
        }).catch((error: unknown) => {
          if (error instanceof ScheduleAlreadyRunning) throw new UsageError(`schedule "${opts.id}" already exists (describe it, or delete it first)`);
          throw error;
        });
      },
    );

  schedule
    .command('describe')
    .description('show the schedule: its time, state, next and recent runs')
    .addOption(idOption())
    .option('--json', 'as JSON')
    .action(async (opts: { id: string; json?: boolean }, command: Command) => {
      await withClient(command, async (client) => {
        const view = await describeSchedule(client, opts.id);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(view)}\n`);
          return;
        }
        process.stdout.write(
          [
            `schedule ${view.id}: ${view.spec}${view.paused ? ' (PAUSED)' : ''}`,
            `  overlap ${view.overlap}, catch-up window ${view.catchupWindowMs / 3_600_000} h, pause on failure ${view.pauseOnFailure}`,
            view.note ? `  note: ${view.note}` : '',
            `  next runs: ${view.nextRuns.slice(0, 3).join(', ') || 'none'}`,
            `  recent runs:${view.recentRuns.length ? '' : ' none'}`,
            ...view.recentRuns.map(
              (r) =>
                `    ${r.scheduledAt}  scanned ${r.scannedDay}: ${r.status ?? 'unknown'}` +
                (r.days?.length
                  ? ` (${r.days.map((d) => `${d.date} ${d.status}${d.status === 'Failed' ? `: ${d.error ?? ''}` : `, ${d.findings} finding(s)`}`).join('; ')})`
                  : '') +
                `  ${r.workflowId}`,
            ),
            `  running: ${view.runningWorkflowIds.join(', ') || 'none'}`,
          ]
            .filter(Boolean)
            .join('\n') + '\n',
        );
      });
    });

  for (const [name, description, run] of [
    ['pause', 'pause the schedule', pauseSchedule],
    ['unpause', 'resume the schedule', unpauseSchedule],
  ] as const) {
    schedule
      .command(name)
      .description(description)
      .addOption(idOption())
      .option('--note <text>', 'why')
      .action(async (opts: { id: string; note?: string }, command: Command) => {
        await withClient(command, (client) => run(client, opts.id, opts.note));
        process.stdout.write(`${name}d schedule ${opts.id}\n`);
      });
  }

  schedule
    .command('trigger')
    .description('run the scheduled scan now (it scans yesterday, UTC)')
    .addOption(idOption())
    .action(async (opts: { id: string }, command: Command) => {
      await withClient(command, (client) => triggerSchedule(client, opts.id));
      process.stdout.write(`triggered schedule ${opts.id}\n`);
    });

  schedule
    .command('backfill')
    .description('run the schedule for past days: each day from --from to --to is scanned once')
    .addOption(idOption())
    .requiredOption('--from <YYYY-MM-DD>', 'first day to scan')
    .requiredOption('--to <YYYY-MM-DD>', 'last day to scan (inclusive)')
    .action(async (opts: { id: string; from: string; to: string }, command: Command) => {
      const from = parseScanDate(opts.from, '--from');
      const to = parseScanDate(opts.to, '--to');
      if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
      await withClient(command, (client) => backfillSchedule(client, opts.id, from, to));
      process.stdout.write(`backfilling schedule ${opts.id} for ${from} .. ${to}\n`);
    });

  schedule
    .command('delete')
    .description('delete the schedule (runs it started are kept)')
    .addOption(idOption())
    .action(async (opts: { id: string }, command: Command) => {
      await withClient(command, (client) => deleteSchedule(client, opts.id));
      process.stdout.write(`deleted schedule ${opts.id}\n`);
    });
}
