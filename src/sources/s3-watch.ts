import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Source } from '../config/schema';
import { classifyAwsError } from './errors';
import { s3Sdk } from './s3';

/** An object a listing found, with its LastModified (the delivery time a watch measures latency from). */
export interface ListedObject {
  key: string;
  size: number;
  lastModifiedMs: number;
}

/** Every object under `prefix` (a partition's date folders: about 288 objects a day each), in key order; those after `startAfter` when given. */
export async function listS3Folder(client: S3Client, source: S3Source, prefix: string, startAfter?: string): Promise<ListedObject[]> {
  const { paginateListObjectsV2 } = await s3Sdk();
  const objects: ListedObject[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client }, { Bucket: source.bucket, Prefix: prefix, ...(startAfter ? { StartAfter: startAfter } : {}) })) {
      for (const item of page.Contents ?? []) {
        if (item.Key) objects.push({ key: item.Key, size: item.Size ?? 0, lastModifiedMs: item.LastModified?.getTime() ?? Date.now() });
      }
    }
  } catch (error) {
    throw classifyAwsError(error, `listing s3://${source.bucket}/${prefix}`);
  }
  return objects;
}
