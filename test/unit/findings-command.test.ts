/**
 * `trailwarden findings` over a findings folder: --date, --from/--to, --rule, --severity, --account
 * and --format; bad arguments exit 2 with one message naming the problem (the CLI in this process).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { parseConfig } from '../../src/config/load';
import { buildSampleTrail, DEMO_DATE, DEV_ACCOUNT, PROD_ACCOUNT } from '../../src/demo/sample-trail';
import { ssmCommandExecution, ssmOutputToForeignBucket, viewOf } from '../../src/rules';
import type { Finding } from '../../src/rules/types';
import { jsonLines, tempDir, writeConfig } from '../helpers/cli';
import { referenceEvaluation } from '../helpers/reference-evaluator';
import { day } from '../rules/fixtures';

const NEXT_DAY = '2026-11-03';
const findingsOf = (date: string): Finding[] =>
  referenceEvaluation(
    [...buildSampleTrail(date)].map(([key, bytes]) => ({ key, bytes })),
    parseConfig({ sources: [] }).rules,
    day(date),
  ).findings;
const byDate = new Map([DEMO_DATE, NEXT_DAY].map((date) => [date, findingsOf(date)]));
const all = [...byDate.values()].flat();

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += c.toString()), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += c.toString()), true));
  try {
    return { code: await main(['node', 'trailwarden', ...args]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let config: string;
beforeAll(() => {
  const dir = tempDir('findings-command');
  mkdirSync(join(dir, 'findings'));
  for (const [date, findings] of byDate) writeFileSync(join(dir, 'findings', `${date}.jsonl`), findings.map((f) => `${JSON.stringify(f)}\n`).join(''));
  config = writeConfig(dir, { sources: [{ type: 'directory', path: dir }], findings: { directory: join(dir, 'findings') } });
});

const ids = (stdout: string) =>
  jsonLines<Finding>(stdout)
    .map((f) => f.id)
    .sort();
const idsOf = (findings: Finding[]) => findings.map((f) => f.id).sort();

test('the demo has findings of both rules, in both accounts, on both days', () => {
  for (const findings of byDate.values()) expect(new Set(findings.map((f) => f.ruleId)).size).toBe(2);
  expect(new Set(all.map((f) => viewOf(f).accountId))).toEqual(new Set([PROD_ACCOUNT, DEV_ACCOUNT]));
});

test('--date, and --from/--to over both days', async () => {
  expect(ids((await run(['findings', '--config', config, '--date', DEMO_DATE, '--json'])).stdout)).toEqual(idsOf(byDate.get(DEMO_DATE)!));
  expect(ids((await run(['findings', '--config', config, '--from', DEMO_DATE, '--to', NEXT_DAY, '--format', 'jsonl'])).stdout)).toEqual(idsOf(all));
});

test('--rule, --severity and --account keep what they name; several values of one are any of them, several filters all of them', async () => {
  const range = ['findings', '--config', config, '--from', DEMO_DATE, '--to', NEXT_DAY, '--json'];
  expect(ids((await run([...range, '--rule', ssmOutputToForeignBucket.id])).stdout)).toEqual(
    idsOf(all.filter((f) => f.ruleId === ssmOutputToForeignBucket.id)),
  );
  expect(ids((await run([...range, '--severity', 'low'])).stdout)).toEqual(idsOf(all.filter((f) => f.severity === 'Low')));
  expect(ids((await run([...range, '--severity', 'High', '--severity', 'Low'])).stdout)).toEqual(idsOf(all));
  expect(ids((await run([...range, '--account', DEV_ACCOUNT])).stdout)).toEqual(idsOf(all.filter((f) => viewOf(f).accountId === DEV_ACCOUNT)));
  const both = all.filter((f) => f.ruleId === ssmCommandExecution.id && viewOf(f).accountId === PROD_ACCOUNT);
  expect(both.length).toBeGreaterThan(0);
  expect(ids((await run([...range, '--rule', ssmCommandExecution.id, '--account', PROD_ACCOUNT])).stdout)).toEqual(idsOf(both));
  expect((await run([...range, '--severity', 'critical'])).stdout).toBe('');
});

test('text prints one line per finding and the count on stderr; ocsf and asff one JSON object per finding', async () => {
  const text = await run(['findings', '--config', config, '--date', DEMO_DATE]);
  expect(text.stdout.trim().split('\n')).toHaveLength(byDate.get(DEMO_DATE)!.length);
  expect(text.stderr).toContain(`${byDate.get(DEMO_DATE)!.length} finding(s) stored for ${DEMO_DATE}`);
  const ocsf = jsonLines<{ class_uid: number; finding_info: { uid: string } }>(
    (await run(['findings', '--config', config, '--date', DEMO_DATE, '--format', 'ocsf'])).stdout,
  );
  expect(ocsf.map((e) => e.class_uid)).toEqual(byDate.get(DEMO_DATE)!.map(() => 2004));
  expect(ocsf.map((e) => e.finding_info.uid).sort()).toEqual(idsOf(byDate.get(DEMO_DATE)!));
  const asff = jsonLines<{ Id: string }>((await run(['findings', '--config', config, '--date', DEMO_DATE, '--format', 'asff'])).stdout);
  expect(asff.map((f) => f.Id).sort()).toEqual(idsOf(byDate.get(DEMO_DATE)!));
});

test.each([
  [['--date', DEMO_DATE, '--rule', 'no-such-rule'], /^trailwarden: --rule "no-such-rule" is not a rule id \(known: PH_Rule_ES_IMPORT_AWS_15, /],
  [['--date', DEMO_DATE, '--severity', 'urgent'], /^trailwarden: --severity "urgent" is not a severity \(one of Informational, Low, Medium, High, Critical\)/],
  [['--date', DEMO_DATE, '--account', '12345'], /^trailwarden: --account "12345" is not a 12-digit AWS account id/],
  [['--from', NEXT_DAY, '--to', DEMO_DATE], /^trailwarden: --from 2026-11-03 is after --to 2026-11-02/],
  [['--to', DEMO_DATE], /^trailwarden: findings needs --date YYYY-MM-DD, or --from YYYY-MM-DD and --to YYYY-MM-DD/],
  [['--date', DEMO_DATE, '--json', '--format', 'ocsf'], /^trailwarden: --json means --format jsonl; it cannot go with --format ocsf/],
  [['--date', DEMO_DATE, '--format', 'xml'], /argument 'xml' is invalid\. Allowed choices are text, jsonl, ocsf, asff/],
])('findings %j exits 2 naming the problem', async (args, message) => {
  const result = await run(['findings', '--config', config, ...args]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stdout).toBe('');
});
