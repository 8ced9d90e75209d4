/**
 * Field paths that cannot exist in a CloudTrail record, refused at load: an empty segment (`a..b`, `.a`, `a.`;
 * CloudTrail has no empty keys), a segment with surrounding whitespace, or a first segment that differs only in
 * case from a CloudTrail top-level field (`EventName`: CloudTrail's names are fixed and case-sensitive).
 */

const TOP_LEVEL = [
  'eventVersion',
  'userIdentity',
  'eventTime',
  'eventSource',
  'eventName',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'requestID',
  'eventID',
  'readOnly',
  'resources',
  'eventType',
  'apiVersion',
  'managementEvent',
  'recipientAccountId',
  'serviceEventDetails',
  'sharedEventID',
  'vpcEndpointId',
  'vpcEndpointAccountId',
  'eventCategory',
  'addendum',
  'sessionCredentialFromConsole',
  'edgeDeviceDetails',
  'tlsDetails',
  'insightDetails',
];
const BY_LOWER = new Map(TOP_LEVEL.map((f) => [f.toLowerCase(), f]));

/** Throws an Error saying why the path cannot exist. */
export function checkFieldPath(path: string): void {
  const segments = path.split('.');
  if (segments.some((s) => s === '')) throw new Error(`field path "${path}" has an empty segment`);
  if (segments.some((s) => s.trim() !== s)) throw new Error(`field path "${path}" has a segment with surrounding whitespace`);
  const known = BY_LOWER.get(segments[0].toLowerCase());
  if (known !== undefined && known !== segments[0]) throw new Error(`field path "${path}" cannot exist in a CloudTrail record (did you mean "${known}"?)`);
}
