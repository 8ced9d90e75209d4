import { type Client, type WorkflowHandle, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { UsageError } from '../config/load';
import { CliFailure, flat } from './failure';
import type { TemporalTarget } from './temporal';

const GRPC_NOT_FOUND = 5;
// temporal.api.enums.v1: TaskQueueKind.TASK_QUEUE_KIND_NORMAL, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/** How long `scan` waits for a worker to poll the task queue before it says none does (ms). */
export function workerWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.TRAILWARDEN_WORKER_WAIT_MS ?? 5000);
  return Number.isFinite(value) && value >= 0 ? value : 5000;
}

/** How often a waiting `scan` says what the run is doing when stderr is not a terminal (ms). */
export function statusIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.TRAILWARDEN_STATUS_INTERVAL_MS ?? 15_000);
  return Number.isFinite(value) && value >= 200 ? value : 15_000;
}

/** The namespace exists: checked before anything else talks about it (search attributes, runs). */
export async function checkNamespace(client: Client, target: TemporalTarget): Promise<void> {
  try {
    await client.connection.workflowService.describeNamespace({ namespace: target.namespace });
  } catch (error) {
    if (isGrpcServiceError(error) && error.code === GRPC_NOT_FOUND) {
      throw new UsageError(
        `namespace "${target.namespace}" does not exist at ${target.address}: set $TEMPORAL_NAMESPACE to an existing one ` +
          `(temporal operator namespace list), or create it (temporal operator namespace create --namespace ${target.namespace})`,
      );
    }
    throw error;
  }
}

/** Pollers seen within this long count as a live worker (an idle worker's long poll lasts about a minute). */
const LIVE_POLLER_MS = 90_000;

async function livePollers(client: Client, target: TemporalTarget): Promise<number> {
  const response = await client.connection.workflowService.describeTaskQueue({
    namespace: target.namespace,
    taskQueue: { name: target.taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
  });
  const now = Date.now();
  return (response.pollers ?? []).filter((p) => {
    const seconds = Number(p.lastAccessTime?.seconds ?? 0);
    return !seconds || now - seconds * 1000 < LIVE_POLLER_MS;
  }).length;
}

/** Waits up to `timeoutMs` for a worker polling the task queue; says so and fails (exit 1) when none does. */
export async function requireWorker(client: Client, target: TemporalTarget, timeoutMs = workerWaitMs()): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await livePollers(client, target)) > 0) return;
    if (Date.now() >= deadline) {
      throw new CliFailure(
        `no worker polls task queue "${target.taskQueue}" in namespace "${target.namespace}": start one with trailwarden dev or trailwarden worker` +
          ` (or check $TRAILWARDEN_TASK_QUEUE; --embedded runs a private one)`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** When `workflowId` is running, says that this command joins it rather than starting a new run. */
export async function noticeRunning(client: Client, workflowId: string): Promise<void> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    if (description.status.name !== 'RUNNING') return;
    const started = description.startTime;
    const minutes = Math.round((Date.now() - started.getTime()) / 60_000);
    process.stderr.write(
      `trailwarden: ${workflowId} is already running (started ${started.toISOString()}, ${minutes} min ago); joining it instead of starting another run\n`,
    );
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/** One sentence on what a run is doing: its pending activities and children, with retries and their causes. */
export async function runActivity(handle: WorkflowHandle): Promise<string> {
  const { raw } = await handle.describe();
  const parts: string[] = [];
  for (const activity of raw.pendingActivities ?? []) {
    const name = activity.activityType?.name ?? 'activity';
    const attempt = activity.attempt ?? 1;
    const failure = activity.lastFailure?.message;
    parts.push(attempt > 1 && failure ? `${name} retrying (attempt ${attempt}, last failure: ${flat(failure)})` : `${name} running`);
  }
  const children = raw.pendingChildren ?? [];
  if (children.length) parts.push(`${children.length} child run(s): ${children.map((c) => c.workflowId).join(', ')}`);
  return parts.join('; ');
}

/** Signals that stop waiting; resolves with the one that came. The listeners are removed by `dispose`. */
export function interruption(): { signal: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = () => undefined as void;
  const signal = new Promise<NodeJS.Signals>((resolveSignal) => {
    const onInt = () => resolveSignal('SIGINT');
    const onTerm = () => resolveSignal('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    dispose = () => {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
    };
  });
  return { signal, dispose };
}

export interface WaitOptions {
  /** cancel the run when the wait is interrupted */
  cancelOnInterrupt?: boolean;
  /** the run lives in a private dev server that stops with this command */
  embedded?: boolean;
  /** the run's current phase, for the status line (a query) */
  phase?: () => Promise<string>;
  /** a progress bar is on the terminal: status goes to `onStatus` instead of a line */
  onStatus?: (status: string) => void;
  /** aborts the calls waiting for the result, so that nothing keeps the process alive after an interrupt */
  abort?: AbortController;
}

/**
 * Waits for `result`, saying every so often (TRAILWARDEN_STATUS_INTERVAL_MS) what the run is doing;
 * Ctrl-C or SIGTERM stops waiting, prints the workflow id (and cancels the run with cancelOnInterrupt).
 */
export async function waitForRun<T>(handle: WorkflowHandle, result: Promise<T>, options: WaitOptions = {}): Promise<T> {
  const { signal, dispose } = interruption();
  let last = '';
  let lastAt = 0;
  let inFlight: Promise<void> | undefined;
  const report = async () => {
    const [phase, activity] = await Promise.all([options.phase?.().catch(() => '') ?? '', runActivity(handle).catch(() => '')]);
    const status = [phase, activity].filter(Boolean).join(': ');
    if (!status) return;
    if (options.onStatus) {
      options.onStatus(status);
      return;
    }
    // a line when something changed (another attempt of the same error is no change), else once a minute
    const key = status.replace(/attempt \d+/g, 'attempt N');
    if (key !== last || Date.now() - lastAt > 60_000) {
      process.stderr.write(`trailwarden: ${handle.workflowId}: ${status}\n`);
      last = key;
      lastAt = Date.now();
    }
  };
  const timer = setInterval(
    () => {
      inFlight ??= report().finally(() => (inFlight = undefined));
    },
    options.onStatus ? Math.min(2000, statusIntervalMs()) : statusIntervalMs(),
  );
  try {
    const outcome = await Promise.race([result.then((value) => ({ value })), signal.then((s) => ({ interrupted: s }))]);
    if ('value' in outcome) return outcome.value;
    result.catch(() => undefined);
    options.abort?.abort();
    if (options.cancelOnInterrupt) {
      await handle.cancel();
      throw new CliFailure(`interrupted (${outcome.interrupted}): cancelled ${handle.workflowId}`);
    }
    throw new CliFailure(
      options.embedded
        ? `interrupted (${outcome.interrupted}): stopped waiting for ${handle.workflowId}; the embedded server stops with it`
        : `interrupted (${outcome.interrupted}): stopped waiting; ${handle.workflowId} keeps running ` +
            `(workflow id ${handle.workflowId}; cancel it with: temporal workflow cancel --workflow-id ${handle.workflowId})`,
    );
  } finally {
    clearInterval(timer);
    dispose();
    await inFlight;
  }
}
