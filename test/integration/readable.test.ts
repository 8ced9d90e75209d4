import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DEMO_DATE, PROD_ACCOUNT, buildSampleTrail } from '../../src/demo/sample-trail';
import type { IncidentState } from '../../src/workflows/incident-types';
import { createWorker } from '../../src/workers/worker';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { temporalAddress } from '../helpers/services';

const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';

/** Readable incidents and runs (issue 14), on the real dev server, in a namespace of their own. */
describe('readable incidents and runs', () => {
  const namespace = 'tw-readable';
  const taskQueue = `readable-${Date.now()}`;
  const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: namespace, TRAILWARDEN_TASK_QUEUE: taskQueue };

  test("a scan run's details show its findings; incidents name what they are about, say 'no channels configured', take an id prefix, and show who acknowledged and why one closed", async () => {
    const dir = tempDir('readable');
    writeFiles(join(dir, 'logs'), buildSampleTrail());
    // no notification channels at all
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' } });
    const connection = await Connection.connect({ address: temporalAddress() });
    const client = new Client({ connection, namespace });
    const { worker, connection: workerConnection } = await createWorker({ address: temporalAddress(), namespace, taskQueue });
    try {
      await worker.runUntil(async () => {
        const scan = await runCli(['scan', '--config', config, '--date', DEMO_DATE], { env });
        expect(scan.code).toBe(0);

        // the run's page in the Web UI: its current details end with the findings as a Markdown table
        const metadata = await client.workflow.getHandle(`scan-${DEMO_DATE}`).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
        const details = metadata.currentDetails ?? '';
        expect(details).toMatch(/^\*\*Completed\*\*: 6 finding\(s\)/);
        expect(details).toContain('| rule | severity | account | user | bucket | time |');
        expect(details).toMatch(new RegExp(`\\| Suspicious command sent to EC2 \\| High \\| ${PROD_ACCOUNT} \\| mallory \\| exfil-drop-7781 \\| 2026-11-02T`));
        expect(details.split('\n').filter((l) => l.startsWith('| AWS Execution via System Manager | Low |'))).toHaveLength(5);

        const listed = await runCli(['incidents', '--json'], { env });
        const incidents = jsonLines<IncidentState>(listed.stdout);
        const rule2 = incidents.find((i) => i.ruleId === RULE2)!;
        // named by account, command user and bucket, not by the scan's run id
        expect(rule2.key).toEqual({ accountId: PROD_ACCOUNT, commandUser: 'mallory', s3Bucket: 'exfil-drop-7781', scan: `scan-${DEMO_DATE}` });
        const text = (await runCli(['incidents'], { env })).stdout;
        expect(text).toContain('notifications none (no channels configured)');
        expect(text).not.toContain('pending');
        expect(text).toContain(`accountId=${PROD_ACCOUNT} commandUser=mallory s3Bucket=exfil-drop-7781`);

        const rule1 = incidents.filter((i) => i.ruleId === 'PH_Rule_ES_IMPORT_AWS_15' && i.status === 'open');
        expect(rule1.length).toBeGreaterThanOrEqual(2);
        // a prefix two incidents share is refused, naming how many; a longer one is taken
        const ambiguous = await runCli(['incident', 'ack', 'incident-PH_Rule'], { env });
        expect(ambiguous.code).toBe(2);
        expect(ambiguous.stderr).toMatch(/"incident-PH_Rule" names \d+ incidents \(.*\): give more of the id/);
        const [first, second] = rule1;
        const prefix = first.incidentId.slice(0, first.incidentId.length - 8);
        expect(rule1.filter((i) => i.incidentId.startsWith(prefix))).toHaveLength(1);
        const acked = await runCli(['incident', 'ack', prefix], { env });
        expect(acked.code).toBe(0);
        expect(acked.stdout.trim()).toBe(`acknowledged ${first.incidentId}`);
        expect((await runCli(['incident', 'close', second.incidentId, '--reason', 'known maintenance'], { env })).code).toBe(0);
        await client.workflow.getHandle(second.incidentId).result();

        const after = (await runCli(['incidents'], { env })).stdout.split('\n');
        expect(after.find((l) => l.startsWith(first.incidentId))).toMatch(/ acknowledged .*acknowledged by \S+, window ends /);
        expect(after.find((l) => l.startsWith(second.incidentId))).toMatch(/ closed .*closed \S+ \(known maintenance\)/);
        const missing = await runCli(['incident', 'ack', 'incident-nothing-like-this'], { env });
        expect(missing.code).toBe(2);
        expect(missing.stderr).toContain('no incident incident-nothing-like-this');
      });
    } finally {
      await workerConnection.close();
      await connection.close();
    }
  });
});
