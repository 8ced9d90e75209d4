import { gunzipSync, gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocumentTooLarge, MAX_DOCUMENT_BYTES, scanContext, scanObjectBytes, type ScanJob } from '../../src/scan/scan-object';
import { ScanPool } from '../../src/scan/scan-pool';
import { LogFileFormatError } from '../../src/scan/records-reader';
import { parseConfig } from '../../src/config/load';

// the threads run the build's JavaScript: `npm test` builds first
const SCRIPT = join(__dirname, '..', '..', 'dist', 'scan', 'scan-thread.js');
const JOB: ScanJob = {
  rules: parseConfig({ sources: [] }).rules,
  period: { startMs: Date.parse('2026-11-25T00:00:00Z'), endMs: Date.parse('2026-11-26T00:00:00Z') },
};

function document(i: number): Buffer {
  const records = Array.from({ length: 50 }, (_, j) => ({
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', userName: `u${i}`, accountId: '111122223333' },
    eventTime: `2026-11-25T10:${String(j).padStart(2, '0')}:00Z`,
    eventSource: 'ssm.amazonaws.com',
    eventName: j % 7 === 0 ? 'SendCommand' : 'DescribeInstances',
    eventID: `e-${i}-${j}`,
    recipientAccountId: '111122223333',
    requestParameters: { parameters: { commands: ['id'] }, outputS3BucketName: 'b' },
  }));
  return gzipSync(JSON.stringify({ Records: records }));
}

describe('ScanPool', () => {
  let pool: ScanPool;
  beforeAll(async () => {
    expect(existsSync(SCRIPT)).toBe(true);
    pool = new ScanPool(2, SCRIPT);
    await pool.warm();
  });
  afterAll(() => pool.close());

  test('threads give the same scan as the calling thread, for files sent at once', async () => {
    const files = Array.from({ length: 12 }, (_, i) => document(i));
    const inline = files.map((bytes) => scanObjectBytes(bytes, scanContext(JOB)));
    const threaded = await Promise.all(files.map((bytes) => pool.scan(bytes, JOB)));
    expect(threaded).toEqual(inline);
    expect(threaded.reduce((n, scan) => n + scan.lines.length, 0)).toBeGreaterThan(0);
  });

  test('files of many jobs, interleaved, are each scanned with their own job (a job is sent to a thread once, and again after its cache is cleared)', async () => {
    // 20 jobs (more than a thread's cache of 16): different periods select different records
    const jobs = Array.from({ length: 20 }, (_, k): ScanJob => ({
      rules: JOB.rules,
      period: { startMs: JOB.period.startMs, endMs: JOB.period.startMs + 10 * 3_600_000 + k * 3 * 60_000 },
    }));
    const order = Array.from({ length: 60 }, (_, i) => ({ file: document(i % 5), job: jobs[(i * 7) % jobs.length] }));
    const inline = order.map(({ file, job }) => scanObjectBytes(file, scanContext(job)));
    const threaded = await Promise.all(order.map(({ file, job }) => pool.scan(file, job)));
    expect(threaded).toEqual(inline);
    expect(new Set(inline.map((scan) => scan.selected)).size).toBeGreaterThan(1);
  });

  test('a local file is read by the thread itself, with the same result; a missing one fails as unreadable, not corrupt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-scan-pool-'));
    const path = join(dir, 'one.json.gz');
    writeFileSync(path, document(4));
    await expect(pool.scan(path, JOB)).resolves.toEqual(scanObjectBytes(document(4), scanContext(JOB)));
    await expect(pool.scan(join(dir, 'missing.json.gz'), JOB)).rejects.toMatchObject({ code: 'ENOENT' });
    rmSync(dir, { recursive: true, force: true });
  });

  test('a file that shares its memory with other Buffers is copied, not taken from them', async () => {
    const bytes = Buffer.from(
      gunzipSync(document(1))
        .toString()
        .replace('"eventVersion"', `"pad":"${'p'.repeat(16 * 1024)}","eventVersion"`),
    ); // too large for Node's small-Buffer pool
    const shared = Buffer.concat([Buffer.from('x'), bytes]).subarray(1);
    const neighbour = Buffer.from(shared.buffer, shared.byteOffset - 1, 1);
    await expect(pool.scan(shared, JOB)).resolves.toMatchObject({ records: 50 });
    expect(neighbour.toString()).toBe('x');
  });

  test('corrupt and unusable files fail with the errors the activity tells apart', async () => {
    const truncated = document(2).subarray(0, 60);
    await expect(pool.scan(truncated, JOB)).rejects.toMatchObject({ code: expect.stringMatching(/^Z_/) });
    await expect(pool.scan(Buffer.from('{"NotRecords":1}'), JOB)).rejects.toBeInstanceOf(LogFileFormatError);
    await expect(pool.scan(gzipSync(`{"Records":[${' '.repeat(MAX_DOCUMENT_BYTES)}]}`), JOB)).rejects.toBeInstanceOf(DocumentTooLarge);
    // and the pool still works afterwards
    await expect(pool.scan(document(3), JOB)).resolves.toMatchObject({ records: 50 });
  });
});

test('a process whose pool is warm and idle still exits on its own', () => {
  const script = `
    const { ScanPool } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'scan', 'scan-pool.js'))});
    const pool = new ScanPool(2, ${JSON.stringify(SCRIPT)});
    pool.warm().then(() => pool.scan(Buffer.from('{"Records":[]}'), ${JSON.stringify(JOB)})).then((scan) => console.log('scanned', scan.records));
  `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(child.stdout.trim()).toBe('scanned 0');
  expect(child.status).toBe(0);
});
