/** `trailwarden demo --securityhub`: the demo's incidents' findings end up in Security Hub on its moto, each once. */
import { runCli, tempDir } from '../helpers/cli';

test('demo --securityhub imports every finding it prints into Security Hub on moto', async () => {
  const result = await runCli(['demo', '--source', 'directory', '--securityhub'], { cwd: tempDir('demo-hub') });
  expect(result.code).toBe(0);
  const printed = result.stdout.split('\n').filter((line) => /^\[(Low|High)\] /.test(line)).length;
  expect(printed).toBeGreaterThan(1);
  expect(result.stdout).toMatch(
    new RegExp(`\\n${printed} finding\\(s\\) in Security Hub on moto at http://127\\.0\\.0\\.1:\\d+ \\(region us-east-1; GetFindings lists them\\)\\n`),
  );
});
