import { spawn } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { BIN, ROOT, runCli, tempDir, writeConfig } from '../helpers/cli';
import { temporalAddress } from '../helpers/services';
import { waitFor } from '../helpers/wait';

describe('the scan command as an operator runs it', () => {
  test('relative store paths are refused (exit 2, one message) against a Temporal service on another machine', async () => {
    const dir = tempDir('remote-paths');
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' } });
    const result = await runCli(['scan', '--date', '2026-09-01', '--config', config], { env: { TEMPORAL_ADDRESS: 'temporal.prod.invalid:7233' } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `trailwarden: config ${config}: sources.0.path, findings.directory: a relative path is resolved on this machine, ` +
        'but the workers of temporal.prod.invalid:7233 run elsewhere: give an absolute path they share, or an s3 store',
    ]);
  });

  test.each(['SIGTERM', 'SIGINT'] as const)('%s while waiting stops the CLI and says the scan keeps running, with its workflow id', async (signal) => {
    const date = signal === 'SIGTERM' ? '2026-09-02' : '2026-09-03';
    const dir = tempDir('stop');
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: dir }], findings: { directory: `${dir}/findings` } });
    // a task queue no worker polls: the scan waits
    const env = { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: `tw-nobody-${process.pid}-${signal}` };
    const child = spawn(process.execPath, [BIN, 'scan', '--date', date, '--config', config], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const connection = await Connection.connect({ address: temporalAddress() });
    try {
      const handle = new Client({ connection }).workflow.getHandle(`scan-${date}`);
      await waitFor('the scan to start', async () => ((await handle.describe().catch(() => undefined))?.status.name === 'RUNNING' ? true : undefined), 30_000);
      await new Promise((r) => setTimeout(r, 500));
      const sentAt = Date.now();
      child.kill(signal);
      expect(await exited).toBe(1);
      expect(Date.now() - sentAt).toBeLessThan(5000);
      expect(stderr).toContain(`stopped waiting (${signal}); the scan keeps running in Temporal as workflow scan-${date}`);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test cleanup');
    } finally {
      await connection.close();
    }
  });
});
