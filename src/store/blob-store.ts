import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { once } from '../common/once';

/**
 * A flat key space of small-to-medium objects that every process using the same location reaches:
 * a folder (one machine, or a shared volume) or an S3 bucket and prefix (many machines).
 * Keys are relative, '/'-separated, made of [A-Za-z0-9._=/-]; `list` returns them sorted.
 *
 * Findings and the incident ledger live on it (findings-store.ts, incident-ledger.ts); a scan's
 * partitions can write their selected lines to it and correlate can read them back.
 */
export interface BlobStore {
  /** where it is, for messages: an absolute folder or s3://bucket/prefix */
  readonly location: string;
  /** writes (replaces) an object; readers see the old or the new content, never a part */
  put(key: string, body: Buffer | string): Promise<void>;
  /** the object's bytes, or undefined when there is none */
  get(key: string): Promise<Buffer | undefined>;
  /** every key that starts with `prefix`, sorted */
  list(prefix: string): Promise<string[]>;
  /** creates the object only when no object has that key: true when this call created it (exclusive) */
  createIfAbsent(key: string, body: Buffer | string): Promise<boolean>;
  delete(key: string): Promise<void>;
}

/** Where a store is, as a config names it (paths absolute by the time a worker sees them). */
export type StoreLocation = { directory: string } | { s3: S3StoreLocation };

export interface S3StoreLocation {
  bucket: string;
  /** key prefix, e.g. "trailwarden/"; "" for the bucket's root */
  prefix?: string;
  /** an S3-compatible endpoint (path-style), e.g. MinIO or moto */
  endpoint?: string;
  /** the client's region, default $AWS_REGION, then us-east-1 */
  region?: string;
}

function checkKey(key: string): string {
  if (!/^[A-Za-z0-9._=/-]+$/.test(key) || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`invalid store key "${key}"`);
  }
  return key;
}

/** Maps anything (a finding id, a workflow id) onto the store's key alphabet. */
export function keySegment(text: string): string {
  return text.replace(/[^A-Za-z0-9._=-]/g, '_');
}

export class DirectoryBlobStore implements BlobStore {
  readonly location: string;
  constructor(readonly root: string) {
    this.location = root;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    const file = this.path(key);
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    const fd = openSync(temp, 'w');
    try {
      const bytes = Buffer.from(body);
      for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return readFileSync(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = (dir: string) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw error;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (!entry.name.endsWith('.tmp')) keys.push(relative(this.root, full).split(sep).join('/'));
      }
    };
    // walk only the folder the prefix names (its last segment may be a partial name)
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    walk(folder ? join(this.root, ...folder.split('/')) : this.root);
    return keys.filter((key) => key.startsWith(prefix)).sort();
  }

  async createIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    const file = this.path(key);
    mkdirSync(dirname(file), { recursive: true });
    // write it aside, then link it into place: link(2) fails when the name exists, so exactly one
    // creator wins, and a reader never sees a half-written object
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    const fd = openSync(temp, 'wx');
    try {
      const bytes = Buffer.from(body);
      for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      rmSync(temp, { force: true });
    }
  }

  async delete(key: string): Promise<void> {
    rmSync(this.path(key), { force: true });
  }
}

/** The AWS SDK for S3 (~20 MB of memory), loaded when a store on S3 is first used: a worker with folder stores never loads it. */
const s3Sdk = once(() => import('@aws-sdk/client-s3'));

function isStatus(error: unknown, ...codes: number[]): boolean {
  const status = (error as S3ServiceException)?.$metadata?.httpStatusCode;
  return status !== undefined && codes.includes(status);
}

/**
 * Objects under s3://bucket/prefix. `createIfAbsent` is S3's conditional write (`If-None-Match: *`,
 * answered 412 when the key exists; AWS since 2024, MinIO, and moto 5 honour it).
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  private readonly prefix: string;
  private client: Promise<S3Client> | undefined;
  constructor(
    private readonly where: S3StoreLocation,
    client?: S3Client,
  ) {
    this.prefix = where.prefix ?? '';
    this.location = `s3://${where.bucket}/${this.prefix}`;
    if (client) this.client = Promise.resolve(client);
  }

  private async s3(): Promise<{ sdk: Awaited<ReturnType<typeof s3Sdk>>; client: S3Client }> {
    this.client ??= import('./s3-client').then(({ s3ClientFor }) => s3ClientFor(this.where));
    const [sdk, client] = await Promise.all([s3Sdk(), this.client]);
    return { sdk, client };
  }

  private key(key: string): string {
    return `${this.prefix}${checkKey(key)}`;
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    const { sdk, client } = await this.s3();
    await client.send(new sdk.PutObjectCommand({ Bucket: this.where.bucket, Key: this.key(key), Body: Buffer.from(body) }));
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const { sdk, client } = await this.s3();
      const response = await client.send(new sdk.GetObjectCommand({ Bucket: this.where.bucket, Key: this.key(key) }));
      return Buffer.from(await response.Body!.transformToByteArray());
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey' || isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { sdk, client } = await this.s3();
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: `${this.prefix}${prefix}`, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async createIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    const { sdk, client } = await this.s3();
    for (let attempt = 1; ; attempt++) {
      try {
        await client.send(new sdk.PutObjectCommand({ Bucket: this.where.bucket, Key: this.key(key), Body: Buffer.from(body), IfNoneMatch: '*' }));
        return true;
      } catch (error) {
        // 412: the key exists
        if (isStatus(error, 412)) return false;
        // 409: a concurrent conditional write to the same key is in flight (AWS): ask again
        if (isStatus(error, 409) && attempt < 10) {
          await new Promise((r) => setTimeout(r, 50 * attempt));
          continue;
        }
        throw error;
      }
    }
  }

  async delete(key: string): Promise<void> {
    const { sdk, client } = await this.s3();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.key(key) }));
  }
}

export function blobStoreOf(location: StoreLocation): BlobStore {
  return 'directory' in location ? new DirectoryBlobStore(location.directory) : new S3BlobStore(location.s3);
}

/** The objects of `store` under `prefix` ("scans/<scan id>/"), as a store of their own. */
export function withPrefix(store: BlobStore, prefix: string): BlobStore {
  if (prefix && !prefix.endsWith('/')) throw new Error(`a store prefix ends with "/" (got "${prefix}")`);
  if (prefix) checkKey(prefix.slice(0, -1));
  return {
    location: `${store.location}${store.location.endsWith('/') ? '' : '/'}${prefix}`,
    put: (key, body) => store.put(`${prefix}${key}`, body),
    get: (key) => store.get(`${prefix}${key}`),
    list: async (p) => (await store.list(`${prefix}${p}`)).map((key) => key.slice(prefix.length)),
    createIfAbsent: (key, body) => store.createIfAbsent(`${prefix}${key}`, body),
    delete: (key) => store.delete(`${prefix}${key}`),
  };
}

/**
 * Where a scan may keep intermediate sets (a partition's selected lines, for correlate to read back on
 * any worker): `scans/<scan id>/` beside the scan's findings. For the fan-out: a partition `put`s
 * `selected/<partition id>.jsonl` and returns its key; correlate `list`s / `get`s them; cleanup
 * `delete`s them.
 */
export function scanBlobStore(config: { findingsStore?: StoreLocation; findingsDirectory: string }, scanId: string): BlobStore {
  return withPrefix(blobStoreOf(config.findingsStore ?? { directory: config.findingsDirectory }), `scans/${keySegment(scanId)}/`);
}
