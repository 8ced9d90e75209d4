/**
 * `trailwarden scan --embedded --date D --format ocsf|asff` as a user runs it: stdout holds exactly
 * one valid OCSF Detection Finding (or ASFF finding) per finding of the demo trail, and nothing else.
 */
import { join } from 'node:path';
import { DEMO_DATE, buildSampleTrail } from '../../src/demo/sample-trail';
import { parseConfig } from '../../src/config/load';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { ocsfProblems } from '../helpers/ocsf-schema';
import { referenceEvaluation } from '../helpers/reference-evaluator';
import { day } from '../rules/fixtures';

const expectedIds = referenceEvaluation(
  [...buildSampleTrail()].map(([key, bytes]) => ({ key, bytes })),
  parseConfig({ sources: [] }).rules,
  day(DEMO_DATE),
)
  .findings.map((f) => f.id)
  .sort();

test('scan --embedded --format ocsf prints valid OCSF Detection Findings, one per finding; then --format asff from the same store', async () => {
  const dir = tempDir('scan-formats');
  writeFiles(join(dir, 'logs'), buildSampleTrail());
  const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: 'findings' }, incidents: { enabled: false } });
  const result = await runCli(['scan', '--embedded', '--config', config, '--date', DEMO_DATE, '--format', 'ocsf']);
  expect(result.code).toBe(0);
  const events = jsonLines<Record<string, unknown>>(result.stdout);
  expect(result.stdout.trim().split('\n')).toHaveLength(events.length);
  expect(events.map((e) => (e.finding_info as { uid: string }).uid).sort()).toEqual(expectedIds);
  for (const event of events) expect(ocsfProblems(event, 'events/findings/detection_finding.json', ['cloud'])).toEqual([]);
  expect(result.stderr).toContain(`scan ${DEMO_DATE}: ${expectedIds.length} finding(s)`);

  const asff = await runCli(['findings', '--config', config, '--date', DEMO_DATE, '--format', 'asff'], { env: { AWS_REGION: 'eu-west-1' } });
  expect(asff.code).toBe(0);
  const findings = jsonLines<{ Id: string; ProductArn: string; SchemaVersion: string }>(asff.stdout);
  expect(findings.map((f) => f.Id).sort()).toEqual(expectedIds);
  for (const f of findings) expect(f.ProductArn).toMatch(/^arn:aws:securityhub:eu-west-1:\d{12}:product\/\d{12}\/default$/);
});
