/**
 * `trailwarden scan --embedded --date D` with the SigmaHQ pack turned on (`rules.sigma.enabled`), as a
 * user runs it, on a folder of trail logs: the demo trail and, for each of the pack's 57 rules, the
 * records that match it and its near misses (test/sigma/fixtures/rules) made whole CloudTrail records.
 * The findings are those of parsing every record and running every rule on it; each rule's matches
 * are among them; they go through the store, incidents and notifications, and print as OCSF.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DEMO_DATE, buildSampleTrail } from '../../src/demo/sample-trail';
import { parseConfig } from '../../src/config/load';
import { findingId } from '../../src/rules/finding-id';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { ocsfProblems } from '../helpers/ocsf-schema';
import { referenceEvaluation } from '../helpers/reference-evaluator';
import { waitFor } from '../helpers/wait';
import { day } from '../rules/fixtures';

// the records the Sigma benchmark mixes into its trail, made the same way
const { ruleFixtures, wholeRecord } = require('../../scripts/bench/sigma-records') as {
  ruleFixtures: () => unknown[];
  wholeRecord: (fields: Record<string, unknown>, at: { ms: number; eventID: string }) => Record<string, unknown>;
};

const START_MS = Date.parse(`${DEMO_DATE}T12:00:00Z`);

interface RuleFixture {
  id: string;
  matches: Record<string, unknown>[];
  misses: Record<string, unknown>[];
}

const fixtures = ruleFixtures() as RuleFixture[];

function trail(): Map<string, Buffer> {
  const files = buildSampleTrail();
  let n = 0;
  const matches: Record<string, unknown>[] = [];
  for (const fixture of fixtures) {
    for (const fields of [...fixture.matches, ...fixture.misses]) {
      matches.push(wholeRecord(fields, { ms: START_MS + n * 1000, eventID: `sigma-fixture-${n}` }));
      n++;
    }
  }
  files.set(
    `AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T1300Z_sigma.json`,
    Buffer.from(JSON.stringify({ Records: matches })),
  );
  return files;
}

test('scan --embedded with the SigmaHQ pack: every rule finds its records, exactly as parsing every record does; through the store, incidents and OCSF', async () => {
  expect(fixtures.length).toBe(57);
  const dir = tempDir('sigma-scan');
  const files = trail();
  writeFiles(join(dir, 'logs'), files);
  const configObject = {
    sources: [{ type: 'directory', path: './logs' }],
    rules: { sigma: { enabled: true } },
    findings: { directory: 'findings' },
    notifications: [{ type: 'file', path: 'notifications.jsonl' }],
  };
  const config = writeConfig(dir, configObject);
  const rules = parseConfig(configObject, config).rules;
  const expected = referenceEvaluation(
    [...files].map(([key, bytes]) => ({ key, bytes })),
    rules,
    day(DEMO_DATE),
  ).findings;
  // every rule's matching records are findings of it (a correlation's base rules have none of their own)
  const fixtureIds = new Set(fixtures.flatMap((fixture) => fixture.matches.map(() => fixture.id)));
  const missing = [...fixtureIds].filter((id) => id in rules && !expected.some((f) => f.ruleId === id));
  expect(missing).toEqual([]);
  expect(new Set(expected.map((f) => f.ruleId)).size).toBeGreaterThanOrEqual(50);

  const result = await runCli(['scan', '--embedded', '--config', config, '--date', DEMO_DATE, '--json'], { cwd: dir });
  expect(result.code).toBe(0);
  const printed = jsonLines<{ id: string; ruleId: string; eventIds: string[]; sigma?: { author?: string; source: string } }>(result.stdout);
  expect(printed.map((f) => f.id).sort()).toEqual(expected.map((f) => f.id).sort());
  // a detection rule's finding is named by its rule and eventID, and keeps the rule's author and source (DRL 1.1)
  const stopLogging = printed.find((f) => f.sigma?.source === 'aws_cloudtrail_disable_logging.yml');
  expect(stopLogging?.sigma?.author).toBeTruthy();
  expect(stopLogging!.id).toBe(findingId(stopLogging!.ruleId, stopLogging!.eventIds[0]));

  // every incident notified once, in the file channel
  // one incident per rule and suppression key (by account and user, but rule 2's, which is one per run)
  const incidentKeys = new Set(
    expected.map((f) =>
      f.ruleId === '21702832-aff3-4bd6-a8e1-663b6818503d'
        ? f.ruleId
        : JSON.stringify([f.ruleId, (f as { accountId?: string }).accountId, (f as { user?: string }).user]),
    ),
  );
  const file = join(dir, 'notifications.jsonl');
  const read = () => (fs.existsSync(file) ? jsonLines<{ incident: { incidentId: string; ruleId: string } }>(fs.readFileSync(file, 'utf8')) : []);
  const notices = await waitFor(`${incidentKeys.size} notifications`, () => (read().length >= incidentKeys.size ? read() : undefined));
  expect(notices).toHaveLength(incidentKeys.size);
  expect(new Set(notices.map((n) => n.incident.incidentId)).size).toBe(notices.length);
  expect(notices.some((n) => n.incident.ruleId === stopLogging!.ruleId)).toBe(true);

  const ocsf = await runCli(['findings', '--config', config, '--date', DEMO_DATE, '--format', 'ocsf', '--rule', stopLogging!.ruleId], { cwd: dir });
  expect(ocsf.code).toBe(0);
  const events = jsonLines<Record<string, unknown>>(ocsf.stdout);
  expect(events.length).toBe(printed.filter((f) => f.ruleId === stopLogging!.ruleId).length);
  for (const event of events) expect(ocsfProblems(event, 'events/findings/detection_finding.json', ['cloud'])).toEqual([]);

  // the same scan again: nothing new is notified
  const again = await runCli(['scan', '--embedded', '--config', config, '--date', DEMO_DATE, '--json'], { cwd: dir });
  expect(again.code).toBe(0);
  expect(read()).toHaveLength(notices.length);
}, 240_000);

test('a Sigma rule the loader refuses: exit 2, one line naming the file, the rule and the problem', async () => {
  const dir = tempDir('sigma-refused');
  fs.writeFileSync(
    join(dir, 'bad.yml'),
    [
      'title: Bad',
      'id: 6f0b8a3e-2d1c-4b5a-9e8f-7a6b5c4d3e2f',
      'logsource: {product: aws, service: cloudtrail}',
      'detection:',
      '  selection:',
      '    eventName|sounds-like: StopLogging',
      '  condition: selection',
      'level: high',
    ].join('\n'),
  );
  const config = writeConfig(dir, { sources: [{ type: 'directory', path: '.' }], rules: { sigma: { paths: ['bad.yml'] } } });
  const result = await runCli(['scan', '--embedded', '--config', config, '--date', DEMO_DATE], { cwd: dir });
  expect(result.code).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/bad\.yml: rule 6f0b8a3e-2d1c-4b5a-9e8f-7a6b5c4d3e2f: .*sounds-like/);
});
