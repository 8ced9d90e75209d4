import { runCli, tempDir, writeConfig } from '../helpers/cli';

describe('a scan against a remote Temporal service', () => {
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
  // SIGINT and SIGTERM while waiting: test/integration/failures.test.ts (the interrupted wait)
});
