import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startDevServer } from '../../src/local/dev-server';
import { motoServerPath } from '../../src/local/tools';
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
  const moto = motoServerPath();
  if (!moto) throw new Error('moto_server is not available and could not be installed into .tools/');
  const port = await freePort();
  const child: ChildProcess = spawn(moto, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await fetch(`${endpoint}/`);
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`moto did not start at ${endpoint}: ${error}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  process.env.TW_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TW_TEST_S3_ENDPOINT = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  (globalThis as Record<string, unknown>).__TW_SERVICES__ = { temporal, moto: child };
}
