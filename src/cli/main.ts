import type { Client } from '@temporalio/client';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { UsageError, checkPathsForRemote, loadConfig } from '../config/load';
import { externalStorageOf, payloadStorageFor } from '../codec/payload-storage';
import { checkTuningEnvironment } from '../config/tuning';
import { nativeScannerStatus } from '../scan/native-scanner';
import { startCodecServer } from '../codec/codec-server';
import { EncryptionCodec, codecKeysFromEnvironment } from '../codec/encryption-codec';
import { checkPortFree, startDevServer } from '../local/dev-server';
import { type Finding, SEVERITIES } from '../rules/types';
import type { ChannelConfig } from '../config/schema';
import { daysBetween } from '../common/days';
import { createWorker } from '../workers/worker';
import { checkLookupRetention, parseScanDate } from './dates';
import { runDemo } from './demo';
import { runWatchDemo } from './demo-watch';
import { formatRangeResult, formatSummary } from './format';
import { FORMATS, type Format, asffTargetOf, findingLine, formatOf, matchesFilter, parseFilter } from './output';
import { runDailyScan, runRangeScan, scanConfigOf, storeOf, withTemporal } from './scan';
import { registerScheduleCommands } from './schedule-commands';
import { awaitNotifications, registerIncidentCommands } from './incidents';

/** An embedded run's notifications go out before its private server stops (or it says which did not). */
async function deliverBeforeExit(client: Client, incidents = 0): Promise<void> {
  const log = (line: string) => process.stderr.write(`trailwarden: ${line}\n`);
  const pending = await awaitNotifications(client, incidents, 120_000, log);
  if (pending) log(`${pending} incident(s) still had notifications due when the embedded server stopped: run with a worker (trailwarden dev) to deliver them`);
}
import { temporalTarget } from './temporal';
import { CliFailure } from './failure';
import { appendLog, currentLogFile, installLogging } from './logging';
import { addMoreHelp, example } from './help';
import { registerInitCommand } from './init';
import { latencyOf, latencyText, registerWatchCommand, watchedLine } from './watch';
import type { FindingLatency } from '../watch/day-store';
import { VERSION } from './version';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a port number (1-65535)');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

interface ScanOptions {
  date?: string;
  from?: string;
  to?: string;
  concurrency: number;
  daysPerRun: number;
  embedded?: boolean;
  json?: boolean;
  format?: Format;
  cancelOnInterrupt?: boolean;
}

/** --date D, or --from D1 --to D2 (inclusive), validated. */
function scanRange(opts: Pick<ScanOptions, 'date' | 'from' | 'to'>, command = 'scan'): { from: string; to: string } {
  if (opts.date) {
    if (opts.from || opts.to) throw new UsageError('give either --date, or --from and --to, not both');
    const date = parseScanDate(opts.date);
    return { from: date, to: date };
  }
  if (!opts.from || !opts.to) throw new UsageError(`${command} needs --date YYYY-MM-DD, or --from YYYY-MM-DD and --to YYYY-MM-DD`);
  const from = parseScanDate(opts.from, '--from');
  const to = parseScanDate(opts.to, '--to');
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return { from, to };
}

function printFindings(findings: readonly Finding[], format: Format, channels: readonly ChannelConfig[]): void {
  const asff = asffTargetOf(channels);
  const now = new Date().toISOString();
  for (const finding of findings) process.stdout.write(`${findingLine(finding, format, asff, now)}\n`);
}

const formatOption = () =>
  new Option(
    '--format <format>',
    'how findings print: text, jsonl (one finding per line, as --json), ocsf (OCSF Detection Findings), asff (Security Hub findings)',
  ).choices(FORMATS);

/** Repeatable options: each use adds a value. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Worker and server logs: everything on stderr with --verbose, else to a log file with warnings once each. */
function logsFor(command: Command, mode: 'quiet' | 'worker' = 'quiet'): void {
  installLogging(command.optsWithGlobals().verbose ? 'verbose' : mode, command.name());
}

/** The partitions or days that failed, as the one closing line of a scan that otherwise completed. */
function failedLine(what: string, failed: { label: string; error?: string }[], total: number): string {
  const first = failed[0];
  const more = failed.length > 1 ? `; and ${failed.length - 1} more (listed above)` : '';
  return `trailwarden: ${what}: ${failed.length} of ${total} failed: ${first.label}: ${first.error ?? 'failed'}${more}\n`;
}

async function waitForSignal(): Promise<void> {
  await new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('trailwarden')
    .description(`trailwarden ${VERSION}: AWS CloudTrail detections (SSM command execution, command output to foreign buckets) run on Temporal`)
    .version(VERSION, '-V, --version', 'print the version (x.y.z)')
    .option('--config <file>', 'configuration file (default ./trailwarden.config.json or $TRAILWARDEN_CONFIG)')
    .option('--verbose', 'show every worker and dev-server log line on stderr (default: to a log file, warnings once)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    // commands that may run a worker check its tuning first (createWorker checks again)
    .hook('preAction', (_program, action) => {
      if (['scan', 'worker', 'dev', 'demo', 'watch'].includes(action.name())) checkTuningEnvironment();
    });
  const configOf = (command: Command) => loadConfig(command.optsWithGlobals().config);

  program
    .command('scan')
    .description('scan one UTC day now (--date), or re-run an inclusive range of days (--from/--to), and wait for the result')
    .option('--date <YYYY-MM-DD>', 'the UTC day to scan')
    .option('--from <YYYY-MM-DD>', 'first day of a range re-run')
    .option('--to <YYYY-MM-DD>', 'last day of a range re-run (inclusive)')
    .addOption(new Option('--concurrency <n>', 'daily scans of a range running at once').default(3).argParser(positiveInt))
    .addOption(new Option('--days-per-run <n>', 'range workflow continues as new after this many days').default(30).argParser(positiveInt))
    .option('--embedded', 'start a private dev server and worker for this run')
    .option('--json', 'print one finding per line as JSON on stdout (summary on stderr); the same as --format jsonl')
    .addOption(formatOption())
    .option('--cancel-on-interrupt', 'Ctrl-C or SIGTERM cancels the run (default: stop waiting, the run goes on)')
    .addHelpText(
      'after',
      example(
        [
          'trailwarden scan --embedded --date 2026-11-25',
          'trailwarden scan --date 2026-11-25 --json > findings.jsonl',
          'trailwarden scan --from 2026-11-18 --to 2026-11-24',
        ],
        [
          'TRAILWARDEN_CONFIG',
          'TEMPORAL_ADDRESS',
          'TEMPORAL_NAMESPACE',
          'TRAILWARDEN_TASK_QUEUE',
          'TRAILWARDEN_WORKER_WAIT_MS',
          'TRAILWARDEN_STATUS_INTERVAL_MS',
          'AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID (--embedded)',
          'TRAILWARDEN_LOG_FILE, TRAILWARDEN_LOG_LEVEL',
        ],
      ),
    )
    .action(async (opts: ScanOptions, command: Command) => {
      const range = scanRange(opts);
      const format = formatOf(opts);
      const config = configOf(command);
      const target = temporalTarget(config);
      // a relative path means nothing to workers on another machine: refuse it before checking it here
      if (!opts.embedded) checkPathsForRemote(config, target.address);
      const scanConfig = scanConfigOf(config);
      checkLookupRetention(scanConfig.sources, range.from);
      // with --embedded, this process runs the worker and dev server: their logs go to a file
      if (opts.embedded) logsFor(command);
      const runOptions = { embedded: Boolean(opts.embedded), cancelOnInterrupt: Boolean(opts.cancelOnInterrupt) };
      if (range.from === range.to && opts.date) {
        const outcome = await withTemporal(target, Boolean(opts.embedded), async (client, t) => {
          const scanned = await runDailyScan(client, t, range.from, scanConfig, runOptions);
          if (opts.embedded) await deliverBeforeExit(client, scanned.summary.incidents?.incidents ?? 0);
          return scanned;
        });
        printFindings(outcome.findings, format, config.incidents?.channels ?? []);
        const summaryOut = format === 'text' ? process.stdout : process.stderr;
        summaryOut.write(`${formatSummary(outcome.summary)}\n`);
        const watched = watchedLine(await latencyOf(scanConfig, range.from), outcome.summary.findingIds);
        if (watched) summaryOut.write(`${watched}\n`);
        const failed = outcome.summary.failedPartitions;
        if (failed.length) process.stderr.write(failedLine(`scan of ${range.from} partly failed, partitions`, failed, outcome.summary.partitions));
        setExit(failed.length ? 1 : 0);
        return;
      }
      const outcome = await withTemporal(target, Boolean(opts.embedded), async (client, t) => {
        const scanned = await runRangeScan(client, t, { ...range, concurrency: opts.concurrency, daysPerRun: opts.daysPerRun }, scanConfig, runOptions);
        if (opts.embedded) await deliverBeforeExit(client);
        return scanned;
      });
      printFindings(outcome.findings, format, config.incidents?.channels ?? []);
      (format === 'text' ? process.stdout : process.stderr).write(`${formatRangeResult(outcome.result)}\n`);
      const failedDays = outcome.result.days.filter((d) => d.status !== 'Completed');
      if (failedDays.length) {
        process.stderr.write(
          failedLine(
            `re-run of ${range.from} .. ${range.to}, days failed or partial`,
            failedDays.map((d) => ({ label: d.date, error: d.error ?? `${d.status} (some partitions failed: trailwarden scan --date ${d.date} lists them)` })),
            outcome.result.days.length,
          ),
        );
      }
      setExit(failedDays.length ? 1 : 0);
    });

  registerInitCommand(program);
  registerScheduleCommands(program, configOf);
  registerIncidentCommands(program, configOf);
  registerWatchCommand(program, configOf, setExit);

  program
    .command('findings')
    .description('list stored findings of one scan date (--date) or a range of them (--from/--to), optionally filtered')
    .option('--date <YYYY-MM-DD>', 'the scan date')
    .option('--from <YYYY-MM-DD>', 'first scan date of a range')
    .option('--to <YYYY-MM-DD>', 'last scan date of a range (inclusive)')
    .option('--rule <id>', 'only findings of this rule (repeatable)', collect)
    .option('--severity <level>', `only findings of this severity: ${SEVERITIES.join(', ')} (repeatable)`, collect)
    .option('--account <id>', 'only findings about this AWS account (repeatable)', collect)
    .option('--json', 'one finding per line as JSON (the same as --format jsonl)')
    .addOption(formatOption())
    .addHelpText(
      'after',
      example(
        [
          'trailwarden findings --date 2026-11-25',
          'trailwarden findings --date 2026-11-25 --json | jq .user',
          'trailwarden findings --from 2026-11-01 --to 2026-11-30 --severity high --format ocsf > findings.ocsf.jsonl',
        ],
        ['TRAILWARDEN_CONFIG', 'AWS_REGION (--format asff without a securityhub channel)'],
      ),
    )
    .action(
      async (
        opts: { date?: string; from?: string; to?: string; rule?: string[]; severity?: string[]; account?: string[]; json?: boolean; format?: Format },
        command: Command,
      ) => {
        const range = scanRange(opts, 'findings');
        const format = formatOf(opts);
        const filter = parseFilter(opts);
        const config = configOf(command);
        const store = storeOf(config);
        const findings: Finding[] = [];
        // findings the watch found first also say, in text, how soon after delivery
        const latency: Record<string, FindingLatency> = {};
        for (const date of daysBetween(range.from, range.to)) {
          for (const finding of await store.read(date)) if (matchesFilter(finding, filter)) findings.push(finding);
          if (format === 'text') Object.assign(latency, await latencyOf(config, date));
        }
        const asff = asffTargetOf(config.incidents?.channels ?? []);
        for (const f of findings) process.stdout.write(`${findingLine(f, format, asff)}${format === 'text' ? latencyText(latency[f.id]) : ''}\n`);
        const dates = range.from === range.to ? range.from : `${range.from} .. ${range.to}`;
        if (format === 'text') process.stderr.write(`${findings.length} finding(s) stored for ${dates} in ${store.location}\n`);
      },
    );

  program
    .command('worker')
    .description('run a worker against an existing Temporal service ($TEMPORAL_ADDRESS)')
    .addOption(new Option('--max-activities <n>', 'activities run at once').argParser(positiveInt))
    .addHelpText(
      'after',
      example(
        ['TEMPORAL_ADDRESS=temporal.internal:7233 trailwarden worker', 'trailwarden worker --verbose'],
        [
          'TEMPORAL_ADDRESS',
          'TEMPORAL_NAMESPACE',
          'TRAILWARDEN_TASK_QUEUE',
          'TEMPORAL_TLS_*, TEMPORAL_API_KEY',
          'TRAILWARDEN_SCAN_THREADS, TRAILWARDEN_HEARTBEAT_MS, TRAILWARDEN_NATIVE',
          'AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID (the credentials scans use)',
          'TRAILWARDEN_LOG_FILE, TRAILWARDEN_LOG_LEVEL',
        ],
      ),
    )
    .action(async (opts: { maxActivities?: number }, command: Command) => {
      const config = configOf(command);
      const target = temporalTarget(config);
      checkPathsForRemote(config, target.address);
      logsFor(command, 'worker');
      const { worker } = await createWorker({ ...target, maxConcurrentActivityTaskExecutions: opts.maxActivities });
      process.stderr.write(
        `trailwarden ${VERSION} worker on task queue "${target.taskQueue}" at ${target.address} (namespace ${target.namespace}); scanner: ${nativeScannerStatus()}` +
          `${currentLogFile() ? `; log: ${currentLogFile()}` : ''}\n`,
      );
      await worker.run();
    });

  program
    .command('dev')
    .description('start a local Temporal dev server (history kept on disk) and a worker, in the foreground')
    .addOption(new Option('--port <n>', 'gRPC port').default(7233).argParser(port))
    .addOption(new Option('--ui-port <n>', 'Web UI port').default(8233).argParser(port))
    .option('--db <file>', 'SQLite file for run history', '.trailwarden/dev.db')
    .addHelpText(
      'after',
      example(
        ['trailwarden dev', 'trailwarden dev --port 7300 --ui-port 8300   # beside another dev server'],
        [
          'TRAILWARDEN_TASK_QUEUE',
          'TEMPORAL_NAMESPACE',
          'TRAILWARDEN_SCAN_THREADS, TRAILWARDEN_HEARTBEAT_MS, TRAILWARDEN_NATIVE',
          'AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID (the credentials scans use)',
          'TRAILWARDEN_LOG_FILE, TRAILWARDEN_LOG_LEVEL',
        ],
      ),
    )
    .action(async (opts: { port: number; uiPort: number; db: string }, command: Command) => {
      const target = temporalTarget(configOf(command));
      // a second dev server on a busy port would die, and its worker would silently serve the first one
      for (const [port, what] of [
        [opts.port, '--port'],
        [opts.uiPort, '--ui-port'],
      ] as const) {
        try {
          await checkPortFree(port, '127.0.0.1', `${what}`);
        } catch (error) {
          throw new CliFailure(`dev: ${(error as Error).message}: stop it, or choose another with ${what} N`);
        }
      }
      logsFor(command, 'worker');
      const server = await startDevServer({ port: opts.port, uiPort: opts.uiPort, dbFile: resolve(opts.db), namespace: target.namespace, onOutput: appendLog });
      process.stderr.write(`Temporal dev server at ${server.address}, Web UI at ${server.uiUrl}, history in ${resolve(opts.db)}\n`);
      const { worker, connection } = await createWorker({
        ...target,
        address: server.address,
        security: undefined,
        payloadStorage: payloadStorageFor(target.payloadStorage, true),
      });
      process.stderr.write(
        `trailwarden ${VERSION} worker on task queue "${target.taskQueue}" (scanner: ${nativeScannerStatus()})` +
          `${currentLogFile() ? `; logs: ${currentLogFile()}` : ''}; press Ctrl-C to stop\n`,
      );
      try {
        await worker.runUntil(waitForSignal());
      } finally {
        await connection.close();
        await server.stop();
      }
    });

  program
    .command('codec-server')
    .description('serve the payload codec (remote codec protocol) so the Web UI can decrypt payloads for key holders')
    .addOption(new Option('--port <n>', 'port').default(8888).argParser(port))
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--cors-origin <url...>', 'Web UI origins allowed to call it', ['http://localhost:8233', 'http://localhost:8080'])
    .action(async (opts: { port: number; host: string; corsOrigin: string[] }, command: Command) => {
      const keys = codecKeysFromEnvironment();
      const payloadStorage = configOf(command).payloadStorage;
      if (!keys && !payloadStorage) throw new UsageError('no codec keys and no payloadStorage: set TRAILWARDEN_CODEC_KEYS or TRAILWARDEN_CODEC_KEY_FILE');
      const server = await startCodecServer(keys ? new EncryptionCodec(keys) : undefined, {
        port: opts.port,
        host: opts.host,
        corsOrigins: opts.corsOrigin,
        externalStorage: externalStorageOf(payloadStorage),
      });
      process.stderr.write(
        `codec server on http://${opts.host}:${opts.port} (keys: ${keys ? `${[...keys.keys.keys()].join(', ')}; active ${keys.active}` : 'none'}` +
          `${payloadStorage ? `; payloads from ${payloadStorage.type === 's3' ? `s3://${payloadStorage.bucket}/${payloadStorage.prefix}` : payloadStorage.path}` : ''})\n`,
      );
      await waitForSignal();
      server.close();
    });

  program
    .command('demo')
    .description('the whole job on built-in sample data, with nothing to set up')
    .addOption(new Option('--source <kind>', 'where the sample trail is served from').choices(['s3', 'directory']).default('s3'))
    .option('--keep-open', 'keep the dev server and Web UI running after the scan, until Ctrl-C')
    .option('--securityhub', "also send the incidents' findings to Security Hub on the demo's local moto (a securityhub channel)")
    .option(
      '--watch',
      'continuous detection instead: the sample trail lands in moto S3 over ~20 s, `watch` finds each finding, then the daily scan confirms it',
    )
    .addOption(new Option('--ui-port <n>', 'Web UI port (default: a free port)').argParser(port))
    .addHelpText(
      'after',
      example(
        ['trailwarden demo', 'trailwarden demo --source directory --keep-open', 'trailwarden demo --securityhub', 'trailwarden demo --watch'],
        ['TRAILWARDEN_SCAN_THREADS, TRAILWARDEN_NATIVE', 'TRAILWARDEN_LOG_FILE, TRAILWARDEN_LOG_LEVEL'],
      ),
    )
    .action(async (opts: { source: 's3' | 'directory'; keepOpen?: boolean; uiPort?: number; securityhub?: boolean; watch?: boolean }, command: Command) => {
      logsFor(command);
      if (opts.watch) {
        if (opts.source !== 's3' || opts.keepOpen || opts.securityhub)
          throw new UsageError('demo --watch uses moto S3 and SQS and stops when it is done: it takes neither --source, --keep-open nor --securityhub');
        setExit(await runWatchDemo({ uiPort: opts.uiPort }));
        return;
      }
      setExit(await runDemo({ source: opts.source, keepOpen: Boolean(opts.keepOpen), uiPort: opts.uiPort, securityHub: Boolean(opts.securityhub) }));
    });

  addMoreHelp(program);
  return program;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Runs the CLI; resolves to the exit status (0 done, 2 bad arguments or configuration, 1 other failure). */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
      return 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`trailwarden: ${error.message}\n`);
      return 2;
    }
    if (error instanceof CliFailure) {
      process.stderr.write(`trailwarden: ${error.message}\n`);
      return error.exitCode;
    }
    const log = currentLogFile();
    process.stderr.write(`trailwarden: ${oneLine((error as Error).message ?? String(error))}${log ? ` (log: ${log})` : ''}\n`);
    if (process.env.TRAILWARDEN_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}
