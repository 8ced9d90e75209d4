import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import type { Finding } from '../../src/rules/types';
import { daysBetween, shiftDay } from '../../src/common/days';
import { createWorker } from '../../src/workers/worker';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { temporalAddress } from '../helpers/services';
import { listWorkflows } from '../helpers/temporal-cli';
import { waitFor } from '../helpers/wait';

// Each test file owns its days: workflow ids "scan-<date>" are shared by the whole dev server.
const RANGE = { from: '2026-09-01', to: '2026-09-10' };
const BACKFILL = { from: '2026-10-05', to: '2026-10-07' };

function trailFor(days: string[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const day of days) for (const [key, body] of buildSampleTrail(day)) files.set(key, body);
  return files;
}

function storeOf(dir: string): Record<string, Finding[]> {
  const out: Record<string, Finding[]> = {};
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort())
    out[file] = jsonLines<Finding>(readFileSync(join(dir, file), 'utf8'));
  return out;
}

describe('schedules, range re-runs and run history on a real dev server', () => {
  const taskQueue = `runs-${Date.now()}`;
  const env = { TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: taskQueue };
  const dir = tempDir('runs');
  let stop: () => Promise<void>;
  let client: Client;
  let connection: Connection;

  beforeAll(async () => {
    writeFiles(join(dir, 'logs'), trailFor([...daysBetween(RANGE.from, shiftDay(RANGE.to, 1)), ...daysBetween(BACKFILL.from, BACKFILL.to)]));
    const { worker, connection: workerConnection } = await createWorker({ address: temporalAddress(), namespace: 'default', taskQueue });
    const running = worker.run();
    stop = async () => {
      worker.shutdown();
      await running;
      await workerConnection.close();
    };
    connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection });
  });

  afterAll(async () => {
    await connection?.close();
    await stop?.();
  });

  const config = (name: string, extra: object = {}) =>
    writeConfig(tempDir(name), { sources: [{ type: 'directory', path: join(dir, 'logs') }], findings: { directory: join(dir, name) }, ...extra });

  test('a range of 10 days, 3 at a time, equals 10 single-day scans; a re-run changes nothing; it continues as new', async () => {
    const single = config('single');
    for (const day of daysBetween(RANGE.from, RANGE.to)) {
      const result = await runCli(['scan', '--config', single, '--date', day], { env });
      expect(result.code).toBe(0);
    }
    const rangeConfig = config('range');
    const range = await runCli(
      ['scan', '--config', rangeConfig, '--from', RANGE.from, '--to', RANGE.to, '--concurrency', '3', '--days-per-run', '4', '--json'],
      { env },
    );
    expect(range.stderr).toContain(`re-run ${RANGE.from} .. ${RANGE.to}: 10 day(s)`);
    expect(range.code).toBe(0);
    expect(storeOf(join(dir, 'range'))).toEqual(storeOf(join(dir, 'single')));
    expect(Object.keys(storeOf(join(dir, 'range')))).toHaveLength(10);
    const printed = jsonLines<Finding>(range.stdout);
    expect(printed.length).toBe(Object.values(storeOf(join(dir, 'range'))).flat().length);
    expect(printed.length).toBeGreaterThan(50);

    const runs = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = 'scan-range-${RANGE.from}-${RANGE.to}'` })) runs.push(run);
    expect(runs.length).toBe(3); // 10 days, 4 per run: continued as new twice

    const before = storeOf(join(dir, 'range'));
    const again = await runCli(['scan', '--config', rangeConfig, '--from', RANGE.from, '--to', RANGE.to, '--concurrency', '3'], { env });
    expect(again.code).toBe(0);
    expect(storeOf(join(dir, 'range'))).toEqual(before);
  });

  test('every scan sets its search attributes, memo and summary; the Web UI query finds "scans of September with findings"', async () => {
    const rows = listWorkflows(
      `WorkflowType = 'DailyScanWorkflow' AND ScanDate >= '2026-09-01T00:00:00Z' AND ScanDate < '2026-10-01T00:00:00Z' AND FindingCount > 0 AND ScanStatus = 'Completed'`,
    );
    const ids = new Set(rows.map((r) => r.workflowId));
    expect([...ids].sort()).toEqual(daysBetween(RANGE.from, RANGE.to).map((d) => `scan-${d}`));
    const none = listWorkflows(`WorkflowType = 'DailyScanWorkflow' AND ScanDate >= '2026-09-01T00:00:00Z' AND RuleIds = 'no-such-rule'`);
    expect(none).toEqual([]);
    const byRule = listWorkflows(`WorkflowId = 'scan-${RANGE.from}' AND RuleIds = '21702832-aff3-4bd6-a8e1-663b6818503d' AND Sources = 'directory'`);
    expect(byRule.length).toBeGreaterThan(0);
    const description = await client.workflow.getHandle(`scan-${RANGE.from}`).describe();
    expect(description.memo?.summary).toMatchObject({ status: 'Completed', skipped: expect.any(Number) });
    expect((description.memo?.summary as { findings: number }).findings).toBeGreaterThan(0);
    expect(await description.staticSummary()).toMatch(/^Daily scan of 2026-09-01$/);
    expect(description.typedSearchAttributes.getAll().map((p) => p.key.name)).toEqual(
      expect.arrayContaining(['ScanDate', 'RuleIds', 'FindingCount', 'ScanStatus', 'Sources', 'SkippedObjects']),
    );
  });

  test('schedule create, describe, pause, unpause, backfill (three days, three runs), trigger, delete', async () => {
    const id = `tw-test-${Date.now()}`;
    const cfg = config('schedule');
    const cli = (...args: string[]) => runCli(['schedule', ...args, '--id', id, '--config', cfg], { env });

    const created = await runCli(['schedule', 'create', '--id', id, '--config', cfg, '--at', '02:00', '--rescan-days', '0'], { env });
    expect(created.stderr + created.stdout).toContain(`created schedule ${id}`);
    expect(created.code).toBe(0);
    const duplicate = await runCli(['schedule', 'create', '--id', id, '--config', cfg], { env });
    expect(duplicate.code).toBe(2);
    expect(duplicate.stderr).toContain('already exists');

    const described = JSON.parse((await cli('describe', '--json')).stdout);
    expect(described).toMatchObject({
      id,
      paused: false,
      spec: 'daily at 02:00 UTC',
      overlap: 'BUFFER_ONE',
      catchupWindowMs: 86_400_000,
      pauseOnFailure: true,
    });
    expect(described.nextRuns[0]).toMatch(/T02:00:00\.000Z$/);

    expect((await cli('pause', '--note', 'maintenance')).code).toBe(0);
    expect(JSON.parse((await cli('describe', '--json')).stdout)).toMatchObject({ paused: true, note: 'maintenance' });
    expect((await cli('unpause')).code).toBe(0);
    expect(JSON.parse((await cli('describe', '--json')).stdout).paused).toBe(false);

    const backfill = await runCli(['schedule', 'backfill', '--id', id, '--config', cfg, '--from', BACKFILL.from, '--to', BACKFILL.to], { env });
    expect(backfill.code).toBe(0);
    const scheduled = await waitFor('three completed scheduled runs', () => {
      const rows = listWorkflows(`WorkflowType = 'ScheduledScanWorkflow' AND TemporalScheduledById = '${id}' AND ExecutionStatus = 'Completed'`);
      return rows.length >= 3 ? rows : undefined;
    });
    expect(scheduled).toHaveLength(3);
    // visibility is eventually consistent: wait until the three daily runs are listed
    const daily = await waitFor(
      'three daily runs in visibility',
      () => {
        const rows = listWorkflows(
          `WorkflowType = 'DailyScanWorkflow' AND ScanDate >= '${BACKFILL.from}T00:00:00Z' AND ScanDate < '${shiftDay(BACKFILL.to, 1)}T00:00:00Z' AND ScanStatus = 'Completed'`,
        );
        return rows.length >= 3 ? rows : undefined;
      },
      30_000,
    );
    expect(daily.map((r) => r.workflowId).sort()).toEqual(daysBetween(BACKFILL.from, BACKFILL.to).map((d) => `scan-${d}`));
    expect(Object.keys(storeOf(join(dir, 'schedule'))).sort()).toEqual(daysBetween(BACKFILL.from, BACKFILL.to).map((d) => `${d}.jsonl`));

    // describe says which day each recent run scanned, and how it went
    const recent = (await cli('describe')).stdout;
    for (const day of daysBetween(BACKFILL.from, BACKFILL.to)) {
      expect(recent).toMatch(new RegExp(`T02:00:00\\.000Z {2}scanned ${day}: Completed \\(${day} Completed, \\d+ finding\\(s\\)\\)`));
    }

    const yesterday = shiftDay(new Date().toISOString().slice(0, 10), -1);
    expect((await cli('trigger')).code).toBe(0);
    await waitFor('the triggered run to scan yesterday', async () => {
      const rows = listWorkflows(`WorkflowType = 'ScheduledScanWorkflow' AND TemporalScheduledById = '${id}' AND ExecutionStatus = 'Completed'`);
      return rows.length >= 4 ? rows : undefined;
    });
    expect((await client.workflow.getHandle(`scan-${yesterday}`).describe()).status.name).toBe('COMPLETED');

    expect((await cli('delete')).code).toBe(0);
    const gone = await cli('describe');
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`schedule "${id}" does not exist`);
  });

  test.each([
    [['scan', '--from', '2026-09-10', '--to', '2026-09-01'], /--from 2026-09-10 is after --to 2026-09-01/],
    [['scan', '--from', '2026-09-01'], /needs --date YYYY-MM-DD, or --from YYYY-MM-DD and --to/],
    [['scan', '--date', '2026-09-01', '--from', '2026-09-01', '--to', '2026-09-02'], /either --date, or --from and --to/],
    [['scan', '--from', '2026-09-01', '--to', '2026-09-02', '--concurrency', '0'], /--concurrency/],
    [['schedule', 'create', '--at', '25:00'], /--at "25:00" is not a UTC time of day/],
    [['schedule', 'create', '--catchup-window', '1 day'], /--catchup-window/],
    [['schedule', 'backfill', '--from', '2026-09-03', '--to', '2026-09-01'], /--from 2026-09-03 is after --to/],
  ])('bad arguments %j exit 2', async (args, message) => {
    const result = await runCli(args as string[], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
