/** A CloudTrail record as delivered; only the fields the detections read are typed. */
export interface UserIdentity {
  type?: string | null;
  principalId?: string | null;
  arn?: string | null;
  accountId?: string | null;
  userName?: string | null;
  invokedBy?: string | null;
  [key: string]: unknown;
}

export interface ResourceRef {
  ARN?: string;
  ARNPrefix?: string;
  accountId?: string | null;
  type?: string;
  [key: string]: unknown;
}

export interface CloudTrailRecord {
  eventID?: string;
  eventTime?: string;
  eventSource?: string;
  eventName?: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  errorCode?: string | null;
  errorMessage?: string | null;
  recipientAccountId?: string | null;
  userIdentity?: UserIdentity | null;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  resources?: ResourceRef[] | null;
  sharedEventID?: string;
  [key: string]: unknown;
}

/** docs/rules.md empty(x): absent, null, or "". */
export function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** docs/rules.md str(x), KQL tostring: null gives "", strings stay, objects and arrays give their JSON text. */
export function str(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** docs/rules.md lastSegment(s): the text after the last "/" (s itself when it has none). */
export function lastSegment(value: string): string {
  const slash = value.lastIndexOf('/');
  return slash < 0 ? value : value.slice(slash + 1);
}

/** docs/rules.md userOf(r). */
export function userOf(record: CloudTrailRecord): string {
  const identity = record.userIdentity ?? {};
  if (!isEmpty(identity.userName)) return str(identity.userName);
  if (!isEmpty(identity.arn)) return lastSegment(str(identity.arn));
  if (!isEmpty(identity.principalId)) return str(identity.principalId);
  if (!isEmpty(identity.invokedBy)) return str(identity.invokedBy);
  return '';
}

/** docs/rules.md accountOf(r). */
export function accountOf(record: CloudTrailRecord): string {
  if (!isEmpty(record.recipientAccountId)) return str(record.recipientAccountId);
  const identity = record.userIdentity ?? {};
  if (!isEmpty(identity.accountId)) return str(identity.accountId);
  return '';
}

/**
 * docs/rules.md fortiEventType(r): "AWS-CloudTrail-<SERVICE>-<eventName>"; undefined when eventName or
 * eventSource is not a string (docs/rules.md "String fields": such a record matches no event type).
 */
export function fortiEventType(record: CloudTrailRecord): string | undefined {
  if (typeof record.eventName !== 'string' || typeof record.eventSource !== 'string') return undefined;
  const source = record.eventSource;
  const suffix = source.indexOf('.amazonaws.com');
  const service = (suffix < 0 ? source : source.slice(0, suffix)).toUpperCase();
  return `AWS-CloudTrail-${service}-${record.eventName}`;
}

/** docs/rules.md's eventTime: a string YYYY-MM-DDTHH:MM:SS[.fraction]Z (that is also a date). */
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Parsed eventTime in epoch milliseconds, or undefined when absent or not in docs/rules.md's form. */
export function eventTimeMs(record: CloudTrailRecord): number | undefined {
  if (typeof record.eventTime !== 'string' || !EVENT_TIME.test(record.eventTime)) return undefined;
  const ms = Date.parse(record.eventTime);
  return Number.isNaN(ms) ? undefined : ms;
}

/** ISO-8601 UTC with second precision ("2026-11-25T10:00:05Z"), milliseconds kept only when present. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** Why a record cannot be used, or undefined when it is well formed enough for the rules. */
export function malformedReason(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'record is not a JSON object';
  const r = record as CloudTrailRecord;
  if (isEmpty(r.eventID) || typeof r.eventID !== 'string') return 'record has no eventID';
  if (eventTimeMs(r) === undefined) return `record ${r.eventID} has no parsable eventTime`;
  return undefined;
}
