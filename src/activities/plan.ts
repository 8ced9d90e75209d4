import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ScanConfig } from '../config/load';
import { PermanentSourceError } from '../sources/errors';
import { discoverLookupPartitions } from '../sources/lookup-events';
import { checkBucket, createS3Client, discoverS3Partitions } from '../sources/s3';
import type { PartitionSpec } from './types';

/** While planning (listing a large organisation's accounts and regions takes a while): proof of life. */
const PLAN_HEARTBEAT_MS = 5_000;

/**
 * One partition per directory source, one per (account, region) of each S3 trail and of each LookupEvents source.
 * Heartbeats while it lists, so that a worker killed in the middle is noticed by its heartbeat timeout
 * (30 s), not by the 5-minute start-to-close timeout.
 */
export async function planPartitions(config: ScanConfig): Promise<PartitionSpec[]> {
  const context = Context.current();
  context.heartbeat();
  const beat = setInterval(() => context.heartbeat(), PLAN_HEARTBEAT_MS);
  try {
    return await plan(config);
  } finally {
    clearInterval(beat);
  }
}

async function plan(config: ScanConfig): Promise<PartitionSpec[]> {
  const partitions: PartitionSpec[] = [];
  try {
    for (const [sourceIndex, source] of config.sources.entries()) {
      if (source.type === 'directory') {
        partitions.push({ id: `${sourceIndex}-dir`, sourceIndex, label: `directory ${source.path}` });
        continue;
      }
      if (source.type === 'lookupEvents') {
        for (const lookup of await discoverLookupPartitions(source)) {
          partitions.push({
            id: `${sourceIndex}-lookup-${lookup.accountId}-${lookup.region}`,
            sourceIndex,
            label: `lookupEvents ${lookup.accountId}/${lookup.region}`,
            lookup,
          });
        }
        continue;
      }
      const client = await createS3Client(source);
      await checkBucket(client, source);
      for (const s3 of await discoverS3Partitions(client, source)) {
        partitions.push({
          id: `${sourceIndex}-${s3.accountId}-${s3.region}-${partitions.length}`,
          sourceIndex,
          label: `s3://${source.bucket}/${s3.base}${s3.accountId}/CloudTrail/${s3.region}`,
          s3,
        });
      }
    }
  } catch (error) {
    if (error instanceof PermanentSourceError) throw ApplicationFailure.nonRetryable(error.message, error.name);
    throw error;
  }
  return partitions;
}
