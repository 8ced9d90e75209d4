import { compileSigmaRule, parseSigma, type SigmaRule } from '../../src/sigma';

/** A real-shaped CloudTrail record (after stratus_ssm_send_command.json's shape) with the given dotted fields set. */
export function record(fields: Record<string, unknown> = {}): Record<string, unknown> {
  const r: Record<string, unknown> = {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLE:alice',
      arn: 'arn:aws:sts::123456789012:assumed-role/Admin/alice',
      accountId: '123456789012',
      sessionContext: { sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::123456789012:role/Admin', userName: 'Admin' } },
    },
    eventTime: '2026-11-25T10:00:05Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'DescribeInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1',
    requestParameters: null,
    responseElements: null,
    requestID: '1479b5e1-9751-4bf1-b548-cdd8108e85a6',
    eventID: '5288bfb8-e3fa-4c41-be02-6853521afe8b',
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '123456789012',
    eventCategory: 'Management',
  };
  for (const [path, value] of Object.entries(fields)) set(r, path.split('.'), value);
  return r;
}

function set(target: Record<string, unknown>, segments: string[], value: unknown): void {
  const [head, ...rest] = segments;
  if (rest.length === 0) {
    if (value === undefined) delete target[head];
    else target[head] = value;
    return;
  }
  const next = target[head];
  const child = next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
  target[head] = child;
  set(child, rest, value);
}

/** A matcher for a one-document rule given as YAML detection lines (indented four spaces under `detection:`). */
export function detect(detection: string, placeholders?: Record<string, string[]>): (r: unknown) => boolean {
  const text = `title: t\nid: test-rule\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n${detection}\n`;
  const [rule] = parseSigma(text, 'test.yml', { placeholders });
  return compileSigmaRule(rule as SigmaRule).matches;
}
