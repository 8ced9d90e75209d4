import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { IncidentSettings, NamedChannel } from '../config/load';
import { deliver } from '../notify/deliver';
import { PermanentDeliveryError } from '../notify/errors';
import { type FindingBrief, type IncidentNotice, briefOf } from '../notify/notice';
import { ruleById } from '../rules';
import type { Finding } from '../rules/types';
import { str } from '../cloudtrail/record';
import { appendLedger, readLedger } from '../store/incident-ledger';
import { parseIsoDuration } from '../config/duration';
import { blobLines } from './scratch';
import type { LinesBlob } from './types';

export interface RouteFindingsInput {
  date: string;
  findingsDirectory: string;
  findings: LinesBlob;
  rules: Record<string, unknown>;
  incidents: IncidentSettings;
  scan: { workflowId: string; runId: string };
  indexed?: boolean;
}

export interface RouteFindingsResult {
  incidents: string[];
  routed: number;
  alreadyRouted: number;
}

interface Suppression {
  enabled: boolean;
  duration: string;
  keyFields: string[];
}

/** The new findings of one incident: its rule, its suppression key and window. */
interface IncidentGroup {
  ruleId: string;
  key: Record<string, string>;
  windowMs: number;
  findings: Finding[];
}

const SIGNAL_BATCH = 500;
const ROUTE_CONCURRENCY = 8;

/**
 * Turns a scan's new findings into incidents: each finding not already in the ledger goes, with
 * signal-with-start, to the IncidentWorkflow of its (rule, suppression key), or of its (rule, scan run)
 * when the rule's suppression is off. Then the ledger records it, so no later scan routes it again.
 */
export async function routeFindings(input: RouteFindingsInput): Promise<RouteFindingsResult> {
  const context = Context.current();
  const { client } = context;
  const { workflowNamespace, taskQueue } = context.info;
  const ledger = readLedger(input.findingsDirectory, input.date);
  const groups = new Map<string, IncidentGroup>();
  let alreadyRouted = 0;
  for (const line of blobLines(input.findings)) {
    const finding = JSON.parse(line) as Finding;
    if (ledger.has(finding.id)) {
      alreadyRouted++;
      continue;
    }
    const suppression = (input.rules[finding.ruleId] as { suppression?: Suppression } | undefined)?.suppression;
    const key: Record<string, string> = suppression?.enabled
      ? Object.fromEntries(suppression.keyFields.map((field) => [field, str((finding as unknown as Record<string, unknown>)[field])]))
      : { scanWorkflowId: input.scan.workflowId, scanRunId: input.scan.runId };
    const hash = createHash('sha256').update(JSON.stringify([finding.ruleId, key])).digest('hex').slice(0, 20);
    const incidentId = `incident-${finding.ruleId}-${hash}`;
    const group = groups.get(incidentId) ?? { ruleId: finding.ruleId, key, windowMs: suppression?.enabled ? parseIsoDuration(suppression.duration) : 0, findings: [] };
    group.findings.push(finding);
    groups.set(incidentId, group);
  }

  // without suppression a scan run's findings make one incident (its id comes from the run); it is
  // named by what it is about: the accounts, the command users and the buckets of its findings
  for (const group of groups.values()) {
    if (group.windowMs > 0 || !('scanRunId' in group.key)) continue;
    group.key = describedKey(group.findings, input.scan.workflowId);
  }

  const runLink = `${input.incidents.webUiUrl}/namespaces/${workflowNamespace}/workflows/${input.scan.workflowId}/${input.scan.runId}/history`;
  const routeGroup = async ([incidentId, group]: [string, IncidentGroup]) => {
    const rule = ruleById(group.ruleId);
    const briefs: FindingBrief[] = group.findings.map(briefOf);
    let runId = '';
    for (let i = 0; i < briefs.length; i += SIGNAL_BATCH) {
      const handle = await client.workflow.signalWithStart('IncidentWorkflow', {
        workflowId: incidentId,
        taskQueue,
        args: [
          {
            ruleId: group.ruleId,
            ruleName: rule?.name ?? group.ruleId,
            severity: rule?.severity ?? 'Unknown',
            key: group.key,
            windowMs: group.windowMs,
            channels: input.incidents.channels,
            evidenceLimit: input.incidents.evidenceLimit,
            runLink,
            indexed: input.indexed,
          },
        ],
        signal: 'addFindings',
        signalArgs: [briefs.slice(i, i + SIGNAL_BATCH)],
        staticSummary: `${rule?.name ?? group.ruleId}: ${Object.values(group.key).join(' / ')}`,
      });
      runId = handle.signaledRunId;
    }
    appendLedger(
      input.findingsDirectory,
      input.date,
      group.findings.map((f) => ({ findingId: f.id, incidentId, runId })),
    );
    context.heartbeat(incidentId);
  };
  // incidents are independent: signal several at once (each one's batches stay in order)
  const queue = [...groups];
  await Promise.all(Array.from({ length: Math.min(ROUTE_CONCURRENCY, queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await routeGroup(next);
  }));
  return { incidents: [...groups.keys()].sort(), routed: [...groups.values()].reduce((n, g) => n + g.findings.length, 0), alreadyRouted };
}

/** The distinct values of a field over the findings, joined ("a, b"), or undefined when none has it. */
function distinct(findings: readonly Finding[], field: string): string | undefined {
  const values = [...new Set(findings.map((f) => (f as unknown as Record<string, unknown>)[field]).filter((v) => v !== undefined && v !== ''))].map(String).sort();
  return values.length ? values.join(', ') : undefined;
}

/** An incident's key by what it is about: account, user (or command user) and bucket, then the scan. */
export function describedKey(findings: readonly Finding[], scanWorkflowId: string): Record<string, string> {
  const key: Record<string, string> = {};
  const account = distinct(findings, 'recipientAccountId') ?? distinct(findings, 'accountId');
  const user = distinct(findings, 'commandUser') ?? distinct(findings, 'user');
  const bucket = distinct(findings, 's3Bucket');
  if (account) key.accountId = account;
  if (user) key[distinct(findings, 'commandUser') ? 'commandUser' : 'user'] = user;
  if (bucket) key.s3Bucket = bucket;
  key.scan = scanWorkflowId;
  return key;
}

export interface DeliverInput {
  channel: NamedChannel;
  notice: IncidentNotice;
  idempotencyKey: string;
}

/** One delivery attempt; Temporal's retry policy retries it, with the same idempotency key. */
export async function deliverNotification(input: DeliverInput): Promise<void> {
  try {
    await deliver(input.channel, input.notice, input.idempotencyKey);
  } catch (error) {
    if (error instanceof PermanentDeliveryError) throw ApplicationFailure.nonRetryable(error.message, 'PermanentDeliveryError');
    throw error;
  }
}
