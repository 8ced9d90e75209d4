import { S3Client } from '@aws-sdk/client-s3';
import type { S3StoreLocation } from './blob-store';

/** The S3 client of a store on S3 (blob stores, findings, the ledger, payload storage): path-style when an endpoint is named (moto, MinIO). */
export function s3ClientFor(location: S3StoreLocation): S3Client {
  return new S3Client({
    region: location.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
    followRegionRedirects: true,
  });
}
