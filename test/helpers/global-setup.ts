import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startDevServer } from '../../src/local/dev-server';
import { startMotoServer } from '../../src/local/moto';
import { TEST_NAMESPACES } from './services';

/**
 * Starts the real services once for the whole run: a Temporal dev server (the `temporal` CLI from
 * PATH or .tools/, installed there when missing) and moto's S3 server, and makes sure Debian's
 * chromium is there for the Web UI test. Nothing here is optional:
 * a missing binary is installed, and a failure to start fails the run.
 */
export default async function globalSetup(): Promise<void> {
  execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'ensure-chromium.sh')], { stdio: 'inherit' });
  const temporal = await startDevServer({ extraNamespaces: [...TEST_NAMESPACES] });
  const moto = await startMotoServer();
  const endpoint = moto.endpoint;
  process.env.TW_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TW_TEST_S3_ENDPOINT = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  (globalThis as Record<string, unknown>).__TW_SERVICES__ = { temporal, moto };
}
