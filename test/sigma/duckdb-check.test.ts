import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { eventTimeMs, type CloudTrailRecord } from '../../src/cloudtrail/record';
import { installError, sigmaPythonPath } from '../../src/local/tools';
import {
  compileSigmaRule,
  evaluateCorrelation,
  loadSigma,
  SIGMAHQ_CLOUDTRAIL_PACK,
  type SigmaCorrelation,
  type SigmaEvent,
  type SigmaRule,
} from '../../src/sigma';
import { correlationTrail, sigmaTestTrail, type Json, type Tree } from '../helpers/sigma-trail';

/**
 * The independent check of issue #17: pySigma's DuckDB backend converts the SigmaHQ CloudTrail rules,
 * DuckDB runs that SQL (corrected for the backend's known deviations from the specification, see
 * scripts/sigma/duckdb-sql.js) over test trails, and trailwarden's compiled rules must match exactly
 * the same records, rule by rule.
 */
interface Converted {
  file: string;
  id: string;
  title: string;
  kind: 'rule' | 'correlation';
  fields: string[];
  sql: string;
  markedSql: string;
  correlation?: { type: string; rules: string[]; groupBy: string[]; timespanSeconds: number; condition: { op: string; count: number } | null };
  error?: string;
}
const { convertRules, parse, runSigmaDuckdb, MULTI, SINGLE } = require('../../scripts/sigma/duckdb-sql.js') as {
  convertRules(python: string, paths: string[]): Converted[];
  parse(sql: string): Tree;
  runSigmaDuckdb(options: {
    glob: string;
    rules: Converted[];
    correlations?: Converted[];
    threads?: number;
  }): Promise<{ seconds: number; matchesByRule: Record<string, string[]> }>;
  MULTI: string;
  SINGLE: string;
};

const SEEDS = 40;
const PREFIX = 'SELECT * FROM logs WHERE ';
const SHARED_RULES = join(__dirname, '..', '..', '..', 'shared', 'sigma', 'rules', 'cloudtrail');

/**
 * Where trailwarden and the corrected SQL still differ, why, and which records (asserted: every
 * difference is one of these, and each one shows on the trail).
 */
const EXPLAINED: { why: string; records(record: Record<string, Json>): boolean }[] = [
  {
    // trailwarden's choice (src/sigma/compile.ts), not the specification's: it names no CloudTrail field
    why: 'a record whose top-level eventName is not a string is malformed CloudTrail: trailwarden matches no rule on it, the SQL reads it like any other',
    records: (record) => typeof record.eventName !== 'string',
  },
];

/** Records that show each corrected deviation (their eventIDs name it). */
const DEVIATIONS: Record<string, Json>[] = [
  {
    // a real console login says "No"; the rule says NO
    eventID: 'deviation-case',
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', userName: 'alice' },
    eventTime: '2026-11-30T10:00:00Z',
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'Mozilla/5.0',
    requestParameters: null,
    responseElements: { ConsoleLogin: 'Success' },
    additionalEventData: { LoginTo: 'https://console.aws.amazon.com/console/home', MobileVersion: 'No', MFAUsed: 'No' },
    eventType: 'AwsConsoleSignIn',
    recipientAccountId: '111122223333',
  },
  {
    // _ of $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is a LIKE wildcard in the backend's SQL (one
    // container, one command, not CloudTrail's arrays: the backend's scalar column reads no arrays)
    eventID: 'deviation-wildcard',
    eventSource: 'ecs.amazonaws.com',
    eventName: 'RegisterTaskDefinition',
    requestParameters: { containerDefinitions: { name: 'app', command: 'curl 169.254.170.2$AWS-CONTAINER-CREDENTIALS-RELATIVE-URI' } },
  },
  {
    // no eventType: the backend's NOT (eventType = 'AwsServiceEvent') is NULL
    eventID: 'deviation-not-null',
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBuckets',
    userIdentity: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' },
  },
];

let dir: string;
let converted: Converted[];
let convertedCorrelations: Converted[];
let rules: SigmaRule[];
let correlations: SigmaCorrelation[];
let trail: Record<string, Json>[];
let duckdb: Record<string, string[]>;

beforeAll(async () => {
  const python = sigmaPythonPath();
  if (!python) throw new Error(`pySigma could not be installed into .tools/: ${installError('pysigma')}`);
  // the 57 rules, and the correlations of correlations/ with the rules they count
  const entries = convertRules(python, [SIGMAHQ_CLOUDTRAIL_PACK]);
  converted = entries.filter((entry) => entry.kind === 'rule');
  convertedCorrelations = entries.filter((entry) => entry.kind === 'correlation');
  const docs = loadSigma([SIGMAHQ_CLOUDTRAIL_PACK]);
  rules = docs.filter((doc): doc is SigmaRule => doc.kind === 'rule');
  correlations = docs.filter((doc): doc is SigmaCorrelation => doc.kind === 'correlation');
  const trees = converted.map((entry) => ({ id: entry.id, fields: entry.fields, tree: parse(entry.markedSql.slice(PREFIX.length)) }));
  const treeOf = new Map(trees.map((t) => [t.id, t]));
  const aroundThresholds = correlationTrail(
    convertedCorrelations.map(({ correlation }) => ({
      rules: correlation!.rules.map((id) => treeOf.get(id)!),
      groupBy: correlation!.groupBy,
      timespanSeconds: correlation!.timespanSeconds,
      count: correlation!.type === 'event_count' ? correlation!.condition!.count : undefined,
    })),
    Date.parse('2026-10-14T00:00:00Z'),
    17,
  );
  trail = [...sigmaTestTrail(trees, SEEDS), ...DEVIATIONS, ...aroundThresholds];
  dir = mkdtempSync(join(tmpdir(), 'tw-sigma-check-'));
  for (let start = 0, n = 0; start < trail.length; start += 500, n++) {
    writeFileSync(join(dir, `part-${n}.json.gz`), gzipSync(JSON.stringify({ Records: trail.slice(start, start + 500) })));
  }
  duckdb = (await runSigmaDuckdb({ glob: join(dir, '*.json.gz'), rules: converted, correlations: convertedCorrelations, threads: 2 })).matchesByRule;
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("pySigma converts every one of the 57 SigmaHQ CloudTrail rules and the pack's correlations; the marked SQL is the backend output", () => {
  // the pack both sides read is SigmaHQ's 57 rules unchanged
  const sharedFiles = readdirSync(SHARED_RULES).filter((name) => name.endsWith('.yml'));
  expect(sharedFiles).toHaveLength(57);
  for (const name of sharedFiles) expect(readFileSync(join(SIGMAHQ_CLOUDTRAIL_PACK, name), 'utf8')).toBe(readFileSync(join(SHARED_RULES, name), 'utf8'));
  expect([...converted, ...convertedCorrelations].filter((entry) => entry.error)).toEqual([]);
  const top = converted.filter((entry) => sharedFiles.some((name) => entry.file.endsWith(`/${name}`)));
  expect(new Set(top.map((entry) => entry.id)).size).toBe(57);
  expect(converted.map((entry) => entry.id).sort()).toEqual(rules.map((rule) => rule.id).sort());
  expect(convertedCorrelations.map((entry) => entry.id).sort()).toEqual(correlations.map((c) => c.id).sort());
  expect(convertedCorrelations).toHaveLength(8);
  for (const entry of converted) expect(entry.markedSql.split(MULTI).join('%').split(SINGLE).join('_')).toBe(entry.sql);
});

test('every rule matches some records of the trail and misses others', () => {
  for (const entry of converted) {
    const matched = duckdb[entry.id];
    expect({ id: entry.id, some: matched.length > 0, notAll: matched.length < trail.length }).toEqual({ id: entry.id, some: true, notAll: true });
  }
});

test("trailwarden's compiled rules match exactly what DuckDB matches with the corrected SQL, rule by rule", () => {
  const byId = new Map(trail.map((record) => [record.eventID as string, record]));
  const unexplained: { id: string; title: string; onlyTrailwarden: Json[]; onlyDuckdb: Json[] }[] = [];
  const shown = new Set<string>();
  let compared = 0;
  for (const rule of rules) {
    const compiled = compileSigmaRule(rule);
    const ours = new Set(trail.filter((record) => compiled.matches(record)).map((record) => record.eventID as string));
    const theirs = new Set(duckdb[rule.id]);
    const differing = (ids: Set<string>, others: Set<string>) =>
      [...ids]
        .filter((id) => !others.has(id))
        .map((id) => byId.get(id)!)
        .filter((record) => {
          const explanation = EXPLAINED.find((e) => e.records(record));
          if (explanation) shown.add(explanation.why);
          return !explanation;
        });
    const [a, b] = [differing(ours, theirs), differing(theirs, ours)];
    if (a.length + b.length > 0) unexplained.push({ id: rule.id, title: rule.title, onlyTrailwarden: a.slice(0, 3), onlyDuckdb: b.slice(0, 3) });
    compared++;
  }
  expect(compared).toBe(converted.length);
  expect(compared).toBeGreaterThan(57);
  expect(unexplained).toEqual([]);
  expect([...shown].sort()).toEqual(EXPLAINED.map((e) => e.why).sort());
});

/** A top-level field's text as the correlation SQL groups by it: a string, number or boolean; else missing. */
const scalarText = (value: Json | undefined) =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;

test("trailwarden's correlations (aligned windows, distinct events) find exactly the corrected SQL's matches", () => {
  const compiled = new Map(rules.map((rule) => [rule.id, compileSigmaRule(rule)]));
  expect(correlations).toHaveLength(8);
  for (const correlation of correlations) {
    const events: SigmaEvent[] = [];
    for (const ruleId of correlation.rules) {
      for (const record of trail) {
        const timeMs = eventTimeMs(record as unknown as CloudTrailRecord);
        if (typeof record.eventID !== 'string' || timeMs === undefined || !compiled.get(ruleId)!.matches(record)) continue;
        const values = Object.fromEntries(correlation.groupBy.map((field) => [field, scalarText(record[field])]));
        events.push({ ruleId, eventID: record.eventID, eventTimeMs: timeMs, values });
      }
    }
    const ours = evaluateCorrelation(correlation, events).map(
      (m) => `${m.windowStartMs}|${JSON.stringify(correlation.groupBy.map((g) => m.group[g] ?? null))}`,
    );
    expect({ title: correlation.title, matches: ours.sort() }).toEqual({ title: correlation.title, matches: duckdb[correlation.id] });
    expect({ title: correlation.title, some: ours.length > 0 }).toEqual({ title: correlation.title, some: true });
  }
});

test("the corrections matter: the backend's SQL as emitted misses or invents these records' matches", async () => {
  const ids = (title: string) => converted.find((entry) => entry.title === title)!;
  const cases = [
    { rule: ids('AWS Successful Console Login Without MFA'), eventID: 'deviation-case', corrected: true },
    { rule: ids('AWS ECS Task Definition That Queries The Credential Endpoint'), eventID: 'deviation-wildcard', corrected: false },
    { rule: ids('AWS Root Credentials'), eventID: 'deviation-not-null', corrected: true },
  ];
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  // the flattened table as the backend expects it: one text column per dotted field name
  const fields = [...new Set(cases.flatMap((c) => c.rule.fields))];
  const columns = fields.map((f) => `json_extract_string(r, '$.${f}') AS "${f}"`).join(', ');
  await connection.run(
    `CREATE TABLE logs AS SELECT r->>'eventID' AS eventID, ${columns} FROM (SELECT unnest(Records) AS r FROM read_json('${dir}/*.json.gz', format = 'unstructured', columns = {Records: 'JSON[]'}))`,
  );
  for (const { rule, eventID, corrected } of cases) {
    const raw = (await connection.runAndReadAll(`SELECT eventID FROM (${rule.sql}) WHERE eventID = '${eventID}'`)).getRows().length > 0;
    expect({ rule: rule.title, raw, corrected: duckdb[rule.id].includes(eventID) }).toEqual({ rule: rule.title, raw: !corrected, corrected });
  }
  connection.closeSync();
  db.closeSync();
});
