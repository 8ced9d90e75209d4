import { Context } from '@temporalio/activity';
import type { ScanConfig } from '../config/load';
import { discoverLookupPartitions } from '../sources/lookup-events';
import { checkBucket, createS3Client, discoverS3Partitions } from '../sources/s3';
import { partitionCount } from '../workflows/partitions';
import { activityError } from './permanent';
import { blobBytes, byteLines, storedLines } from './scratch';
import type { PlanGroup, PlanScanInput, PlanSlice, ScanPlan } from './types';

/** While planning (listing a large organisation's accounts and regions takes a while): proof of life. */
const PLAN_HEARTBEAT_MS = 5_000;

/**
 * The scan's plan as compact groups (PlanGroup): one per directory source, one per account of each S3 trail
 * and of each LookupEvents source, with its regions.
 * Heartbeats while it lists, so that a worker killed in the middle is noticed by its heartbeat timeout
 * (30 s), not by the 5-minute start-to-close timeout.
 */
export async function planPartitions(config: ScanConfig): Promise<PlanGroup[]> {
  const context = Context.current();
  context.heartbeat();
  const beat = setInterval(() => context.heartbeat(), PLAN_HEARTBEAT_MS);
  try {
    return await plan(config);
  } finally {
    clearInterval(beat);
  }
}

/**
 * The scan's plan for the workflows: each group's partition count, and the groups as JSON lines, in the
 * scan's blob store when they are large (an organisation of thousands of accounts), so that no history
 * holds them; each batch then reads its own groups (planGroups).
 */
export async function planScan(input: PlanScanInput): Promise<ScanPlan> {
  const groups = await planPartitions(input.config);
  const text = groups.map((group) => `${JSON.stringify(group)}\n`).join('');
  return { counts: groups.map(partitionCount), groups: await storedLines(input.store, input.scanId, 'plan.jsonl', groups.length, Buffer.from(text)) };
}

/** A batch's groups: its slice of a stored plan. */
export async function planGroups(input: PlanSlice): Promise<PlanGroup[]> {
  const groups: PlanGroup[] = [];
  let index = 0;
  for (const line of byteLines(await blobBytes(input.store, input.scanId, input.groups))) {
    if (index >= input.firstGroup && index < input.firstGroup + input.groupCount) groups.push(JSON.parse(line) as PlanGroup);
    index++;
  }
  return groups;
}

async function plan(config: ScanConfig): Promise<PlanGroup[]> {
  const groups: PlanGroup[] = [];
  try {
    for (const [sourceIndex, source] of config.sources.entries()) {
      if (source.type === 'directory') {
        groups.push({ sourceIndex, directory: true });
        continue;
      }
      if (source.type === 'lookupEvents') {
        for (const lookups of groupBy(await discoverLookupPartitions(source), (p) => JSON.stringify([p.accountId, p.roleArn, p.externalId])).values()) {
          const { accountId, roleArn, externalId } = lookups[0];
          groups.push({ sourceIndex, lookup: { accountId, roleArn, externalId, regions: lookups.map((p) => p.region) } });
        }
        continue;
      }
      const client = await createS3Client(source);
      await checkBucket(client, source);
      // discovered in key order: consecutive partitions of one base and account make one group
      for (const partitions of groupBy(await discoverS3Partitions(client, source), (p) => `${p.base}${p.accountId}`).values()) {
        groups.push({ sourceIndex, s3: { base: partitions[0].base, accountId: partitions[0].accountId, regions: partitions.map((p) => p.region) } });
      }
    }
  } catch (error) {
    throw activityError(error);
  }
  return groups;
}

/** Items grouped by key, in the order each key first occurs (items of one key kept in their order). */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}
