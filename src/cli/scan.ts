import { SingleBar } from 'cli-progress';
import type { Client } from '@temporalio/client';
import type { ScanSummary } from '../activities/types';
import type { LoadedConfig, ScanConfig } from '../config/load';
import { UsageError } from '../config/load';
import { startDevServer } from '../local/dev-server';
import type { Finding } from '../rules/types';
import { readFindings } from '../store/findings-store';
import { type DailyScanWorkflow, progressQuery } from '../workflows/daily-scan';
import { createWorker } from '../workers/worker';
import { connectClient, type TemporalTarget } from './temporal';

export interface ScanOutcome {
  summary: ScanSummary;
  findings: Finding[];
  workflowId: string;
  runId: string;
}

export function scanConfigOf(config: LoadedConfig): ScanConfig {
  if (config.sources.length === 0) {
    throw new UsageError(
      `no sources configured${config.file ? ` in ${config.file}` : ''}: add an s3 or directory source to "sources" ` +
        '(see README), or pass --config FILE',
    );
  }
  return { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory };
}

async function showProgress<T>(handle: { query: (q: typeof progressQuery) => Promise<{ partitions: number; partitionsDone: number; objects: number }> }, done: Promise<T>): Promise<T> {
  if (!process.stderr.isTTY) return done;
  const bar = new SingleBar({
    format: 'scanning |{bar}| {value}/{total} partitions | {objects} objects | {duration_formatted}',
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(1, 0, { objects: 0 });
  const timer = setInterval(() => {
    handle.query(progressQuery).then(
      (p) => {
        bar.setTotal(Math.max(1, p.partitions));
        bar.update(p.partitionsDone, { objects: p.objects });
      },
      () => undefined,
    );
  }, 500);
  try {
    return await done;
  } finally {
    clearInterval(timer);
    bar.stop();
  }
}

/** Starts (or joins, when one is running) the day's scan workflow and waits for its result. */
export async function runDailyScan(client: Client, target: TemporalTarget, date: string, config: ScanConfig): Promise<ScanOutcome> {
  const handle = await client.workflow.start<typeof DailyScanWorkflow>('DailyScanWorkflow', {
    taskQueue: target.taskQueue,
    workflowId: `scan-${date}`,
    args: [{ date, config }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  const summary = await showProgress(handle, handle.result());
  const wanted = summary.findingIds ? new Set(summary.findingIds) : undefined;
  const findings = readFindings(config.findingsDirectory, date).filter((f) => !wanted || wanted.has(f.id));
  return { summary, findings, workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
}

/** Runs `work` against a Temporal service: a private dev server and worker with --embedded, else $TEMPORAL_ADDRESS. */
export async function withTemporal<T>(
  target: TemporalTarget,
  embedded: boolean,
  work: (client: Client, target: TemporalTarget) => Promise<T>,
): Promise<T> {
  if (!embedded) {
    const { client, close } = await connectClient(target);
    try {
      return await work(client, target);
    } finally {
      await close();
    }
  }
  const server = await startDevServer({ namespace: target.namespace });
  const local = { ...target, address: server.address };
  try {
    const { worker, connection } = await createWorker(local);
    try {
      return await worker.runUntil(async () => {
        const { client, close } = await connectClient(local);
        try {
          return await work(client, local);
        } finally {
          await close();
        }
      });
    } finally {
      await connection.close();
    }
  } finally {
    await server.stop();
  }
}
