import type { S3Client } from '@aws-sdk/client-s3';
import { DAY_MS } from '../common/days';
import { classifyKey, dayFolder, logsBase, parseTrailKey } from '../cloudtrail/keys';
import type { S3Source } from '../config/schema';
import { parseIsoDuration } from '../config/duration';
import type { ScanPeriod } from '../rules/types';
import { SOCKET_TIMEOUTS, classifyAwsError } from './errors';
import type { LogObject } from './log-object';
import { once } from '../common/once';

/** File names carry the delivery minute; a little slack before the period costs almost nothing. */
const EARLY_SLACK_MS = 10 * 60_000;

/** One account and region of a trail: the unit a scan activity reads. */
export interface S3TrailPartition {
  base: string;
  accountId: string;
  region: string;
}

/** The S3 SDK, loaded on first use: it adds ~20 MB to a worker that only reads directories. */
export const s3Sdk = once(() => import('@aws-sdk/client-s3'));

/** One client per endpoint and region in a worker: an organisation's thousands of partitions share it. */
const clients = new Map<string, Promise<S3Client>>();

export function createS3Client(source: S3Source): Promise<S3Client> {
  const region = source.clientRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const key = JSON.stringify([region, source.endpoint ?? '']);
  let client = clients.get(key);
  if (!client) {
    client = s3Sdk().then(
      ({ S3Client }) =>
        new S3Client({
          region,
          requestHandler: SOCKET_TIMEOUTS,
          ...(source.endpoint ? { endpoint: source.endpoint, forcePathStyle: true } : {}),
          followRegionRedirects: true,
        }),
    );
    clients.set(key, client);
  }
  return client;
}

async function listFolders(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const { paginateListObjectsV2 } = await s3Sdk();
  const folders: string[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix, Delimiter: '/' })) {
      for (const common of page.CommonPrefixes ?? []) {
        if (common.Prefix) folders.push(common.Prefix.slice(prefix.length, -1));
      }
    }
  } catch (error) {
    throw classifyAwsError(error, `listing s3://${bucket}/${prefix}`);
  }
  return folders;
}

/** The (account, region) folders of the trail, narrowed by the source's accounts, regions and organizationId. */
export async function discoverS3Partitions(client: S3Client, source: S3Source): Promise<S3TrailPartition[]> {
  const top = logsBase(source.prefix, source.organizationId);
  const bases: string[] = [];
  if (source.organizationId) bases.push(top);
  else {
    const children = await listFolders(client, source.bucket, top);
    if (children.some((child) => /^\d{12}$/.test(child))) bases.push(top);
    for (const org of children.filter((child) => /^o-[a-z0-9]+$/.test(child))) bases.push(`${top}${org}/`);
  }
  const partitions: S3TrailPartition[] = [];
  for (const base of bases) {
    const accounts = source.accounts ?? (await listFolders(client, source.bucket, base)).filter((a) => /^\d{12}$/.test(a));
    for (const accountId of accounts) {
      const regions = source.regions ?? (await listFolders(client, source.bucket, `${base}${accountId}/CloudTrail/`));
      for (const region of regions) partitions.push({ base, accountId, region });
    }
  }
  // key order (code units, as S3 lists), which is the order dedup keeps first copies in
  const keyOf = (p: S3TrailPartition) => `${p.base}${p.accountId}/${p.region}`;
  return partitions.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}

/**
 * The trail files of one partition that can hold events of the read window: the date folders from
 * the window's first day to the day its late-delivery margin ends, filtered by the delivery time in the name.
 * Digests, Insight files and other keys are never listed under CloudTrail/<region>/.
 */
export async function listS3LogObjects(client: S3Client, source: S3Source, partition: S3TrailPartition, readWindow: ScanPeriod): Promise<LogObject[]> {
  const { paginateListObjectsV2 } = await s3Sdk();
  const lastDeliveryMs = readWindow.endMs + parseIsoDuration(source.lateDelivery);
  const firstDeliveryMs = readWindow.startMs - EARLY_SLACK_MS;
  const objects: LogObject[] = [];
  for (let day = Math.floor(firstDeliveryMs / DAY_MS) * DAY_MS; day < lastDeliveryMs; day += DAY_MS) {
    const prefix = dayFolder(partition.base, partition.accountId, partition.region, day);
    try {
      for await (const page of paginateListObjectsV2({ client }, { Bucket: source.bucket, Prefix: prefix })) {
        for (const item of page.Contents ?? []) {
          const key = item.Key ?? '';
          if (classifyKey(key) !== 'trail') continue;
          const delivered = parseTrailKey(key)?.deliveredMs ?? firstDeliveryMs;
          if (delivered < firstDeliveryMs || delivered >= lastDeliveryMs) continue;
          objects.push({ key, size: item.Size ?? 0, open: () => openS3Object(client, source.bucket, key) });
        }
      }
    } catch (error) {
      throw classifyAwsError(error, `listing s3://${source.bucket}/${prefix}`);
    }
  }
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function openS3Object(client: S3Client, bucket: string, key: string): Promise<AsyncIterable<Uint8Array>> {
  const { GetObjectCommand } = await s3Sdk();
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return response.Body as AsyncIterable<Uint8Array>;
  } catch (error) {
    throw classifyAwsError(error, `reading s3://${bucket}/${key}`);
  }
}

/** Fails fast with a clear message when the bucket is missing or unreadable. */
export async function checkBucket(client: S3Client, source: S3Source): Promise<void> {
  const { ListObjectsV2Command } = await s3Sdk();
  try {
    await client.send(new ListObjectsV2Command({ Bucket: source.bucket, MaxKeys: 1, Prefix: logsBase(source.prefix) }));
  } catch (error) {
    throw classifyAwsError(error, `s3 source bucket "${source.bucket}"`);
  }
}
