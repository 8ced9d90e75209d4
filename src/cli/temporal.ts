import { Client, Connection } from '@temporalio/client';
import { dataConverterFor, payloadStorageFor } from '../codec/payload-storage';
import type { PayloadStorageConfig } from '../config/schema';
import { type LoadedConfig, isLoopback } from '../config/load';
import { type ConnectionSecurity, connectionSecurity } from '../config/temporal-connection';
import { DEFAULT_TASK_QUEUE } from '../workers/worker';

export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  security?: ConnectionSecurity;
  /** External Storage for large payloads (the config's payloadStorage; a local folder for --embedded, dev, demo) */
  payloadStorage?: PayloadStorageConfig;
  /** a private dev server of this process (--embedded): it ends with the process */
  embedded?: boolean;
}

/** $TEMPORAL_ADDRESS and $TEMPORAL_NAMESPACE win over the config file; defaults match the dev server. */
export function temporalTarget(config: LoadedConfig): TemporalTarget {
  const address = process.env.TEMPORAL_ADDRESS ?? config.temporal.address ?? 'localhost:7233';
  return {
    address,
    namespace: process.env.TEMPORAL_NAMESPACE ?? config.temporal.namespace ?? 'default',
    taskQueue: process.env.TRAILWARDEN_TASK_QUEUE ?? config.temporal.taskQueue ?? DEFAULT_TASK_QUEUE,
    security: connectionSecurity(config.temporal),
    // a service on this machine (trailwarden dev) keeps large payloads in ./.trailwarden/payloads unless told otherwise
    payloadStorage: config.payloadStorage ?? payloadStorageFor(undefined, isLoopback(address)),
  };
}

export async function connectClient(target: TemporalTarget): Promise<{ client: Client; close: () => Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address, connectTimeout: 5000, ...target.security });
  } catch (error) {
    throw new Error(
      `cannot reach Temporal at ${target.address} (${(error as Error).message}); ` +
        'start one with `trailwarden dev`, set $TEMPORAL_ADDRESS, or pass --embedded',
    );
  }
  const dataConverter = dataConverterFor(target.payloadStorage);
  return { client: new Client({ connection, namespace: target.namespace, ...(dataConverter ? { dataConverter } : {}) }), close: () => connection.close() };
}
