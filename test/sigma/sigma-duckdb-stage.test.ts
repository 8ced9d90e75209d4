import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sigmaPythonPath } from '../../src/local/tools';
import { compileSigmaRule, loadSigma, SIGMAHQ_CLOUDTRAIL_PACK, type SigmaRule } from '../../src/sigma';
import { prng } from '../helpers/prng';
import { sigmaTestTrail, type Json, type Tree } from '../helpers/sigma-trail';

/**
 * Stage (d) of `npm run bench -- --sigma` (scripts/bench/sigma-duckdb.js, run from dist/ as the benchmark
 * runs it: `npm run build` first) on a small trail in the S3 key layout: every SigmaHQ rule's matches are
 * the records of the scan's day, each eventID once, that trailwarden's compiled rule matches.
 */
const { convertRules, parse } = require('../../scripts/sigma/duckdb-sql.js') as {
  convertRules(python: string, paths: string[]): { id: string; kind: string; fields: string[]; markedSql: string }[];
  parse(sql: string): Tree;
};
const DATE = '2026-10-14';
const STAGE = join(__dirname, '..', '..', 'scripts', 'bench', 'sigma-duckdb.js');

let dir: string;
let trail: Record<string, Json>[];

beforeAll(() => {
  const python = sigmaPythonPath();
  if (!python) throw new Error('pySigma could not be installed into .tools/');
  const converted = convertRules(python, [SIGMAHQ_CLOUDTRAIL_PACK]).filter((entry) => entry.kind === 'rule');
  const random = prng(17);
  const day = Date.parse(`${DATE}T00:00:00Z`);
  // in the day, a few the day before or after, and some eventIDs twice (a re-delivered file)
  trail = sigmaTestTrail(
    converted.map((entry) => ({ id: entry.id, fields: entry.fields, tree: parse(entry.markedSql.slice('SELECT * FROM logs WHERE '.length)) })),
    6,
  )
    .filter((record) => typeof record.eventName === 'string')
    .map((record) => ({ ...record, eventTime: new Date(day + Math.floor((random() * 1.1 - 0.05) * 86_400_000)).toISOString().replace(/\.\d+Z$/, 'Z') }));
  trail.push(...trail.filter(() => random() < 0.05).map((record) => ({ ...record, eventTime: `${DATE}T12:00:00Z` })));
  dir = mkdtempSync(join(tmpdir(), 'tw-sigma-stage-'));
  for (let start = 0, n = 0; start < trail.length; start += 400, n++) {
    const folder = join(dir, 'AWSLogs', '111122223333', 'CloudTrail', n % 2 ? 'us-east-1' : 'eu-west-1', '2026', '10', '14');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `111122223333_CloudTrail_part${n}.json.gz`), gzipSync(JSON.stringify({ Records: trail.slice(start, start + 400) })));
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runStage(arg: object): Record<string, unknown> {
  const child = spawnSync(process.execPath, [STAGE, JSON.stringify(arg)], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (child.status !== 0) throw new Error(`sigma-duckdb.js exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

test("stage (d) finds, per rule, the eventIDs of the day that trailwarden's rules match, each once", () => {
  const result = runStage({ dir, date: DATE, threads: 2 });
  const rules = loadSigma([SIGMAHQ_CLOUDTRAIL_PACK]).filter((doc): doc is SigmaRule => doc.kind === 'rule');
  const start = Date.parse(`${DATE}T00:00:00Z`);
  const inDay = trail.filter((record) => Date.parse(record.eventTime as string) >= start && Date.parse(record.eventTime as string) < start + 86_400_000);
  expect(inDay.length).toBeLessThan(trail.length);
  const expected = Object.fromEntries(
    rules.map((rule) => {
      const compiled = compileSigmaRule(rule);
      return [rule.id, [...new Set(inDay.filter((record) => compiled.matches(record)).map((record) => record.eventID as string))].sort()];
    }),
  );
  // the 57 rules and the ones the 8 correlations count; the correlations' matches are checked in duckdb-check.test.ts
  const byRule = result.matchesByRule as Record<string, unknown>;
  expect(result.correlations).toBe(8);
  const correlationIds = loadSigma([SIGMAHQ_CLOUDTRAIL_PACK])
    .filter((doc) => doc.kind === 'correlation')
    .map((doc) => doc.id);
  for (const id of correlationIds) expect(Array.isArray(byRule[id])).toBe(true);
  expect(result.rules).toBe(rules.length);
  expect(Object.fromEntries(Object.entries(byRule).filter(([id]) => !correlationIds.includes(id)))).toEqual(expected);
  expect(Object.values(expected).every((ids) => ids.length > 0)).toBe(true);
  expect(typeof result.seconds).toBe('number');

  const counted = runStage({ dir, date: DATE, threads: 1, counts: true });
  expect(counted.matchesByRule).toEqual(Object.fromEntries(Object.entries(byRule).map(([id, ids]) => [id, (ids as string[]).length])));
});
