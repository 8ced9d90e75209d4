/**
 * A rule that is not built in (CloudTrail StopLogging, test/helpers/stop-logging-rule.ts), registered
 * and nothing else changed: its findings come out of a real scan on the dev server, the CLI's text,
 * JSON lines, OCSF and ASFF, the findings filters, the file channel's notice (the webhook body), the
 * Slack message, and Security Hub on moto (after a refused import that Temporal retries).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { main } from '../../src/cli/main';
import { buildSampleTrail, DEMO_DATE, PROD_ACCOUNT } from '../../src/demo/sample-trail';
import type { IncidentNotice } from '../../src/notify/notice';
import { slackMessage } from '../../src/notify/slack';
import { registerRule } from '../../src/rules';
import { createWorker } from '../../src/workers/worker';
import { jsonLines, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { ocsfProblems } from '../helpers/ocsf-schema';
import { startSecurityHubProxy } from '../helpers/securityhub-proxy';
import { s3Endpoint, temporalAddress } from '../helpers/services';
import { stopLogging } from '../helpers/stop-logging-rule';
import { waitFor } from '../helpers/wait';

// a finding as the formats print it, read field by field
type JsonObject = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NAMESPACE = 'tw-extra-rule';
const TASK_QUEUE = `extra-rule-${Date.now()}`;
const HUB_REGION = 'eu-north-1';
const STOP_EVENT_ID = '5f0c1a6e-0d2b-4a39-9c1e-5b7a2f3d4e61';

function stopLoggingRecord() {
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${PROD_ACCOUNT}:user/eve`, accountId: PROD_ACCOUNT, userName: 'eve' },
    eventTime: `${DEMO_DATE}T15:04:05Z`,
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'StopLogging',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.23',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: { name: `arn:aws:cloudtrail:us-east-1:${PROD_ACCOUNT}:trail/management-events` },
    responseElements: null,
    eventID: STOP_EVENT_ID,
    readOnly: false,
    eventType: 'AwsApiCall',
    recipientAccountId: PROD_ACCOUNT,
  };
}

/** Runs the CLI in this process (so it knows the registered rule), with its stdout. */
async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  try {
    const code = await main(['node', 'trailwarden', ...args]);
    return { code, stdout };
  } finally {
    spy.mockRestore();
  }
}

async function hubFindings() {
  const client = new SecurityHubClient({ region: HUB_REGION, endpoint: s3Endpoint() });
  try {
    return (await client.send(new GetFindingsCommand({ MaxResults: 100 }))).Findings ?? [];
  } finally {
    client.destroy();
  }
}

test('a registered StopLogging rule flows through scan, CLI formats, filters, notifications and Security Hub', async () => {
  registerRule(stopLogging);
  const saved = { ...process.env };
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: NAMESPACE,
    TRAILWARDEN_TASK_QUEUE: TASK_QUEUE,
    TRAILWARDEN_SCAN_THREADS: '0',
  });
  const proxy = await startSecurityHubProxy(s3Endpoint());
  // the first import reports a refused finding: the notification's activity fails and Temporal retries it
  proxy.failNext = 1;
  const dir = tempDir('extra-rule');
  const files = buildSampleTrail();
  files.set(
    `AWSLogs/${PROD_ACCOUNT}/CloudTrail/us-east-1/2026/11/02/${PROD_ACCOUNT}_CloudTrail_us-east-1_20261102T1505Z_stoplogging.json.gz`,
    gzipSync(JSON.stringify({ Records: [stopLoggingRecord()] })),
  );
  writeFiles(join(dir, 'logs'), files);
  const notices = join(dir, 'notifications.jsonl');
  const config = writeConfig(dir, {
    sources: [{ type: 'directory', path: join(dir, 'logs') }],
    findings: { directory: join(dir, 'findings') },
    rules: { [stopLogging.id]: {} },
    notifications: [
      { type: 'file', path: notices },
      { type: 'securityhub', region: HUB_REGION, accountId: PROD_ACCOUNT, endpoint: proxy.endpoint },
    ],
  });
  const { worker, connection } = await createWorker({ address: temporalAddress(), namespace: NAMESPACE, taskQueue: TASK_QUEUE });
  const running = worker.run();
  try {
    const scan = await cli(['scan', '--config', config, '--date', DEMO_DATE]);
    expect(scan.code).toBe(0);
    const view = stopLogging.view({
      accountId: PROD_ACCOUNT,
      user: 'eve',
      trail: stopLoggingRecord().requestParameters.name,
      sourceIpAddress: '198.51.100.23',
      awsRegion: 'us-east-1',
    } as never);
    const line = scan.stdout.split('\n').find((l) => l.includes(view.title));
    expect(line).toMatch(
      /^\[Medium\] CloudTrail logging stopped {2}eve stopped trail arn:aws:cloudtrail:us-east-1:111122223333:trail\/management-events in account 111122223333 \(us-east-1\) {2}\(Account: 111122223333; User: eve; Trail: .*; From: 198\.51\.100\.23\) {2}id=f-/,
    );
    expect(scan.stdout).toContain(`${stopLogging.id}: 1`);

    // every format, from the store, and the filters
    const ocsf = jsonLines<JsonObject>((await cli(['findings', '--config', config, '--date', DEMO_DATE, '--rule', stopLogging.id, '--format', 'ocsf'])).stdout);
    expect(ocsf).toHaveLength(1);
    expect(ocsfProblems(ocsf[0], 'events/findings/detection_finding.json', ['cloud'])).toEqual([]);
    expect(ocsf[0]).toMatchObject({
      severity_id: 3,
      finding_info: { title: view.title, analytic: { uid: stopLogging.id }, attacks: [{ sub_technique: { uid: 'T1562.008' } }] },
    });
    const asff = jsonLines<JsonObject>((await cli(['findings', '--config', config, '--date', DEMO_DATE, '--severity', 'medium', '--format', 'asff'])).stdout);
    expect(asff.map((f) => [f.GeneratorId, f.Title, f.Severity.Label, f.Types])).toEqual([
      [stopLogging.id, view.title, 'MEDIUM', ['TTPs/Defense Evasion/T1562.008']],
    ]);
    const stored = jsonLines<{ id: string; ruleId: string }>((await cli(['findings', '--config', config, '--date', DEMO_DATE, '--json'])).stdout);
    expect(stored.filter((f) => f.ruleId === stopLogging.id).map((f) => f.id)).toEqual([ocsf[0].finding_info.uid]);
    expect(stored.length).toBeGreaterThan(1);
    const id = ocsf[0].finding_info.uid as string;

    // the notice every channel gets (the file channel's line holds the webhook body's incident) and Slack's message
    const notice = await waitFor('the StopLogging notice', () => {
      if (!existsSync(notices)) return undefined;
      return jsonLines<{ incident: IncidentNotice }>(readFileSync(notices, 'utf8'))
        .map((l) => l.incident)
        .find((n) => n.ruleId === stopLogging.id);
    });
    expect(notice).toMatchObject({
      ruleName: 'CloudTrail logging stopped',
      severity: 'Medium',
      evidence: [{ id, title: view.title, fields: view.fields, accountId: PROD_ACCOUNT }],
    });
    const slack = slackMessage(notice).text;
    for (const part of ['Medium: CloudTrail logging stopped', `Finding: ${view.title}`, 'Trail: arn:aws:cloudtrail', 'From: 198.51.100.23'])
      expect(slack).toContain(part);

    // Security Hub: every incident's findings, the refused first import retried by Temporal, no copies
    const imported = await waitFor('every finding in Security Hub', async () => {
      const found = await hubFindings();
      return found.length >= stored.length ? found : undefined;
    });
    expect(imported.map((f) => f.Id).sort()).toEqual(stored.map((f) => f.id).sort());
    expect(imported.filter((f) => f.GeneratorId === stopLogging.id).map((f) => [f.Id, f.Title, f.AwsAccountId])).toEqual([[id, view.title, PROD_ACCOUNT]]);
    // the refusal was served, and what it refused was imported again by the retry: each finding once
    expect(proxy.failNext).toBe(0);
    expect(imported).toHaveLength(stored.length);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await proxy.close();
    process.env = saved;
  }
});
