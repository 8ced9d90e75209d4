import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { inLanes } from '../common/lanes';
import type { IncidentSettings, NamedChannel } from '../config/load';
import { deliver } from '../notify/deliver';
import { PermanentDeliveryError } from '../notify/errors';
import { type FindingBrief, type IncidentNotice, briefOf } from '../notify/notice';
import { ruleOf } from '../rules';
import type { Finding } from '../rules/types';
import { str } from '../cloudtrail/record';
import type { StoreLocation } from '../store/blob-store';
import { incidentLedgerOf } from '../store/incident-ledger';
import { parseIsoDuration } from '../config/duration';
import { blobLines } from './scratch';
import type { LinesBlob } from './types';
import type { IncidentState } from '../workflows/incident-types';

export interface RouteFindingsInput {
  date: string;
  findingsDirectory: string;
  /** where the ledger is, beside the findings (absent in runs started before it existed: findingsDirectory) */
  store?: StoreLocation;
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

/** The incident a finding goes to: its (rule, suppression key), or its (rule, scan run) with suppression off. */
function incidentOf(finding: Finding, rules: Record<string, unknown>, scan: { workflowId: string; runId: string }) {
  const suppression = (rules[finding.ruleId] as { suppression?: Suppression } | undefined)?.suppression;
  const key: Record<string, string> = suppression?.enabled
    ? Object.fromEntries(suppression.keyFields.map((field) => [field, str((finding as unknown as Record<string, unknown>)[field])]))
    : { scanWorkflowId: scan.workflowId, scanRunId: scan.runId };
  const hash = createHash('sha256')
    .update(JSON.stringify([finding.ruleId, key]))
    .digest('hex')
    .slice(0, 20);
  return { incidentId: `incident-${finding.ruleId}-${hash}`, key, windowMs: suppression?.enabled ? parseIsoDuration(suppression.duration) : 0 };
}

/**
 * Turns a scan's new findings into incidents, exactly once whichever worker runs it and however often:
 * 1. each finding not yet routed is claimed in the ledger (an atomic create) with the incident it goes
 *    to; when another run claimed it first, that run's incident is the one used (so rule 2's per-run
 *    incident of an earlier scan is joined, never a new one opened);
 * 2. the incident is signalled with signal-with-start (the IncidentWorkflow ignores ids it has seen);
 * 3. the findings are marked routed, and no later run signals them again.
 * A crash between any two steps is repaired by the retry: it finds the claim and signals the same incident.
 */
export async function routeFindings(input: RouteFindingsInput): Promise<RouteFindingsResult> {
  const context = Context.current();
  const { client } = context;
  const { workflowNamespace, taskQueue } = context.info;
  const ledger = incidentLedgerOf(input.store ?? { directory: input.findingsDirectory });
  const routed = await ledger.routedIds(input.date);
  const groups = new Map<string, IncidentGroup>();
  let alreadyRouted = 0;
  const fresh: Finding[] = [];
  for (const line of blobLines(input.findings)) {
    const finding = JSON.parse(line) as Finding;
    if (ledger.isRouted(routed, finding.id)) alreadyRouted++;
    else fresh.push(finding);
  }
  await inLanes(fresh, ROUTE_CONCURRENCY * 2, async (finding) => {
    const mine = incidentOf(finding, input.rules, input.scan);
    const claim = await ledger.claim(input.date, {
      findingId: finding.id,
      incidentId: mine.incidentId,
      runId: input.scan.runId,
      ruleId: finding.ruleId,
      key: mine.key,
      windowMs: mine.windowMs,
    });
    const group = groups.get(claim.incidentId) ?? {
      ruleId: finding.ruleId,
      key: claim.key ?? mine.key,
      windowMs: claim.windowMs ?? mine.windowMs,
      findings: [],
    };
    group.findings.push(finding);
    groups.set(claim.incidentId, group);
  });

  // without suppression a scan run's findings make one incident (its id comes from the run); it is
  // named by what it is about: the accounts, the command users and the buckets of its findings
  for (const group of groups.values()) {
    if (group.windowMs > 0 || !('scanRunId' in group.key)) continue;
    group.key = describedKey(group.findings, input.scan.workflowId);
  }

  const runLink = `${input.incidents.webUiUrl}/namespaces/${workflowNamespace}/workflows/${input.scan.workflowId}/${input.scan.runId}/history`;
  const routeGroup = async ([incidentId, group]: [string, IncidentGroup]) => {
    const rule = ruleOf(group.findings[0]);
    group.findings.sort((a, b) => a.id.localeCompare(b.id));
    const briefs: FindingBrief[] = group.findings.map(briefOf);
    for (let i = 0; i < briefs.length; i += SIGNAL_BATCH) {
      await client.workflow.signalWithStart('IncidentWorkflow', {
        workflowId: incidentId,
        taskQueue,
        args: [
          {
            ruleId: group.ruleId,
            ruleName: rule.name,
            severity: rule.severity,
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
    }
    await ledger.markRouted(
      input.date,
      group.findings.map((f) => f.id),
    );
    context.heartbeat(incidentId);
  };
  // incidents are independent: signal several at once (each one's batches stay in order)
  await inLanes([...groups], ROUTE_CONCURRENCY, routeGroup);
  return { incidents: [...groups.keys()].sort(), routed: [...groups.values()].reduce((n, g) => n + g.findings.length, 0), alreadyRouted };
}

/** The distinct values of a field over the findings, joined ("a, b"), or undefined when none has it. */
function distinct(findings: readonly Finding[], field: string): string | undefined {
  const values = [...new Set(findings.map((f) => (f as unknown as Record<string, unknown>)[field]).filter((v) => v !== undefined && v !== ''))]
    .map(String)
    .sort();
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

/**
 * The incident's findings as it holds them now: up to incidents.evidenceLimit, where its notice lists
 * 20. Security Hub wants each finding, not a message about them; the notice's list is the fallback.
 */
async function heldEvidence(notice: IncidentNotice): Promise<FindingBrief[]> {
  try {
    const state = await Context.current().client.workflow.getHandle(notice.incidentId).query<IncidentState>('incident');
    return state.evidence.length > notice.evidence.length ? state.evidence : notice.evidence;
  } catch {
    return notice.evidence;
  }
}

/** One delivery attempt; Temporal's retry policy retries it, with the same idempotency key. */
export async function deliverNotification(input: DeliverInput): Promise<void> {
  try {
    const notice = input.channel.type === 'securityhub' ? { ...input.notice, evidence: await heldEvidence(input.notice) } : input.notice;
    await deliver(input.channel, notice, input.idempotencyKey);
  } catch (error) {
    if (error instanceof PermanentDeliveryError) throw ApplicationFailure.nonRetryable(error.message, 'PermanentDeliveryError');
    throw error;
  }
}
