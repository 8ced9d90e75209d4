import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ExternalStorageRunner, isReferencePayload } from '@temporalio/common/lib/internal-non-workflow';
import { startCodecServer } from '../../src/codec/codec-server';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { LazyS3StorageDriver, LocalFolderStorageDriver, PAYLOAD_SIZE_THRESHOLD, externalStorageOf, storageDriverOf } from '../../src/codec/payload-storage';
import { s3ClientFor } from '../../src/store/s3-client';
import { s3Endpoint } from '../helpers/services';

const big = () => defaultPayloadConverter.toPayload({ lines: 3000, inline: 'x'.repeat(PAYLOAD_SIZE_THRESHOLD + 10) });
const small = () => defaultPayloadConverter.toPayload({ lines: 1 });
const json = (payload: Payload) => defaultPayloadConverter.fromPayload(payload);

describe('External Storage drivers', () => {
  test('the local folder driver stores content-addressed files and claims hold the hash only', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'tw-payloads-'));
    const runner = new ExternalStorageRunner(externalStorageOf({ type: 'directory', path: folder })!);
    const [stored, kept] = await runner.store([big(), small()]);
    expect(isReferencePayload(stored)).toBe(true);
    expect(isReferencePayload(kept)).toBe(false);
    expect(Buffer.from(stored.data ?? []).toString('latin1')).not.toContain(folder);
    expect(JSON.stringify(stored)).not.toContain('tw-payloads-');
    const [back] = await runner.retrieve([stored]);
    expect(json(back)).toEqual(json(big()));
    const [sub] = readdirSync(folder);
    expect(readdirSync(join(folder, sub))[0]).toMatch(new RegExp(`^${sub}[0-9a-f]{62}$`));
    // another process with another folder cannot read it, and says why
    await expect(
      new ExternalStorageRunner(externalStorageOf({ type: 'directory', path: mkdtempSync(join(tmpdir(), 'tw-other-')) })!).retrieve([stored]),
    ).rejects.toThrow('every client and worker must use the same payloadStorage');
    expect(new LocalFolderStorageDriver(folder).name).toBe('trailwarden.folder');
  });

  test("the npm S3 driver (1.22, on the project's 1.24 common and proto) round-trips through moto, every key under the prefix", async () => {
    const location = { bucket: `tw-extstore-${process.pid}`, prefix: 'team/payloads/', endpoint: s3Endpoint() };
    const client = s3ClientFor(location);
    await client.send(new CreateBucketCommand({ Bucket: location.bucket }));
    const runner = new ExternalStorageRunner(externalStorageOf({ type: 's3', ...location })!);
    const [stored] = await runner.store([big()], { target: { kind: 'workflow', namespace: 'default', id: 'scan-2026-09-01', type: 'DailyScanWorkflow' } });
    expect(isReferencePayload(stored)).toBe(true);
    const [back] = await runner.retrieve([stored]);
    expect(json(back)).toEqual(json(big()));
    const keys = ((await client.send(new ListObjectsV2Command({ Bucket: location.bucket }))).Contents ?? []).map((o) => o.Key!);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^team\/payloads\/v0\/ns\/default\/wt\/DailyScanWorkflow\/wi\/scan-2026-09-01\/ri\/null\/d\/sha256\/[0-9a-f]{64}$/);
    client.destroy();
  });

  test("the S3 driver is loaded on first use, under the name and type of Temporal's own (which claims carry)", async () => {
    const { S3StorageDriver } = await import('@temporalio/external-storage-s3');
    const real = new S3StorageDriver({ client: {} as never, bucket: 'b' });
    const lazy = storageDriverOf({ type: 's3', bucket: 'b', prefix: '' });
    expect(lazy).toBeInstanceOf(LazyS3StorageDriver);
    expect([lazy.name, lazy.type]).toEqual([real.name, real.type]);
    // a process that loads the worker's code with folder stores does not load the S3 driver or the AWS SDK for S3
    const script = `require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'workers', 'worker.js'))});
      require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'activities', 'index.js'))});
      console.log(Object.keys(require.cache).filter((k) => /client-s3|external-storage-s3/.test(k)).length)`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('0');
  });

  test('the codec server fetches offloaded payloads and decrypts them for the Web UI', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'tw-codec-payloads-'));
    const externalStorage = externalStorageOf({ type: 'directory', path: folder })!;
    const codec = new EncryptionCodec({ active: 'k1', keys: new Map([['k1', randomBytes(32)]]) });
    // what a worker writes: encrypted first, then offloaded
    const [reference] = await new ExternalStorageRunner(externalStorage).store(await codec.encode([big()]));
    expect(isReferencePayload(reference)).toBe(true);
    const server = await startCodecServer(codec, { port: 0, externalStorage });
    try {
      const toJson = (p: Payload) => ({
        metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
        data: Buffer.from(p.data ?? []).toString('base64'),
      });
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payloads: [toJson(reference)] }),
      });
      expect(response.status).toBe(200);
      const [decoded] = ((await response.json()) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads;
      expect(Buffer.from(decoded.metadata.encoding, 'base64').toString()).toBe('json/plain');
      expect(JSON.parse(Buffer.from(decoded.data, 'base64').toString())).toEqual(json(big()));
    } finally {
      server.close();
    }
  });
});
