/**
 * The securityhub channel through Temporal: an incident of 25 findings (one noisy user's 25 windows)
 * puts all 25 into Security Hub on moto, beyond the 20 its notice lists, each once.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { createWorker } from '../../src/workers/worker';
import { jsonLines, runCli, tempDir, writeConfig } from '../helpers/cli';
import { s3Endpoint, temporalAddress } from '../helpers/services';
import { waitFor } from '../helpers/wait';
import { ACCOUNT, iamUser, sendCommand } from '../rules/fixtures';

const DATE = '2026-10-20';
const REGION = 'us-west-1';
const NAMESPACE = 'tw-securityhub';

async function hubIds(): Promise<string[]> {
  const client = new SecurityHubClient({ region: REGION, endpoint: s3Endpoint() });
  try {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new GetFindingsCommand({ MaxResults: 100, NextToken: token }));
      ids.push(...(page.Findings ?? []).map((f) => f.Id as string));
      token = page.NextToken || undefined;
    } while (token);
    return ids.sort();
  } finally {
    client.destroy();
  }
}

test('an incident of 25 findings imports all 25 into Security Hub, once each', async () => {
  const dir = tempDir('hub-incident');
  const records = Array.from({ length: 25 }, (_, i) =>
    sendCommand({
      eventID: `bulk-${i}`,
      eventTime: new Date(Date.parse(`${DATE}T08:00:00Z`) + i * 300_000).toISOString().replace('.000Z', 'Z'),
      userIdentity: iamUser('bulk-user'),
    }),
  );
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs', 'bulk.json.gz'), gzipSync(JSON.stringify({ Records: records })));
  const config = writeConfig(dir, {
    sources: [{ type: 'directory', path: './logs' }],
    findings: { directory: './findings' },
    notifications: [{ type: 'securityhub', region: REGION, accountId: ACCOUNT, endpoint: s3Endpoint() }],
  });
  const taskQueue = `hub-incident-${Date.now()}`;
  const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: NAMESPACE, TRAILWARDEN_TASK_QUEUE: taskQueue };
  const { worker, connection } = await createWorker({ address: temporalAddress(), namespace: NAMESPACE, taskQueue });
  try {
    await worker.runUntil(async () => {
      const scan = await runCli(['scan', '--config', config, '--date', DATE, '--json'], { env });
      expect(scan.code).toBe(0);
      const findings = jsonLines<{ id: string }>(scan.stdout);
      expect(findings).toHaveLength(25);
      expect(scan.stderr).toContain('25 new finding(s) sent to 1 incident(s)');
      const ids = await waitFor('25 findings in Security Hub', async () => {
        const held = await hubIds();
        return held.length >= 25 ? held : undefined;
      });
      expect(ids).toEqual(findings.map((f) => f.id).sort());
    });
  } finally {
    await connection.close();
  }
});
