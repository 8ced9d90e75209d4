/**
 * Rule card
 *
 * - id:         PH_Rule_ES_IMPORT_AWS_15
 * - name:       AWS Execution via System Manager
 * - severity:   Low (FortiSIEM severity 3 on its 1-10 scale)
 * - MITRE:      tactic TA0002 Execution; technique T1059.006 (Command and Scripting Interpreter: Python)
 * - seed:       FortiSIEM rule PH_Rule_ES_IMPORT_AWS_15 (shared/seeds/000_6cc282d77acf9eb7.txt)
 *
 * Match: the FortiSIEM event type contains "AWS-CloudTrail-SSM-SendCommand" (failed calls match too).
 * Group by (accountId, user) in tumbling 300-second windows aligned to the Unix epoch; a group with
 * COUNT(*) >= threshold (seed: 1) gives one finding, which reports how many of its events failed.
 * Semantics: shared/spec/RULES.md, "Rule 1".
 */
import { z } from 'zod';
import {
  accountOf,
  eventTimeMs,
  fortiEventType,
  isEmpty,
  isoUtc,
  malformedReason,
  str,
  userOf,
  type CloudTrailRecord,
} from '../cloudtrail/record';
import { findingId } from './finding-id';
import { excludeEntry, isExcluded, suppressionOptions } from './options';
import type { Rule, ScanPeriod, SelectedEvent, SsmCommandExecutionFinding } from './types';

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
  if (
    options.excludeAwsServiceCallers &&
    (AWS_SERVICE_SOURCE_IPS.has(str(record.sourceIPAddress)) || record.userIdentity?.type === 'AWSService')
  ) {
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

function correlate(
  selected: SsmCommandExecutionSelected[],
  period: ScanPeriod,
  options: SsmCommandExecutionOptions,
): SsmCommandExecutionFinding[] {
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
      id: findingId(RULE_ID, accountId, user, String(windowStart)),
      ruleId: RULE_ID,
      ruleName: ssmCommandExecution.name,
      severity: ssmCommandExecution.severity,
      tactics: [...ssmCommandExecution.tactics],
      techniques: [...ssmCommandExecution.techniques],
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
  return findings.sort(
    (a, b) =>
      Date.parse(a.windowStart) - Date.parse(b.windowStart) ||
      compareText(a.accountId, b.accountId) ||
      compareText(a.user, b.user),
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const ssmCommandExecution: Rule<SsmCommandExecutionOptions, SsmCommandExecutionSelected> = {
  id: RULE_ID,
  name: 'AWS Execution via System Manager',
  severity: 'Low',
  tactics: ['Execution'],
  techniques: ['T1059.006'],
  optionsSchema,
  // the FortiSIEM event type contains "AWS-CloudTrail-SSM-SendCommand" only when eventName contains "SendCommand"
  candidates: (options) => ({ equals: [], contains: options.enabled ? ['SendCommand'] : [] }),
  eventNames: (options) => (options.enabled ? ['SendCommand'] : []),
  lookbackMs: () => 0,
  select,
  correlate,
};
