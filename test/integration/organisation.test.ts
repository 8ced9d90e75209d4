/**
 * Issue 13: an organisation of 500 accounts in 17 regions (8,500 partitions, one small log file each) is
 * scanned on the test's dev server with its default limits by two workers in folders of their own. It
 * completes with every planted finding, and no workflow of the scan comes near Temporal's limits: 2,000
 * pending activities, 51,200 events and 50 MB per history, 2 MB per payload (here: < 2,000 events, no
 * payload over 256 KB, at most one batch's 64 activities pending).
 */
import { s3Endpoint, temporalAddress } from '../helpers/services';

const { runOrgScan } = require('../../scripts/bench/org.js') as {
  runOrgScan(options: { accounts: number; regions: number; endpoint: string; address: string; log?: (line: string) => void }): Promise<OrgResult>;
};

interface OrgResult {
  objects: number;
  planted: number;
  summary: { partitions: number; objects: number; records: number; findings: number; rule1Findings: number; failedPartitions: number; skipped: number };
  workflows: number;
  largestHistory: { events: number; bytes: number };
  largestPayload: number;
  maxPendingActivities: number;
  partitionsPerSecond: number;
}

test(
  '500 accounts x 17 regions: every partition scanned, every planted finding, every workflow far inside the limits',
  async () => {
    const result = await runOrgScan({
      accounts: 500,
      regions: 17,
      endpoint: s3Endpoint(),
      address: temporalAddress(),
      log: (line) => process.stderr.write(`[organisation] ${line}\n`),
    });
    process.stderr.write(`[organisation] ${JSON.stringify(result)}\n`);
    expect(result.summary).toEqual({ partitions: 8500, objects: 8500, records: 17010, findings: 10, rule1Findings: 10, failedPartitions: 0, skipped: 0 });
    expect(result.planted).toBe(10);
    // the scan, its 6 shards of at most 32 batches, and 167 batches (3 accounts of 17 regions each)
    expect(result.workflows).toBe(1 + 6 + 167);
    expect(result.largestHistory.events).toBeLessThan(2000);
    expect(result.largestHistory.bytes).toBeLessThan(2 * 1024 * 1024);
    expect(result.largestPayload).toBeLessThan(256 * 1024);
    expect(result.maxPendingActivities).toBeLessThanOrEqual(64);
  },
  20 * 60_000,
);
