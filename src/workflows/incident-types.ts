import type { NamedChannel } from '../config/load';
import type { FindingBrief } from '../notify/notice';

export interface IncidentInput {
  ruleId: string;
  ruleName: string;
  severity: string;
  /** the suppression key's fields and values (rule and scan run when suppression is off) */
  key: Record<string, string>;
  /** the suppression window, from the moment the incident opens; 0 closes it once notified */
  windowMs: number;
  channels: NamedChannel[];
  evidenceLimit: number;
  runLink: string;
  indexed?: boolean;
}

/** AlreadyNotified: a notification of this incident's first finding on this channel ran before (never twice). */
export type NotificationOutcome = { channel: string; notificationId: string; status: 'Delivered' | 'Failed' | 'AlreadyNotified'; error?: string };

export interface IncidentState {
  incidentId: string;
  runId: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  key: Record<string, string>;
  status: 'open' | 'acknowledged' | 'closed';
  openedAt: string;
  /** when the suppression window ends */
  closesAt: string;
  closedAt?: string;
  closeReason?: string;
  acknowledgedBy?: string;
  findings: number;
  events: number;
  firstSeen: string;
  lastSeen: string;
  evidence: FindingBrief[];
  evidenceTotal: number;
  notifications: NotificationOutcome[];
}
