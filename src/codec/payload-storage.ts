import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { ExternalStorage, type StorageDriver, StorageDriverClaim } from '@temporalio/common/lib/converter/extstore';
import { temporal } from '@temporalio/proto';
import type { S3StorageDriverClient, S3RequestOptions } from '@temporalio/external-storage-s3';
import type { PayloadStorageConfig } from '../config/schema';
import { EncryptionCodec, codecKeysFromEnvironment } from './encryption-codec';

const PayloadProto = temporal.api.common.v1.Payload;

/** Payloads above this many bytes (after the codec) go to External Storage; Temporal's own warning threshold. */
export const PAYLOAD_SIZE_THRESHOLD = 256 * 1024;

/** `dev`, `demo` and `--embedded` keep large payloads here unless the config names a payloadStorage. */
export const DEFAULT_PAYLOAD_FOLDER = '.trailwarden/payloads';

/**
 * A StorageDriver over a local (or shared) folder: each payload is stored once, content-addressed,
 * as `<folder>/<sha256[0..2]>/<sha256>`. The claim holds the hash only, never a path, so a history
 * names no folder and any process configured with the same folder reads it.
 */
export class LocalFolderStorageDriver implements StorageDriver {
  readonly name = 'trailwarden.folder';
  readonly type = 'trailwarden.folder';
  readonly folder: string;
  constructor(folder: string) {
    this.folder = resolve(folder);
  }

  private file(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new ValueError(`invalid payload claim hash "${hash}"`);
    return join(this.folder, hash.slice(0, 2), hash);
  }

  async store(_context: unknown, payloads: Payload[]): Promise<StorageDriverClaim[]> {
    return payloads.map((payload) => {
      const bytes = PayloadProto.encode(payload).finish();
      const hash = createHash('sha256').update(bytes).digest('hex');
      const file = this.file(hash);
      if (!existsSync(file)) {
        mkdirSync(join(this.folder, hash.slice(0, 2)), { recursive: true });
        const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
        const fd = openSync(temp, 'w');
        try {
          for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
        } finally {
          closeSync(fd);
        }
        renameSync(temp, file);
      }
      return new StorageDriverClaim({ hashAlgorithm: 'sha256', hashValue: hash });
    });
  }

  async retrieve(_context: unknown, claims: StorageDriverClaim[]): Promise<Payload[]> {
    return claims.map((claim) => {
      const hash = claim.claimData.hashValue;
      const file = this.file(hash);
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (error) {
        throw new Error(
          `payload ${hash} is not in the payload folder ${this.folder} (${(error as NodeJS.ErrnoException).code}): ` +
            'every client and worker must use the same payloadStorage',
        );
      }
      if (createHash('sha256').update(bytes).digest('hex') !== hash) throw new Error(`payload ${hash} in ${this.folder} is corrupt`);
      return PayloadProto.decode(bytes);
    });
  }
}

/** The S3 driver's client with every key under a prefix (the driver itself has no prefix option). */
export class PrefixedS3Client implements S3StorageDriverClient {
  constructor(
    private readonly inner: S3StorageDriverClient,
    private readonly prefix: string,
  ) {}
  putObject(bucket: string, key: string, data: Uint8Array, options?: S3RequestOptions): Promise<void> {
    return this.inner.putObject(bucket, `${this.prefix}${key}`, data, options);
  }
  objectExists(bucket: string, key: string, options?: S3RequestOptions): Promise<boolean> {
    return this.inner.objectExists(bucket, `${this.prefix}${key}`, options);
  }
  getObject(bucket: string, key: string, options?: S3RequestOptions): Promise<Uint8Array> {
    return this.inner.getObject(bucket, `${this.prefix}${key}`, options);
  }
  describe(): Record<string, string> {
    return { ...(this.inner.describe?.() ?? {}), prefix: this.prefix };
  }
}

/** The name and type of Temporal's S3 driver (`S3StorageDriver`), which claims carry. */
export const S3_DRIVER_NAME = 'aws.s3driver';

/**
 * Temporal's S3 driver, with its module and the AWS SDK (~50 MB of memory together) loaded when a
 * payload is first stored or retrieved: a process whose payloads all stay inline never loads them.
 */
export class LazyS3StorageDriver implements StorageDriver {
  readonly name = S3_DRIVER_NAME;
  readonly type = S3_DRIVER_NAME;
  private driver: Promise<StorageDriver> | undefined;
  constructor(private readonly config: Extract<PayloadStorageConfig, { type: 's3' }>) {}

  private load(): Promise<StorageDriver> {
    this.driver ??= (async () => {
      const [{ S3StorageDriver }, { AwsSdkS3StorageDriverClient }, { s3ClientFor }] = await Promise.all([
        import('@temporalio/external-storage-s3'),
        import('@temporalio/external-storage-s3-aws-sdk'),
        import('../store/s3-client'),
      ]);
      const client = new PrefixedS3Client(new AwsSdkS3StorageDriverClient(s3ClientFor(this.config)), this.config.prefix ?? '');
      return new S3StorageDriver({ client, bucket: this.config.bucket, driverName: S3_DRIVER_NAME });
    })();
    return this.driver;
  }

  async store(...args: Parameters<StorageDriver['store']>): ReturnType<StorageDriver['store']> {
    return (await this.load()).store(...args);
  }

  async retrieve(...args: Parameters<StorageDriver['retrieve']>): ReturnType<StorageDriver['retrieve']> {
    return (await this.load()).retrieve(...args);
  }
}

export function storageDriverOf(config: PayloadStorageConfig): StorageDriver {
  if (config.type === 'directory') return new LocalFolderStorageDriver(config.path);
  return new LazyS3StorageDriver(config);
}

export function externalStorageOf(config: PayloadStorageConfig | undefined): ExternalStorage | undefined {
  if (!config) return undefined;
  return new ExternalStorage({ drivers: [storageDriverOf(config)], payloadSizeThreshold: PAYLOAD_SIZE_THRESHOLD });
}

export interface TrailwardenDataConverter {
  payloadCodecs?: PayloadCodec[];
  externalStorage?: ExternalStorage;
}

/**
 * The data converter of every client, worker and codec server: encryption when codec keys are set
 * (the SDK runs the codec first, then offloads what is still above the threshold, so offloaded
 * blobs are ciphertext), and External Storage when a payloadStorage is configured.
 */
export function dataConverterFor(payloadStorage: PayloadStorageConfig | undefined): TrailwardenDataConverter | undefined {
  const keys = codecKeysFromEnvironment();
  const externalStorage = externalStorageOf(payloadStorage);
  if (!keys && !externalStorage) return undefined;
  return { ...(keys ? { payloadCodecs: [new EncryptionCodec(keys)] } : {}), ...(externalStorage ? { externalStorage } : {}) };
}

/** Where a process keeps payloads: the config's payloadStorage, else (dev, demo, --embedded) a local folder. */
export function payloadStorageFor(configured: PayloadStorageConfig | undefined, local: boolean, cwd = process.cwd()): PayloadStorageConfig | undefined {
  if (configured) return configured;
  return local ? { type: 'directory', path: resolve(cwd, DEFAULT_PAYLOAD_FOLDER) } : undefined;
}
