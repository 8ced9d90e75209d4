import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DEMO_DATE, buildSampleTrail } from '../../src/demo/sample-trail';
import { freePort } from '../../src/local/dev-server';
import { BIN, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';

function startDev(args: string[], cwd: string): Promise<ChildProcess> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(process.execPath, [BIN, 'dev', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`dev did not start: ${stderr}`)), 90_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('press Ctrl-C to stop')) {
        clearTimeout(timer);
        resolveStart(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`dev exited with ${code}: ${stderr}`)));
  });
}

async function stopDev(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  return exited;
}

test('trailwarden dev serves the Web UI and keeps run history across a restart', async () => {
  const dir = tempDir('dev');
  writeFiles(join(dir, 'logs'), buildSampleTrail());
  const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' } });
  const ports = async () => ({ port: await freePort(), uiPort: await freePort() });
  const argsFor = ({ port, uiPort }: { port: number; uiPort: number }) => ['--port', String(port), '--ui-port', String(uiPort), '--config', config];

  let { port, uiPort } = await ports();
  let dev = await startDev(argsFor({ port, uiPort }), dir);
  const scan = await runCli(['scan', '--config', config, '--date', DEMO_DATE], { env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` }, cwd: dir });
  expect(scan.stdout).toContain('6 finding(s)');
  expect(scan.code).toBe(0);
  expect(await stopDev(dev)).toBe(0);

  // new ports for the restart (other tests may have taken the old ones); the history is in .trailwarden/dev.db
  ({ port, uiPort } = await ports());
  dev = await startDev(argsFor({ port, uiPort }), dir);
  try {
    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    const client = new Client({ connection });
    const description = await client.workflow.getHandle(`scan-${DEMO_DATE}`).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.type).toBe('DailyScanWorkflow');
    await connection.close();
  } finally {
    await stopDev(dev);
  }
});
