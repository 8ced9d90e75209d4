import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { UsageError } from './load';
import type { RawConfig } from './schema';

export interface ConnectionSecurity {
  tls?: TLSConfig;
  apiKey?: string;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

/**
 * TLS and API-key options for Temporal connections, from config `temporal.tls` / `temporal.apiKeyEnv`
 * or the Temporal CLI's environment variables (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
 * TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS, TEMPORAL_API_KEY). An API key implies TLS.
 */
export function connectionSecurity(temporal: RawConfig['temporal'], env: NodeJS.ProcessEnv = process.env): ConnectionSecurity {
  const certPath = env.TEMPORAL_TLS_CLIENT_CERT_PATH ?? temporal.tls?.clientCertPath;
  const keyPath = env.TEMPORAL_TLS_CLIENT_KEY_PATH ?? temporal.tls?.clientKeyPath;
  const caPath = env.TEMPORAL_TLS_SERVER_CA_CERT_PATH ?? temporal.tls?.serverCaCertPath;
  const serverName = env.TEMPORAL_TLS_SERVER_NAME ?? temporal.tls?.serverName;
  const apiKeyVariable = temporal.apiKeyEnv ?? 'TEMPORAL_API_KEY';
  const apiKey = env[apiKeyVariable];
  if (temporal.apiKeyEnv && !apiKey) throw new UsageError(`config: temporal.apiKeyEnv: environment variable ${temporal.apiKeyEnv} is not set`);
  if (Boolean(certPath) !== Boolean(keyPath)) throw new UsageError('mutual TLS needs both a client certificate and its key');
  const wantsTls = Boolean(certPath || caPath || serverName || apiKey || temporal.tls || env.TEMPORAL_TLS === 'true');
  if (!wantsTls) return {};
  const tls: TLSConfig = {
    ...(serverName ? { serverNameOverride: serverName } : {}),
    ...(caPath ? { serverRootCACertificate: read(caPath, 'server CA certificate') } : {}),
    ...(certPath && keyPath ? { clientCertPair: { crt: read(certPath, 'client certificate'), key: read(keyPath, 'client key') } } : {}),
  };
  return { tls, ...(apiKey ? { apiKey } : {}) };
}
