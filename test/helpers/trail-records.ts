import { gunzipSync } from 'node:zlib';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import type { Finding, SsmCommandExecutionFinding, SsmOutputToForeignBucketFinding } from '../../src/rules/types';

/** Every record of a built trail's well-formed log files (digests and corrupt objects left out). */
export function recordsOf(files: Map<string, Buffer>): CloudTrailRecord[] {
  const records: CloudTrailRecord[] = [];
  for (const [key, body] of files) {
    if (!key.includes('/CloudTrail/')) continue;
    try {
      records.push(...(JSON.parse(gunzipSync(body).toString('utf8')) as { Records: CloudTrailRecord[] }).Records);
    } catch {
      // the corrupt object
    }
  }
  return records;
}

/** The fields of the demo trail's expectations, for comparing a scan's findings with them. */
export function projectFindings(findings: Finding[]) {
  const rule1 = findings
    .filter((f): f is SsmCommandExecutionFinding => f.ruleId === 'PH_Rule_ES_IMPORT_AWS_15')
    .map(({ accountId, user, windowStart, count, failedCount }) => ({ accountId, user, windowStart, count, failedCount }))
    .sort((a, b) => a.windowStart.localeCompare(b.windowStart));
  const rule2 = findings
    .filter((f): f is SsmOutputToForeignBucketFinding => f.ruleId === '21702832-aff3-4bd6-a8e1-663b6818503d')
    .map((f) => ({
      s3Bucket: f.s3Bucket,
      bucketOwnerAccountId: f.bucketOwnerAccountId,
      commandEventName: f.commandEventName,
      commandUser: f.commandUser,
      commandUserArn: f.commandUserArn,
      commandSourceIpAddress: f.commandSourceIpAddress,
      documentName: f.documentName,
      accountName: f.accountName,
      accountUpnSuffix: f.accountUpnSuffix,
      recipientAccountId: f.recipientAccountId,
      sourceIpAddress: f.sourceIpAddress,
      firstSeen: f.firstSeen,
      lastSeen: f.lastSeen,
      count: f.count,
    }));
  return { rule1, rule2 };
}
