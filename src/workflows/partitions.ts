import type { PartitionSpec, PartitionStats, PlanGroup, RecordedPartitionSpec } from '../activities/types';
import type { Source } from '../config/schema';

/** How many partitions a plan group holds (planScan's counts are these). */
export function partitionCount(group: PlanGroup): number {
  return group.s3?.regions.length ?? group.lookup?.regions.length ?? 1;
}

/**
 * The partitions of consecutive plan groups, in plan order (source order, then key order: the order dedup
 * keeps first copies in), numbered from `first` so that ids stay unique across a scan's batches.
 */
export function partitionsOf(groups: readonly PlanGroup[], sources: readonly Source[], first: number): PartitionSpec[] {
  const partitions: PartitionSpec[] = [];
  for (const group of groups) {
    const source = sources[group.sourceIndex];
    const { sourceIndex } = group;
    if (group.s3 && source.type === 's3') {
      const { base, accountId } = group.s3;
      for (const region of group.s3.regions) {
        partitions.push({
          id: `${first + partitions.length}-s3-${accountId}-${region}`,
          sourceIndex,
          label: `s3://${source.bucket}/${base}${accountId}/CloudTrail/${region}`,
          kind: 's3',
          s3: { base, accountId, region },
        });
      }
    } else if (group.lookup) {
      const { regions, ...account } = group.lookup;
      for (const region of regions) {
        partitions.push({
          id: `${first + partitions.length}-lookup-${account.accountId}-${region}`,
          sourceIndex,
          label: `lookupEvents ${account.accountId}/${region}`,
          kind: 'lookup',
          lookup: { ...account, region },
        });
      }
    } else if (source.type === 'directory') {
      partitions.push({ id: `${first + partitions.length}-dir`, sourceIndex, label: `directory ${source.path}`, kind: 'directory' });
    }
  }
  return partitions;
}

/** A partition from a payload, with its kind (one recorded before `kind` existed is told by its s3 or lookup field). */
export function partitionSpec(partition: RecordedPartitionSpec): PartitionSpec {
  if (partition.kind) return partition;
  const { s3, lookup, ...base } = partition;
  if (lookup) return { ...base, kind: 'lookup', lookup };
  if (s3) return { ...base, kind: 's3', s3 };
  return { ...base, kind: 'directory' };
}

/** Adds one set of counts to a running total (counts a partition does not have are left alone). */
export function addStats(total: PartitionStats, stats: Partial<PartitionStats>): void {
  for (const [key, value] of Object.entries(stats) as [keyof PartitionStats, number | undefined][]) {
    if (value !== undefined) total[key] = (total[key] ?? 0) + value;
  }
}
