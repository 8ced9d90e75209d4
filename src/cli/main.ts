import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { UsageError, checkPathsForRemote, loadConfig } from '../config/load';
import { externalStorageOf, payloadStorageFor } from '../codec/payload-storage';
import { checkTuningEnvironment } from '../config/tuning';
import { nativeScannerStatus } from '../native/scanner';
import { startCodecServer } from '../codec/codec-server';
import { EncryptionCodec, codecKeysFromEnvironment } from '../codec/encryption-codec';
import { startDevServer } from '../local/dev-server';
import type { Finding } from '../rules/types';
import { createWorker } from '../workers/worker';
import { checkLookupRetention, parseScanDate } from './dates';
import { runDemo } from './demo';
import { formatFinding, formatRangeResult, formatSummary } from './format';
import { StoppedWaiting, runDailyScan, runRangeScan, scanConfigOf, storeOf, withTemporal } from './scan';
import { registerScheduleCommands } from './schedule-commands';
import { registerIncidentCommands } from './incidents';
import { temporalTarget } from './temporal';

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
}

/** --date D, or --from D1 --to D2 (inclusive), validated. */
function scanRange(opts: ScanOptions): { from: string; to: string } {
  if (opts.date) {
    if (opts.from || opts.to) throw new UsageError('give either --date, or --from and --to, not both');
    const date = parseScanDate(opts.date);
    return { from: date, to: date };
  }
  if (!opts.from || !opts.to) throw new UsageError('scan needs --date YYYY-MM-DD, or --from YYYY-MM-DD and --to YYYY-MM-DD');
  const from = parseScanDate(opts.from, '--from');
  const to = parseScanDate(opts.to, '--to');
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return { from, to };
}

function printFindings(findings: readonly Finding[], json?: boolean): void {
  for (const finding of findings) process.stdout.write(`${json ? JSON.stringify(finding) : formatFinding(finding)}\n`);
}

function quietRuntime(): void {
  Runtime.install({ logger: new DefaultLogger((process.env.TRAILWARDEN_LOG_LEVEL as 'WARN') ?? 'WARN') });
}

async function waitForSignal(): Promise<void> {
  await new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('trailwarden')
    .description('AWS CloudTrail detections (SSM command execution, command output to foreign buckets) run on Temporal')
    .option('--config <file>', 'configuration file (default ./trailwarden.config.json or $TRAILWARDEN_CONFIG)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    // commands that may run a worker check its tuning first (createWorker checks again)
    .hook('preAction', (_program, action) => {
      if (['scan', 'worker', 'dev', 'demo'].includes(action.name())) checkTuningEnvironment();
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
    .option('--json', 'print one finding per line as JSON on stdout (summary on stderr)')
    .action(async (opts: ScanOptions, command: Command) => {
      const range = scanRange(opts);
      const config = configOf(command);
      const scanConfig = scanConfigOf(config);
      checkLookupRetention(scanConfig.sources, range.from);
      quietRuntime();
      const target = temporalTarget(config);
      if (!opts.embedded) checkPathsForRemote(config, target.address);
      if (range.from === range.to && opts.date) {
        const outcome = await withTemporal(target, Boolean(opts.embedded), (client, t) => runDailyScan(client, t, range.from, scanConfig));
        printFindings(outcome.findings, opts.json);
        (opts.json ? process.stderr : process.stdout).write(`${formatSummary(outcome.summary)}\n`);
        setExit(outcome.summary.failedPartitions.length ? 1 : 0);
        return;
      }
      const outcome = await withTemporal(target, Boolean(opts.embedded), (client, t) =>
        runRangeScan(client, t, { ...range, concurrency: opts.concurrency, daysPerRun: opts.daysPerRun }, scanConfig),
      );
      printFindings(outcome.findings, opts.json);
      (opts.json ? process.stderr : process.stdout).write(`${formatRangeResult(outcome.result)}\n`);
      setExit(outcome.result.failedDays.length || outcome.result.days.some((d) => d.status !== 'Completed') ? 1 : 0);
    });

  registerScheduleCommands(program, configOf);
  registerIncidentCommands(program, configOf);

  program
    .command('findings')
    .description('list stored findings of one scan date')
    .requiredOption('--date <YYYY-MM-DD>', 'the scan date')
    .option('--json', 'one finding per line as JSON')
    .action(async (opts: { date: string; json?: boolean }, command: Command) => {
      const date = parseScanDate(opts.date);
      const config = configOf(command);
      const store = storeOf(config);
      const findings = await store.read(date);
      for (const f of findings) process.stdout.write(`${opts.json ? JSON.stringify(f) : formatFinding(f)}\n`);
      if (!opts.json) process.stderr.write(`${findings.length} finding(s) stored for ${date} in ${store.location}\n`);
    });

  program
    .command('worker')
    .description('run a worker against an existing Temporal service ($TEMPORAL_ADDRESS)')
    .option('--max-activities <n>', 'activities run at once', (v) => Number(v))
    .action(async (opts: { maxActivities?: number }, command: Command) => {
      const config = configOf(command);
      const target = temporalTarget(config);
      checkPathsForRemote(config, target.address);
      const { worker } = await createWorker({ ...target, maxConcurrentActivityTaskExecutions: opts.maxActivities });
      process.stderr.write(`worker on task queue "${target.taskQueue}" at ${target.address} (namespace ${target.namespace}); scanner: ${nativeScannerStatus()}\n`);
      await worker.run();
    });

  program
    .command('dev')
    .description('start a local Temporal dev server (history kept on disk) and a worker, in the foreground')
    .addOption(new Option('--port <n>', 'gRPC port').default(7233).argParser(port))
    .addOption(new Option('--ui-port <n>', 'Web UI port').default(8233).argParser(port))
    .option('--db <file>', 'SQLite file for run history', '.trailwarden/dev.db')
    .action(async (opts: { port: number; uiPort: number; db: string }, command: Command) => {
      const target = temporalTarget(configOf(command));
      const server = await startDevServer({ port: opts.port, uiPort: opts.uiPort, dbFile: resolve(opts.db), namespace: target.namespace });
      process.stderr.write(`Temporal dev server at ${server.address}, Web UI at ${server.uiUrl}, history in ${resolve(opts.db)}\n`);
      const { worker, connection } = await createWorker({
        ...target,
        address: server.address,
        security: undefined,
        payloadStorage: payloadStorageFor(target.payloadStorage, true),
      });
      process.stderr.write(`worker on task queue "${target.taskQueue}" (scanner: ${nativeScannerStatus()}); press Ctrl-C to stop\n`);
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
    .addOption(new Option('--ui-port <n>', 'Web UI port (default: a free port)').argParser(port))
    .action(async (opts: { source: 's3' | 'directory'; keepOpen?: boolean; uiPort?: number }) => {
      quietRuntime();
      setExit(await runDemo({ source: opts.source, keepOpen: Boolean(opts.keepOpen), uiPort: opts.uiPort }));
    });

  return program;
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
    if (error instanceof StoppedWaiting) {
      process.stderr.write(`trailwarden: ${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`trailwarden: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`trailwarden: ${(error as Error).message ?? String(error)}\n`);
    if (process.env.TRAILWARDEN_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return 1;
  }
}
