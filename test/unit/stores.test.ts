import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { Finding, SsmCommandExecutionFinding } from '../../src/rules/types';
import { type BlobStore, DirectoryBlobStore, S3BlobStore, scanBlobStore, withPrefix } from '../../src/store/blob-store';
import { s3ClientFor } from '../../src/store/s3-client';
import { type FindingsStore, DirectoryFindingsStore, PartsFindingsStore, findingsStoreOf } from '../../src/store/findings-store';
import { IncidentLedger } from '../../src/store/incident-ledger';
import { s3Endpoint } from '../helpers/services';

const DATE = '2026-11-25';
let bucketCount = 0;

function finding(id: string, count = 1): SsmCommandExecutionFinding {
  return {
    id,
    ruleId: 'PH_Rule_ES_IMPORT_AWS_15',
    ruleName: 'AWS Execution via System Manager',
    severity: 'Low',
    tactics: ['Execution'],
    techniques: ['T1059.006'],
    accountId: '111122223333',
    user: 'alice',
    windowStart: '2026-11-25T10:00:00.000Z',
    windowEnd: '2026-11-25T10:05:00.000Z',
    firstSeen: '2026-11-25T10:00:01.000Z',
    lastSeen: '2026-11-25T10:00:01.000Z',
    count,
    failedCount: 0,
    eventIds: [`ev-${id}`],
  };
}

function tempRoot(name: string): string {
  return mkdtempSync(join(tmpdir(), `tw-store-${name}-`));
}

async function s3Location(prefix = 'tw/') {
  const bucket = `tw-store-test-${process.pid}-${++bucketCount}`;
  const location = { bucket, prefix, endpoint: s3Endpoint() };
  const client = s3ClientFor(location);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return location;
}

const kinds: [string, () => Promise<BlobStore>][] = [
  ['directory', async () => new DirectoryBlobStore(tempRoot('blobs'))],
  ['S3 (moto)', async () => new S3BlobStore(await s3Location())],
];

describe.each(kinds)('blob store: %s', (_name, make) => {
  let store: BlobStore;
  beforeAll(async () => {
    store = await make();
  });

  it('puts, gets, replaces and deletes an object; a missing one reads undefined', async () => {
    expect(await store.get('a/missing')).toBeUndefined();
    await store.put('a/one.txt', 'first');
    await store.put('a/one.txt', 'second');
    expect((await store.get('a/one.txt'))?.toString()).toBe('second');
    await store.delete('a/one.txt');
    expect(await store.get('a/one.txt')).toBeUndefined();
  });

  it('lists the keys under a prefix, sorted, and only those', async () => {
    for (const key of ['l/b/2', 'l/a/1', 'l/b/10', 'lx/3', 'l/bc']) await store.put(key, key);
    expect(await store.list('l/b')).toEqual(['l/b/10', 'l/b/2', 'l/bc']);
    expect(await store.list('l/')).toEqual(['l/a/1', 'l/b/10', 'l/b/2', 'l/bc']);
    expect(await store.list('nothing/')).toEqual([]);
  });

  it('createIfAbsent is exclusive: of 25 concurrent creators exactly one wins, and its content stays', async () => {
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => store.createIfAbsent('claims/x', `writer ${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect((await store.get('claims/x'))?.toString()).toBe(`writer ${winner}`);
    expect(await store.createIfAbsent('claims/x', 'late')).toBe(false);
    expect((await store.get('claims/x'))?.toString()).toBe(`writer ${winner}`);
  });

  it('withPrefix gives the objects under a prefix as a store of their own', async () => {
    const scoped = withPrefix(store, 'scans/scan-1/');
    await scoped.put('selected/p-0.jsonl', 'lines');
    expect(await scoped.createIfAbsent('selected/p-1.jsonl', 'more')).toBe(true);
    expect(await scoped.list('selected/')).toEqual(['selected/p-0.jsonl', 'selected/p-1.jsonl']);
    expect((await store.get('scans/scan-1/selected/p-0.jsonl'))?.toString()).toBe('lines');
    await scoped.delete('selected/p-0.jsonl');
    expect(await scoped.list('')).toEqual(['selected/p-1.jsonl']);
    expect(scoped.location.endsWith('/scans/scan-1/')).toBe(true);
  });

  it('refuses keys that could leave the store', async () => {
    await expect(store.put('../escape', 'x')).rejects.toThrow('invalid store key');
    await expect(store.get('a//b')).rejects.toThrow('invalid store key');
  });
});

test("scanBlobStore keeps a scan's intermediate sets beside its findings, under scans/<scan id>/", async () => {
  const root = tempRoot('scan-store');
  const store = scanBlobStore({ findingsDirectory: root }, 'scan-2026-11-25-run/1');
  await store.put('selected/dir-0.jsonl', '{}\n');
  expect(readdirSync(join(root, 'scans'))).toEqual(['scan-2026-11-25-run_1']);
  expect(await store.list('selected/')).toEqual(['selected/dir-0.jsonl']);
});

test('directory createIfAbsent leaves no temporary file behind', async () => {
  const root = tempRoot('tmpfiles');
  const store = new DirectoryBlobStore(root);
  await Promise.all(Array.from({ length: 10 }, () => store.createIfAbsent('c/one', 'x')));
  expect(readdirSync(join(root, 'c'))).toEqual(['one']);
});

describe('S3 findings store (parts merged on read)', () => {
  let store: FindingsStore;
  beforeAll(async () => {
    store = new PartsFindingsStore(new S3BlobStore(await s3Location('findings/')));
  });

  it('upserts by id: a re-run adds nothing, a changed finding replaces the old one, old findings are kept', async () => {
    expect(await store.read(DATE)).toEqual([]);
    expect(await store.upsert(DATE, [finding('f-1'), finding('f-2')])).toMatchObject({ stored: 2, added: 2, updated: 0 });
    expect(await store.upsert(DATE, [finding('f-1'), finding('f-2')])).toMatchObject({ stored: 2, added: 0, updated: 0 });
    expect(await store.upsert(DATE, [finding('f-2', 5)])).toMatchObject({ stored: 2, added: 0, updated: 1 });
    const read = await store.read(DATE);
    expect(read.map((f) => [f.id, f.count])).toEqual([
      ['f-1', 1],
      ['f-2', 5],
    ]);
    expect(await store.read('2026-11-26')).toEqual([]);
  });

  it('concurrent writers never lose a finding: 12 writers at once, each with its own findings and a shared one', async () => {
    const date = '2026-11-27';
    await Promise.all(Array.from({ length: 12 }, (_, w) => store.upsert(date, [finding(`w${w}-a`), finding(`w${w}-b`), finding('shared')])));
    const ids = (await store.read(date)).map((f) => f.id).sort();
    expect(ids).toEqual([...Array.from({ length: 12 }, (_, w) => [`w${w}-a`, `w${w}-b`]).flat(), 'shared'].sort());
  });
});

/** Runs `count` processes that each upsert their own findings into one folder, all at once. */
function concurrentDirectoryWriters(directory: string, count: number): Promise<number[]> {
  const module = resolve(__dirname, '..', '..', 'dist', 'store', 'findings-store.js');
  return Promise.all(
    Array.from(
      { length: count },
      (_, w) =>
        new Promise<number>((done, fail) => {
          const script = `
          const { upsertFindings } = require(${JSON.stringify(module)});
          const base = ${JSON.stringify(finding('template'))};
          const make = (id) => ({ ...base, id, eventIds: ['ev-' + id] });
          for (let round = 0; round < 5; round++) upsertFindings(${JSON.stringify(directory)}, ${JSON.stringify(DATE)}, [make('p${w}-' + round), make('shared')]);
        `;
          const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
          child.on('error', fail);
          child.on('close', (code) => done(code ?? -1));
        }),
    ),
  );
}

test('directory findings store: 6 processes writing the same date at once never lose a finding', async () => {
  const directory = tempRoot('findings');
  expect(await concurrentDirectoryWriters(directory, 6)).toEqual([0, 0, 0, 0, 0, 0]);
  const ids = (await new DirectoryFindingsStore(directory).read(DATE)).map((f) => f.id).sort();
  expect(ids).toEqual([...Array.from({ length: 6 }, (_, w) => Array.from({ length: 5 }, (_, r) => `p${w}-${r}`)).flat(), 'shared'].sort());
  expect(readdirSync(directory)).toEqual([`${DATE}.jsonl`]);
});

describe.each([
  ['directory', async () => ({ directory: tempRoot('ledger') })],
  ['S3 (moto)', async () => ({ s3: await s3Location('ledger/') })],
])('incident ledger: %s', (_name, make) => {
  it('a finding is claimed once: concurrent claims all get the first claim, and it is routed only when marked', async () => {
    const location = await make();
    const ledger = new IncidentLedger('directory' in location ? new DirectoryBlobStore(location.directory) : new S3BlobStore(location.s3));
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ledger.claim(DATE, { findingId: 'f-1', incidentId: `incident-${i}`, runId: `run-${i}` })),
    );
    expect(new Set(claims.map((c) => c.incidentId)).size).toBe(1);
    expect(ledger.isRouted(await ledger.routedIds(DATE), 'f-1')).toBe(false);
    await ledger.markRouted(DATE, ['f-1']);
    expect(ledger.isRouted(await ledger.routedIds(DATE), 'f-1')).toBe(true);
    const state = await ledger.read(DATE);
    expect(state.get('f-1')).toEqual({ claim: claims[0], routed: true });
    // the findings store beside it does not see the ledger's objects
    expect(await findingsStoreOf(location).read(DATE)).toEqual([] as Finding[]);
  });
});
