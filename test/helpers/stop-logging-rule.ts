/**
 * A small rule that is not built in, written the way a newcomer writes one: CloudTrail's StopLogging
 * (someone turned a trail off). The extra-rule test registers it and sees it flow through every output.
 */
import { z } from 'zod';
import { accountOf, eventTimeMs, isEmpty, isoUtc, malformedReason, str, userOf, type CloudTrailRecord } from '../../src/cloudtrail/record';
import { defineRule, findingHeader, present } from '../../src/rules/define';
import { suppressionOptions } from '../../src/rules/options';
import type { CommonFinding, ScanPeriod, SelectedEvent } from '../../src/rules/types';

const RULE_ID = 'trailwarden-cloudtrail-stop-logging' as const;

const optionsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  suppression: suppressionOptions({ enabled: false, duration: 'PT1H', keyFields: ['accountId'] }),
});
type Options = z.output<typeof optionsSchema>;

interface Selected extends SelectedEvent {
  accountId: string;
  user: string;
  trail: string;
  sourceIpAddress: string;
  awsRegion: string;
}

export interface StopLoggingFinding extends CommonFinding {
  ruleId: typeof RULE_ID;
  accountId: string;
  user: string;
  trail: string;
  sourceIpAddress: string;
  awsRegion: string;
}

function select(record: CloudTrailRecord, options: Options): Selected | undefined {
  if (!options.enabled || malformedReason(record) !== undefined) return undefined;
  if (record.eventName !== 'StopLogging' || record.eventSource !== 'cloudtrail.amazonaws.com' || !isEmpty(record.errorCode)) return undefined;
  return {
    eventID: record.eventID as string,
    eventTimeMs: eventTimeMs(record) as number,
    accountId: accountOf(record),
    user: userOf(record),
    trail: str(record.requestParameters?.name),
    sourceIpAddress: str(record.sourceIPAddress),
    awsRegion: str(record.awsRegion),
  };
}

function correlate(selected: Selected[], period: ScanPeriod, options: Options): StopLoggingFinding[] {
  if (!options.enabled) return [];
  return selected
    .filter((e) => e.eventTimeMs >= period.startMs && e.eventTimeMs < period.endMs)
    .map((e) => ({
      ...findingHeader(stopLogging, [e.eventID]),
      accountId: e.accountId,
      user: e.user,
      trail: e.trail,
      sourceIpAddress: e.sourceIpAddress,
      awsRegion: e.awsRegion,
      firstSeen: isoUtc(e.eventTimeMs),
      lastSeen: isoUtc(e.eventTimeMs),
      count: 1,
      eventIds: [e.eventID],
    }));
}

export const stopLogging = defineRule<Options, Selected, StopLoggingFinding>({
  id: RULE_ID,
  name: 'CloudTrail logging stopped',
  description: 'A CloudTrail trail was stopped (cloudtrail:StopLogging): from then on, nothing the account does is logged by it.',
  severity: 'Medium',
  attacks: [
    {
      tactic: { id: 'TA0005', name: 'Defense Evasion' },
      technique: { id: 'T1562', name: 'Impair Defenses' },
      subTechnique: { id: 'T1562.008', name: 'Disable or Modify Cloud Logs' },
      reference: 'https://attack.mitre.org/techniques/T1562/008/',
    },
  ],
  references: ['https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html'],
  falsePositives: ['A trail being retired or replaced by an organisation trail.'],
  runbook: ['Ask the user why the trail was stopped.', 'Start it again (aws cloudtrail start-logging --name TRAIL).'],
  optionsSchema,
  candidates: (options) => ({ equals: options.enabled ? ['StopLogging'] : [], contains: [] }),
  eventNames: (options) => (options.enabled ? ['StopLogging'] : []),
  lookbackMs: () => 0,
  select,
  correlate,
  identity: (f) => [f.eventIds[0]],
  view: (f) => ({
    title: `${f.user} stopped trail ${f.trail} in account ${f.accountId} (${f.awsRegion})`,
    fields: { Account: f.accountId, User: f.user, Trail: f.trail, From: f.sourceIpAddress },
    accountId: f.accountId,
    region: f.awsRegion,
    users: present(f.user),
    ips: present(f.sourceIpAddress),
    buckets: [],
  }),
});
