import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from './dev-server';
import { installError, motoServerPath } from './tools';

export interface LocalS3 {
  endpoint: string;
  /** the server's process (benchmarks read its CPU) */
  pid: number | undefined;
  stop(): void;
}

/** Starts moto's S3 server (from PATH or .tools/, installed there when missing) on a free port. */
export async function startMotoServer(): Promise<LocalS3> {
  const server = motoServerPath();
  if (!server) {
    const why = installError('moto_server');
    throw new Error(`moto_server is not on PATH or in .tools/${why ? `, and installing it failed: ${why}` : ''}`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(server, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await fetch(`${endpoint}/`);
      return { endpoint, pid: child.pid, stop: () => child.kill('SIGTERM') };
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`moto did not start at ${endpoint}: ${error}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
