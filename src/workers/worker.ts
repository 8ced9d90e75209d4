import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from '../activities';
import * as watchActivities from '../activities/watch';
import { sharedScanPool } from '../scan/scan-pool';
import { dataConverterFor } from '../codec/payload-storage';
import type { PayloadStorageConfig } from '../config/schema';
import type { ConnectionSecurity } from '../config/temporal-connection';
import { checkTuningEnvironment } from '../config/tuning';

export const DEFAULT_TASK_QUEUE = 'trailwarden';

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue?: string;
  maxConcurrentActivityTaskExecutions?: number;
  security?: ConnectionSecurity;
  /** External Storage for large payloads: the same everywhere a client or worker touches these workflows */
  payloadStorage?: PayloadStorageConfig;
}

/** The prebuilt workflow bundle (npm run build) when present, else bundle the workflow sources now. */
function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundle = join(__dirname, '..', 'workflow-bundle.js');
  if (existsSync(bundle) && !process.env.TRAILWARDEN_BUNDLE_WORKFLOWS) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve('../workflows') };
}

export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  checkTuningEnvironment();
  const connection = await NativeConnection.connect({ address: options.address, ...options.security });
  await sharedScanPool()?.warm();
  const dataConverter = dataConverterFor(options.payloadStorage);
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities: { ...activities, ...watchActivities },
    ...workflowSource(),
    // with codec keys configured, every payload is encrypted before it reaches Temporal (and before
    // it is offloaded to payloadStorage when large)
    ...(dataConverter ? { dataConverter } : {}),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 8,
    // workflow tasks here are small (plans, counters, timers): one workflow thread is enough, and each costs ~35 MB
    workflowThreadPoolSize: 1,
    // checkpoints are only as fresh as the last heartbeat the server saw: send them at least every second
    maxHeartbeatThrottleInterval: '1 second',
  });
  return { worker, connection };
}
