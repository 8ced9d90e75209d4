/**
 * The findings the built-in sample trail (src/demo/sample-trail.ts) must give for 2026-11-02, written
 * out by hand from the way the trail was built, not computed by the rules.
 */
export const EXPECTED_RULE1 = [
  { accountId: '111122223333', user: 'ssm.amazonaws.com', windowStart: '2026-11-02T06:00:00Z', count: 1, failedCount: 0 },
  // alice: two successful calls and one failed; her first record is delivered twice and counts once
  { accountId: '111122223333', user: 'alice', windowStart: '2026-11-02T10:00:00Z', count: 3, failedCount: 1 },
  { accountId: '111122223333', user: 'bob@example.com', windowStart: '2026-11-02T14:20:00Z', count: 1, failedCount: 0 },
  { accountId: '111122223333', user: 'mallory', windowStart: '2026-11-02T21:15:00Z', count: 1, failedCount: 0 },
  // carol's 23:58:30 call arrives in a file delivered the next day; her 00:01 call belongs to the next day
  { accountId: '210987654321', user: 'carol', windowStart: '2026-11-02T23:55:00Z', count: 1, failedCount: 0 },
];

export const EXPECTED_RULE2 = [
  {
    s3Bucket: 'exfil-drop-7781',
    bucketOwnerAccountId: '444455556666',
    commandEventName: 'SendCommand',
    commandUser: 'mallory',
    commandUserArn: 'arn:aws:iam::111122223333:user/mallory',
    commandSourceIpAddress: '45.77.12.9',
    documentName: 'AWS-RunShellScript',
    accountName: 'i-0abc1234def567890',
    accountUpnSuffix: '',
    recipientAccountId: '111122223333',
    sourceIpAddress: '203.0.113.9',
    firstSeen: '2026-11-02T21:15:03Z',
    lastSeen: '2026-11-02T21:15:10Z',
    count: 3,
  },
];
