import type { Finding } from '../rules/types';

/** What an incident keeps of each finding: enough to read it without the store. */
export interface FindingBrief {
  id: string;
  ruleId: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  accountId?: string;
  user?: string;
  failedCount?: number;
  windowStart?: string;
  s3Bucket?: string;
  bucketOwnerAccountId?: string;
  commandUser?: string;
  commandUserArn?: string;
  documentName?: string;
  sourceIpAddress?: string;
}

export function briefOf(finding: Finding): FindingBrief {
  const common = { id: finding.id, ruleId: finding.ruleId, firstSeen: finding.firstSeen, lastSeen: finding.lastSeen, count: finding.count };
  if (finding.ruleId === 'PH_Rule_ES_IMPORT_AWS_15') {
    return { ...common, accountId: finding.accountId, user: finding.user, failedCount: finding.failedCount, windowStart: finding.windowStart };
  }
  return {
    ...common,
    accountId: finding.recipientAccountId,
    user: finding.commandUser,
    s3Bucket: finding.s3Bucket,
    bucketOwnerAccountId: finding.bucketOwnerAccountId,
    commandUser: finding.commandUser,
    commandUserArn: finding.commandUserArn,
    documentName: finding.documentName,
    sourceIpAddress: finding.sourceIpAddress,
  };
}

/** The message every channel delivers for one incident, as it stood when it opened. */
export interface IncidentNotice {
  incidentId: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  key: Record<string, string>;
  openedAt: string;
  findings: number;
  events: number;
  firstSeen: string;
  lastSeen: string;
  evidence: FindingBrief[];
  evidenceTotal: number;
  /** the scan run that opened the incident, in the Web UI */
  runLink: string;
}
