/**
 * The reader against the plain evaluation (issue 12): on generated trails that are valid JSON written in
 * every way JSON allows (test/helpers/trail-generator.ts), trailwarden must find exactly the findings of
 * JSON.parse-ing every file whole and running the rules on its Records (test/helpers/reference-evaluator.ts),
 * and reject exactly the files that are corrupt. On the native route, the JavaScript route, the
 * JavaScript reader fed in chunks (as large objects are streamed), and through the real S3 source.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { correlate, correlateLines } from '../../src/activities/correlate';
import { scanContext, scanObjectStream } from '../../src/scan/scan-object';
import { scanPartition } from '../../src/activities/scan-partition';
import { blobLines } from '../../src/activities/scratch';
import type { PartitionResult } from '../../src/activities/types';
import { parseConfig } from '../../src/config/load';
import type { S3Source } from '../../src/config/schema';
import { nativeScanner } from '../../src/scan/native-scanner';
import type { Finding } from '../../src/rules/types';
import { createS3Client, discoverS3Partitions } from '../../src/sources/s3';
import { Dice } from '../helpers/json-writer';
import { type LogFile, type ReferenceResult, referenceEvaluation, sortById } from '../helpers/reference-evaluator';
import { s3Endpoint } from '../helpers/services';
import { type Trail, generateTrail } from '../helpers/trail-generator';
import { type TrailwardenResult, asStored, findingDifferences, trailwardenEvaluation } from '../helpers/trailwarden-scan';

const RULE1 = 'PH_Rule_ES_IMPORT_AWS_15';
const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';
const PERIOD = { startMs: Date.parse('2026-11-25T00:00:00Z'), endMs: Date.parse('2026-11-26T00:00:00Z') };
const DEFAULT_RULES = parseConfig({ sources: [] }).rules;
/** Every fourth seed: the options that widen the candidates (multipart uploads) and the read period (look-back). */
const OPTION_RULES = parseConfig({ sources: [], rules: { [RULE2]: { includeMultipartUploads: true, commandLookback: 'PT1H' } } }).rules;
/** Every fourth seed from 1: the SigmaHQ pack and rules aimed at the generator's records (folded names, literals, correlations). */
const SIGMA_RULES = parseConfig({
  sources: [],
  rules: { sigma: { pack: true, paths: [path.resolve(__dirname, '../fixtures/sigma/differential.yml')] } },
}).rules;
const rulesFor = (seed: number) => (seed % 4 === 3 ? OPTION_RULES : seed % 4 === 1 ? SIGMA_RULES : DEFAULT_RULES);

const SEEDS = 300;
const BATCH = 50;
/** At most this many failing seeds are described in a failure message. */
const DESCRIBED = 8;

const trails = new Map<number, { trail: Trail; expected: ReferenceResult }>();

function seedCase(seed: number): { trail: Trail; expected: ReferenceResult } {
  let found = trails.get(seed);
  if (!found) {
    const trail = generateTrail(seed);
    found = { trail, expected: referenceEvaluation(trail.files, rulesFor(seed), PERIOD) };
    trails.set(seed, found);
  }
  return found;
}

/** What differs between the reference and trailwarden on one seed, in lines (none: they agree). */
function problems(seed: number, trail: Trail, expected: ReferenceResult, actual: TrailwardenResult): string[] {
  const lines = findingDifferences(expected.findings, actual.findings);
  for (const file of trail.files) {
    const want = expected.corrupt.get(file.key);
    const got = actual.corrupt.get(file.key);
    if ((want === undefined) !== (got === undefined)) {
      const name = file.key.slice(file.key.lastIndexOf('_') + 1);
      lines.push(
        want ? `${name} is corrupt (${want}) but was read [${file.notes.join('; ')}]` : `${name} threw ${got} but is valid JSON [${file.notes.join('; ')}]`,
      );
    }
  }
  // the finding lines name what differs; the comparison itself is on whole findings
  if (!lines.length && !isDeepStrictEqual(asStored(expected.findings), asStored(actual.findings))) lines.push('findings differ');
  return lines.map((line) => `seed ${seed}: ${line}`);
}

/** Expects no problems over the seeds, and says which seeds failed and how (a few of them in full). */
function expectAgreement(all: { seed: number; lines: string[] }[]): void {
  const failing = all.filter((seed) => seed.lines.length);
  expect({ failingSeeds: failing.map((f) => f.seed), firstProblems: failing.slice(0, DESCRIBED).flatMap((f) => f.lines) }).toEqual({
    failingSeeds: [],
    firstProblems: [],
  });
}

function seedRange(first: number): number[] {
  return Array.from({ length: BATCH }, (_, i) => first + i);
}

const BATCHES = Array.from({ length: SEEDS / BATCH }, (_, i) => ({ first: i * BATCH, last: i * BATCH + BATCH - 1 }));

describe.each([
  ['native', () => nativeScanner() ?? null],
  ['JavaScript', () => null],
])('differential, %s route: scanObjectBytes and correlateLines give the findings of parsing every file', (route, native) => {
  test('the route is what it says', () => {
    // the build makes the native module (npm run build); the JavaScript route must not use it
    expect(native() === null).toBe(route === 'JavaScript');
  });

  test.each(BATCHES)('seeds $first to $last', ({ first }) => {
    const results = seedRange(first).map((seed) => {
      const { trail, expected } = seedCase(seed);
      return { seed, lines: problems(seed, trail, expected, trailwardenEvaluation(trail.files, rulesFor(seed), PERIOD, native())) };
    });
    expectAgreement(results);
  });
});

test('the Sigma seeds have findings of every differential rule, of folded names, literals and correlations alike, and of the pack', () => {
  const byRule = new Map<string, number>();
  for (let seed = 1; seed < SEEDS; seed += 4) for (const f of seedCase(seed).expected.findings) byRule.set(f.ruleId, (byRule.get(f.ruleId) ?? 0) + 1);
  for (let rule = 1; rule <= 5; rule++)
    expect({ rule, found: (byRule.get(`3f1e2d4c-5b6a-4978-8a1b-0c2d3e4f5a0${rule}`) ?? 0) > 3 }).toEqual({ rule, found: true });
  const packFindings = [...byRule].filter(([id]) => !id.startsWith('3f1e2d4c-') && id !== RULE1 && id !== RULE2);
  expect(packFindings.length).toBeGreaterThanOrEqual(1);
});

/** The bytes as a body of chunks of random sizes (1 byte to 64 KB), as a network stream delivers them. */
async function* chunked(bytes: Buffer, dice: Dice): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length;) {
    const size = dice.pick([1, 2, 3, 7, 64, 1000, 4096, 65536]);
    yield Buffer.from(bytes.subarray(at, at + size));
    at += size;
  }
}

/** trailwardenEvaluation's twin for scanObjectStream, which large objects go through. */
async function streamEvaluation(seed: number, files: readonly LogFile[]): Promise<TrailwardenResult> {
  const scanner = scanContext({ rules: rulesFor(seed), period: PERIOD }, { native: null });
  const dice = new Dice(seed);
  const lines: string[] = [];
  const corrupt = new Map<string, string>();
  for (const file of files) {
    try {
      lines.push(...(await scanObjectStream(chunked(file.bytes, dice), scanner)).lines);
    } catch (error) {
      corrupt.set(file.key, `${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  return { findings: sortById(correlateLines(rulesFor(seed), PERIOD, lines).findings), corrupt };
}

describe('differential, JavaScript reader in chunks: scanObjectStream gives the findings of parsing every file', () => {
  test.each(BATCHES)('seeds $first to $last', async ({ first }) => {
    const results: { seed: number; lines: string[] }[] = [];
    for (const seed of seedRange(first)) {
      const { trail, expected } = seedCase(seed);
      results.push({ seed, lines: problems(seed, trail, expected, await streamEvaluation(seed, trail.files)) });
    }
    expectAgreement(results);
  });
});

describe('differential, the s3 source: scanPartition over moto S3, then correlate', () => {
  const quietLogger = new DefaultLogger('ERROR');
  const saved = { threads: process.env.TRAILWARDEN_SCAN_THREADS, scratch: process.env.TRAILWARDEN_SCRATCH_DIR };
  let scratch: string;

  beforeAll(() => {
    // scan on this thread: the scan threads run the compiled dist/, not the src/ under test
    process.env.TRAILWARDEN_SCAN_THREADS = '0';
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-differential-'));
    process.env.TRAILWARDEN_SCRATCH_DIR = scratch;
  });

  afterAll(() => {
    for (const [name, value] of [
      ['TRAILWARDEN_SCAN_THREADS', saved.threads],
      ['TRAILWARDEN_SCRATCH_DIR', saved.scratch],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * Seeds whose trails have several files and findings, the last of them with a corrupt file; chosen by
   * what the generator makes, so that they stay meaningful when it changes.
   */
  function s3Seeds(): number[] {
    const rich = (seed: number) => seed % 4 !== 3 && seedCase(seed).trail.files.length >= 2 && seedCase(seed).expected.findings.length >= 2;
    const seeds: number[] = [];
    for (let seed = 1000; seeds.length < 4; seed++) if (rich(seed) && seedCase(seed).expected.corrupt.size === 0) seeds.push(seed);
    for (let seed = 2000; seeds.length < 5; seed++) if (rich(seed) && seedCase(seed).expected.corrupt.size > 0) seeds.push(seed);
    return seeds;
  }

  /** A plain file larger than scanPartition reads whole (8 MB), so that it streams from S3. */
  function largeFile(key: string): LogFile {
    const command = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../fixtures/cloudtrail-samples/stratus_ssm_send_command.json'), 'utf8')).Records[0];
    const records = [
      {
        ...command,
        eventID: 'large-1',
        eventTime: '2026-11-25T11:00:00Z',
        requestParameters: { ...command.requestParameters, script: 'echo },{"eventVersion":\n'.repeat(400_000) },
      },
      { ...command, eventID: 'large-2', eventTime: '2026-11-25T11:00:01Z', eventName: 'SendCommandViaProxy' },
    ];
    return { key, bytes: Buffer.from(JSON.stringify({ Records: records }, null, 1)) };
  }

  async function scanS3(
    bucket: string,
    files: readonly LogFile[],
    scanId: string,
    rules: Record<string, unknown>,
  ): Promise<{ findings: Finding[]; results: PartitionResult[] }> {
    const client = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint(), forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const file of files) await client.send(new PutObjectCommand({ Bucket: bucket, Key: file.key, Body: file.bytes }));
    client.destroy();
    const source = parseConfig({ sources: [{ type: 's3', bucket, endpoint: s3Endpoint() }] }).sources[0] as S3Source;
    const partitions = await discoverS3Partitions(await createS3Client(source), source);
    expect(partitions.length).toBe(1);
    const results: PartitionResult[] = [];
    for (const [i, s3] of partitions.entries()) {
      const partition = {
        id: `0-${s3.accountId}-${s3.region}-${i}`,
        sourceIndex: 0,
        label: `s3://${bucket}/${s3.base}${s3.accountId}/CloudTrail/${s3.region}`,
        s3,
      };
      const input = { scanId, partition, source, rules, period: PERIOD };
      results.push(await new MockActivityEnvironment({}, { logger: quietLogger }).run(scanPartition, input));
    }
    const correlated = await correlate({ scanId, period: PERIOD, rules, selected: results.map((r) => r.selected) });
    const findings = [...blobLines(correlated.findings)].map((line) => JSON.parse(line) as Finding);
    return { findings: sortById(findings), results };
  }

  test('five seeds, one with a file large enough to stream, give the findings of parsing every file', async () => {
    const seeds = s3Seeds();
    expect(seeds).toHaveLength(5);
    for (const [n, seed] of seeds.entries()) {
      const files: LogFile[] = [...seedCase(seed).trail.files];
      if (n === 0) files.push(largeFile(files[files.length - 1].key.replace(/T10(\d\d)Z_/, 'T1059Z_')));
      const expected = n === 0 ? referenceEvaluation(files, rulesFor(seed), PERIOD) : seedCase(seed).expected;
      const { findings, results } = await scanS3(`tw-differential-${seed}`, files, `differential-s3-${seed}`, rulesFor(seed));
      expect({ seed, differences: findingDifferences(expected.findings, findings) }).toEqual({ seed, differences: [] });
      expect(asStored(findings)).toEqual(asStored(expected.findings));
      // a corrupt object is reported by its key and not read; every other object is read
      const objects = results.reduce((sum, r) => sum + r.stats.objects, 0);
      expect({ seed, objects }).toEqual({ seed, objects: files.length - expected.corrupt.size });
      const skippedKeys = new Set(results.flatMap((r) => r.skipped.map((s) => s.key)));
      for (const key of expected.corrupt.keys()) expect({ seed, skipped: skippedKeys.has(key) }).toEqual({ seed, skipped: true });
      if (n === 0) expect(findings.some((f) => f.eventIds.includes('large-1'))).toBe(true);
    }
    // the seeds must test something: findings of both rules, and a corrupt file
    const all = seeds.map((seed) => seedCase(seed).expected);
    expect(all.some((e) => e.findings.some((f) => f.ruleId === RULE1))).toBe(true);
    expect(all.some((e) => e.findings.some((f) => f.ruleId === RULE2))).toBe(true);
    expect(all.some((e) => e.corrupt.size > 0)).toBe(true);
  });
});

test('the generated trails exercise what they are meant to', () => {
  // over the default-rule seeds: findings of both rules, corrupt files, huge records, and trails of several files
  const cases = BATCHES.flatMap(({ first }) => seedRange(first))
    .filter((seed) => seed % 4 !== 3)
    .map(seedCase);
  const findings = cases.flatMap((c) => c.expected.findings);
  expect(findings.filter((f) => f.ruleId === RULE1).length).toBeGreaterThan(200);
  expect(findings.filter((f) => f.ruleId === RULE2).length).toBeGreaterThan(30);
  expect(cases.filter((c) => c.expected.corrupt.size > 0).length).toBeGreaterThan(20);
  expect(cases.filter((c) => c.trail.files.length > 1).length).toBeGreaterThan(100);
  const inflated = (bytes: Buffer) => (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).length;
  expect(cases.filter((c) => c.trail.files.some((f) => !c.expected.corrupt.has(f.key) && inflated(f.bytes) > 1024 * 1024)).length).toBeGreaterThan(0);
});
