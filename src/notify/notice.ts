import { type SigmaCard, viewOf } from '../rules';
import { isSigmaFinding } from '../rules/sigma';
import type { CommonFinding } from '../rules/types';

/**
 * What an incident keeps of each finding: enough to read it, and to import it into Security Hub,
 * without the store. `title` and `fields` are the finding's rule's view of it.
 */
export interface FindingBrief {
  id: string;
  ruleId: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  accountId?: string;
  user?: string;
  /** absent in incidents opened before views existed */
  title?: string;
  fields?: Record<string, string>;
  region?: string;
  users?: string[];
  ips?: string[];
  buckets?: string[];
  /** a Sigma finding's rule card: its rule is not built in */
  sigma?: SigmaCard;
}

export function briefOf(finding: CommonFinding): FindingBrief {
  const view = viewOf(finding);
  return {
    id: finding.id,
    ruleId: finding.ruleId,
    firstSeen: finding.firstSeen,
    lastSeen: finding.lastSeen,
    count: finding.count,
    accountId: view.accountId,
    ...(view.users.length ? { user: view.users[0] } : {}),
    title: view.title,
    fields: view.fields,
    ...(view.region ? { region: view.region } : {}),
    users: view.users,
    ips: view.ips,
    buckets: view.buckets,
    ...(isSigmaFinding(finding) ? { sigma: finding.sigma } : {}),
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
