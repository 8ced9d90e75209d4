/**
 * Rule 1, AWS Execution via System Manager (seed: FortiSIEM rule PH_Rule_ES_IMPORT_AWS_15). Its card
 * is `ssmCommandExecution` at the end of this file.
 *
 * Match: the FortiSIEM event type contains "AWS-CloudTrail-SSM-SendCommand" (failed calls match too).
 * Group by (accountId, user) in tumbling 300-second windows aligned to the Unix epoch; a group with
 * COUNT(*) >= threshold (seed: 1) gives one finding, which reports how many of its events failed.
 * Semantics: docs/rules.md, "Rule 1".
 */
import { z } from 'zod';
import { accountOf, eventTimeMs, fortiEventType, isEmpty, isoUtc, malformedReason, str, userOf, type CloudTrailRecord } from '../cloudtrail/record';
import { defineRule, findingHeader, present } from './define';
import { excludeEntry, isExcluded, suppressionOptions } from './options';
import type { CommonFinding, ScanPeriod, SelectedEvent } from './types';

const RULE_ID = 'PH_Rule_ES_IMPORT_AWS_15' as const;
const EVENT_TYPE = 'AWS-CloudTrail-SSM-SendCommand';
const WINDOW_SECONDS = 300;
/** Callers dropped by `excludeAwsServiceCallers` (besides userIdentity.type AWSService). */
const AWS_SERVICE_SOURCE_IPS = new Set(['ssm.amazonaws.com', 'ssm-guiconnect.amazonaws.com', 'inspector2.amazonaws.com']);

export const optionsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Allowlist: entries matching user, userIdentity.arn (glob), documentName or accountId. */
  exclude: z.array(excludeEntry).default([]),
  suppression: suppressionOptions({ enabled: true, duration: 'PT1H', keyFields: ['accountId', 'user'] }),
  /** Drop calls made by SSM, SSM GUI Connect, Inspector or any AWSService principal. */
  excludeAwsServiceCallers: z.boolean().default(false),
  /** Count only calls without errorCode (seed: failed calls count too). */
  successOnly: z.boolean().default(false),
  /** Events per (accountId, user, window) that trigger a finding (seed: 1). */
  threshold: z.number().int().min(1).default(1),
});
export type SsmCommandExecutionOptions = z.output<typeof optionsSchema>;

export interface SsmCommandExecutionFinding extends CommonFinding {
  ruleId: typeof RULE_ID;
  accountId: string;
  user: string;
  windowStart: string;
  windowEnd: string;
  failedCount: number;
}

/** The compact event `select` keeps: only what `correlate` groups and counts on. */
export interface SsmCommandExecutionSelected extends SelectedEvent {
  accountId: string;
  user: string;
  failed: boolean;
}

function select(record: CloudTrailRecord, options: SsmCommandExecutionOptions): SsmCommandExecutionSelected | undefined {
  if (!options.enabled || malformedReason(record) !== undefined) return undefined;
  if (!fortiEventType(record)?.includes(EVENT_TYPE)) return undefined;
  const failed = !isEmpty(record.errorCode);
  if (options.successOnly && failed) return undefined;
  if (options.excludeAwsServiceCallers && (AWS_SERVICE_SOURCE_IPS.has(str(record.sourceIPAddress)) || record.userIdentity?.type === 'AWSService')) {
    return undefined;
  }
  const accountId = accountOf(record);
  const user = userOf(record);
  const subject = {
    user,
    arn: str(record.userIdentity?.arn),
    documentName: str(record.requestParameters?.documentName),
    accountId,
  };
  if (isExcluded(options.exclude, subject)) return undefined;
  return { eventID: record.eventID as string, eventTimeMs: eventTimeMs(record) as number, accountId, user, failed };
}

/** One event per eventID (the caller dedups; this keeps correlate idempotent and order-independent). */
function uniqueByEventId<T extends SelectedEvent>(events: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const event of events) {
    const kept = byId.get(event.eventID);
    if (kept === undefined || event.eventTimeMs < kept.eventTimeMs) byId.set(event.eventID, event);
  }
  return [...byId.values()];
}

function correlate(selected: SsmCommandExecutionSelected[], period: ScanPeriod, options: SsmCommandExecutionOptions): SsmCommandExecutionFinding[] {
  if (!options.enabled) return [];
  const groups = new Map<string, { accountId: string; user: string; windowStart: number; events: SsmCommandExecutionSelected[] }>();
  for (const event of uniqueByEventId(selected)) {
    if (event.eventTimeMs < period.startMs || event.eventTimeMs >= period.endMs) continue;
    const windowStart = Math.floor(event.eventTimeMs / 1000 / WINDOW_SECONDS) * WINDOW_SECONDS;
    const key = JSON.stringify([event.accountId, event.user, windowStart]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { accountId: event.accountId, user: event.user, windowStart, events: [] };
      groups.set(key, group);
    }
    group.events.push(event);
  }

  const findings: SsmCommandExecutionFinding[] = [];
  for (const { accountId, user, windowStart, events } of groups.values()) {
    if (events.length < options.threshold) continue;
    findings.push({
      ...findingHeader(ssmCommandExecution, [accountId, user, String(windowStart)]),
      accountId,
      user,
      windowStart: isoUtc(windowStart * 1000),
      windowEnd: isoUtc((windowStart + WINDOW_SECONDS) * 1000),
      firstSeen: isoUtc(events.reduce((min, e) => Math.min(min, e.eventTimeMs), Infinity)),
      lastSeen: isoUtc(events.reduce((max, e) => Math.max(max, e.eventTimeMs), -Infinity)),
      count: events.length,
      failedCount: events.filter((e) => e.failed).length,
      eventIds: events.map((e) => e.eventID).sort(),
    });
  }
  return findings.sort((a, b) => Date.parse(a.windowStart) - Date.parse(b.windowStart) || compareText(a.accountId, b.accountId) || compareText(a.user, b.user));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function view(f: SsmCommandExecutionFinding) {
  const failed = f.failedCount ? `, ${f.failedCount} failed` : '';
  return {
    title: `${f.user || 'an unknown caller'} sent ${f.count} SSM command(s)${failed} in account ${f.accountId}, ${f.windowStart} .. ${f.windowEnd}`,
    fields: {
      Account: f.accountId,
      User: f.user,
      Window: `${f.windowStart} .. ${f.windowEnd}`,
      Events: String(f.count),
      Failed: String(f.failedCount),
    },
    accountId: f.accountId,
    users: present(f.user),
    ips: [],
    buckets: [],
  };
}

export const ssmCommandExecution = defineRule<SsmCommandExecutionOptions, SsmCommandExecutionSelected, SsmCommandExecutionFinding>({
  id: RULE_ID,
  name: 'AWS Execution via System Manager',
  description:
    'Someone ran commands on EC2 instances or managed nodes through AWS Systems Manager (ssm:SendCommand). ' +
    'Calls are counted per account and user in 300-second windows aligned to the epoch; failed calls count too and are reported.',
  severity: 'Low',
  attacks: [
    {
      tactic: { id: 'TA0002', name: 'Execution' },
      technique: { id: 'T1059', name: 'Command and Scripting Interpreter' },
      subTechnique: { id: 'T1059.006', name: 'Python' },
      reference: 'https://attack.mitre.org/techniques/T1059/006/',
    },
  ],
  references: [
    'https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html',
    'https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-cloudtrail-logs.html',
  ],
  falsePositives: [
    'Patching, inventory and configuration tools that run commands through SSM (Patch Manager, State Manager, Ansible, Inspector): see the excludeAwsServiceCallers and exclude options.',
    'Administrators running routine commands on their fleet.',
  ],
  runbook: [
    'Confirm with the user (or the owner of the role) that they sent these commands.',
    'Look the events up in CloudTrail by eventId: the document, its parameters and the targeted instances (aws ssm list-commands --command-id).',
    "Read the commands' output (S3 or CloudWatch Logs) for what ran.",
    "If unexpected: revoke the principal's sessions and keys, and isolate the targeted instances.",
  ],
  optionsSchema,
  // the FortiSIEM event type contains "AWS-CloudTrail-SSM-SendCommand" only when eventName contains "SendCommand"
  candidates: (options) => ({ equals: [], contains: options.enabled ? ['SendCommand'] : [] }),
  eventNames: (options) => (options.enabled ? ['SendCommand'] : []),
  lookbackMs: () => 0,
  select,
  correlate,
  identity: (f) => [f.accountId, f.user, String(Date.parse(f.windowStart) / 1000)],
  view,
});
