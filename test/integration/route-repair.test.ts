/**
 * routeFindings after a crash between the ledger claim and the incident signal: the retry (or any later
 * run, on any worker) finds the claim and signals the incident the claim names, once.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import type { Finding } from '../../src/rules/types';
import { IncidentLedger } from '../../src/store/incident-ledger';
import { DirectoryBlobStore } from '../../src/store/blob-store';
import { createWorker } from '../../src/workers/worker';
import type { IncidentState } from '../../src/workflows/incident-types';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { temporalAddress } from '../helpers/services';
import { waitFor } from '../helpers/wait';
import { startWebhookReceiver } from '../helpers/webhook-receiver';

const NAMESPACE = 'tw-route-repair';
const DATE = '2026-07-21';
const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';

test('a claim left without its signal is completed by the next run, to the incident it names; nothing is notified twice', async () => {
  const taskQueue = `route-repair-${process.pid}`;
  const receiver = await startWebhookReceiver();
  const env = { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: NAMESPACE, TRAILWARDEN_TASK_QUEUE: taskQueue, TW_REPAIR_SECRET: 's' };
  process.env.TW_REPAIR_SECRET = 's';
  const dir = tempDir('route-repair');
  writeFiles(join(dir, 'logs'), buildSampleTrail(DATE));
  const base = { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' } };
  mkdirSync(join(dir, 'quiet'));
  const quiet = writeConfig(join(dir, 'quiet'), {
    ...base,
    sources: [{ type: 'directory', path: join(dir, 'logs') }],
    findings: { directory: join(dir, 'findings') },
    incidents: { enabled: false },
  });
  const config = writeConfig(dir, { ...base, notifications: [{ type: 'webhook', url: receiver.url, secretEnv: 'TW_REPAIR_SECRET' }] });
  const { worker, connection } = await createWorker({ address: temporalAddress(), namespace: NAMESPACE, taskQueue });
  try {
    await worker.runUntil(async () => {
      // the findings, stored, and no routing yet
      const first = await runCli(['scan', '--json', '--config', quiet, '--date', DATE], { env });
      expect(first.code).toBe(0);
      const findings = jsonLines<Finding>(first.stdout);
      const rule2 = findings.find((f) => f.ruleId === RULE2)!;
      expect(rule2).toBeDefined();
      // a worker claimed rule 2's finding for the incident of its run, then died before signalling it
      const ledger = new IncidentLedger(new DirectoryBlobStore(join(dir, 'findings')));
      const claimed = {
        findingId: rule2.id,
        incidentId: 'incident-claimed-by-a-dead-run',
        runId: 'dead-run',
        ruleId: RULE2,
        key: { scanWorkflowId: `scan-${DATE}`, scanRunId: 'dead-run' },
        windowMs: 0,
      };
      expect(await ledger.claim(DATE, claimed)).toEqual(claimed);

      const scan = await runCli(['scan', '--config', config, '--date', DATE], { env });
      expect(scan.code).toBe(0);
      expect(scan.stdout).toContain(`${findings.length} new finding(s) sent to`);
      const incidents = jsonLines<IncidentState>((await runCli(['incidents', '--json', '--config', config], { env })).stdout);
      const repaired = incidents.find((i) => i.incidentId === 'incident-claimed-by-a-dead-run');
      expect(repaired?.evidence.map((e) => e.id)).toEqual([rule2.id]);
      expect(incidents.filter((i) => i.ruleId === RULE2)).toHaveLength(1);
      const routed = await ledger.read(DATE);
      expect([...routed.values()].every((s) => s.routed)).toBe(true);
      expect(routed.size).toBe(findings.length);

      const again = await runCli(['scan', '--config', config, '--date', DATE], { env });
      expect(again.stdout).toContain(`0 new finding(s) sent to 0 incident(s); ${findings.length} already sent by an earlier run`);
      await waitFor(`${incidents.length} notifications`, () => (receiver.accepted.size >= incidents.length ? true : undefined));
      await new Promise((r) => setTimeout(r, 1500));
      expect(receiver.attempts).toHaveLength(incidents.length);
      expect([...receiver.accepted.keys()].filter((k) => k.includes('incident-claimed-by-a-dead-run'))).toHaveLength(1);
    });
  } finally {
    await connection.close();
    await receiver.close();
  }
}, 180_000);
