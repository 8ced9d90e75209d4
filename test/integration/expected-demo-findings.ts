/**
 * The findings the built-in sample trail (src/demo/sample-trail.ts) must give for its day, written
 * out by hand from the way the trail was built, not computed by the rules.
 */
import { DEMO_DATE } from '../../src/demo/sample-trail';

export function expectedRule1(date = DEMO_DATE) {
  return [
    { accountId: '111122223333', user: 'ssm.amazonaws.com', windowStart: `${date}T06:00:00Z`, count: 1, failedCount: 0 },
    // alice: two successful calls and one failed; her first record is delivered twice and counts once
    { accountId: '111122223333', user: 'alice', windowStart: `${date}T10:00:00Z`, count: 3, failedCount: 1 },
    { accountId: '111122223333', user: 'bob@example.com', windowStart: `${date}T14:20:00Z`, count: 1, failedCount: 0 },
    { accountId: '111122223333', user: 'mallory', windowStart: `${date}T21:15:00Z`, count: 1, failedCount: 0 },
    // carol's 23:58:30 call arrives in a file delivered the next day; her 00:01 call belongs to the next day
    { accountId: '210987654321', user: 'carol', windowStart: `${date}T23:55:00Z`, count: 1, failedCount: 0 },
  ];
}

export function expectedRule2(date = DEMO_DATE) {
  return [
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
      firstSeen: `${date}T21:15:03Z`,
      lastSeen: `${date}T21:15:10Z`,
      count: 3,
    },
  ];
}

export const EXPECTED_RULE1 = expectedRule1();
export const EXPECTED_RULE2 = expectedRule2();
