import type { NamedChannel } from '../config/load';
import type { IncidentNotice } from '../notify/notice';

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

/** The incident as it stands now; its notice is what it was when it opened. */
export interface IncidentState extends Omit<IncidentNotice, 'runLink'> {
  runId: string;
  status: 'open' | 'acknowledged' | 'closed';
  /** when the suppression window ends */
  closesAt: string;
  closedAt?: string;
  closeReason?: string;
  acknowledgedBy?: string;
  /** how many channels it notifies (absent in incidents opened before this was kept) */
  channelCount?: number;
  notifications: NotificationOutcome[];
}
