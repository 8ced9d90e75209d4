import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DEMO_DATE, buildSampleTrail } from '../../src/demo/sample-trail';
import type { Finding } from '../../src/rules/types';
import { createWorker } from '../../src/workers/worker';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { s3Endpoint, temporalAddress } from '../helpers/services';
import { projectFindings } from '../helpers/trail-records';
import { EXPECTED_RULE1, EXPECTED_RULE2 } from './expected-demo-findings';

const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';

async function uploadTrail(bucket: string, rewriteKey: (key: string) => string): Promise<void> {
  const client = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint(), forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of buildSampleTrail()) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: rewriteKey(key), Body: body }));
  }
  client.destroy();
}

describe('trailwarden scan through the CLI, on a real Temporal dev server', () => {
  let s3Findings: Finding[];

  test('S3 source: an organization trail under a prefix in moto gives exactly the expected findings', async () => {
    await uploadTrail('org-trail-bucket', (key) => key.replace(/^AWSLogs\//, 'security/AWSLogs/o-aa11bb22cc/'));
    const dir = tempDir('s3');
    const config = writeConfig(dir, {
      sources: [{ type: 's3', bucket: 'org-trail-bucket', prefix: 'security', endpoint: s3Endpoint() }],
      findings: { directory: join(dir, 'findings') },
    });
    const result = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DEMO_DATE]);
    expect(result.stderr).toContain('CORRUPTOBJECT001');
    expect(result.code).toBe(0);
    s3Findings = jsonLines<Finding>(result.stdout);
    expect(projectFindings(s3Findings)).toEqual({ rule1: EXPECTED_RULE1, rule2: EXPECTED_RULE2 });
    expect(result.stderr).toMatch(/2 partition\(s\)/);
    const stored = jsonLines<Finding>(readFileSync(join(dir, 'findings', `${DEMO_DATE}.jsonl`), 'utf8'));
    expect(stored.map((f) => f.id).sort()).toEqual(s3Findings.map((f) => f.id).sort());
  });

  test('directory source: the same logs exported to a folder give the same findings and ids; digests and non-trail files are reported', async () => {
    const dir = tempDir('dir');
    const files = buildSampleTrail();
    files.set('exports/notes.json', Buffer.from('{"comment":"not a log file"}'));
    writeFiles(join(dir, 'logs'), files);
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: 'findings' } });
    const first = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DEMO_DATE]);
    expect(first.code).toBe(0);
    const findings = jsonLines<Finding>(first.stdout);
    expect(projectFindings(findings)).toEqual({ rule1: EXPECTED_RULE1, rule2: EXPECTED_RULE2 });
    expect(findings.map((f) => f.id).sort()).toEqual(s3Findings.map((f) => f.id).sort());
    expect(first.stderr).toContain('exports/notes.json: no "Records" array');
    expect(first.stderr).toContain('CloudTrail-Digest file');
    expect(first.stderr).toContain('CORRUPTOBJECT001.json.gz: unexpected end of file');

    const again = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DEMO_DATE]);
    expect(again.code).toBe(0);
    expect(jsonLines(again.stdout)).toEqual(findings);
    expect(again.stderr).toContain(`0 new, 0 updated, ${findings.length} in file`);
    const stored = readFileSync(join(dir, 'findings', `${DEMO_DATE}.jsonl`), 'utf8');
    expect(jsonLines(stored)).toHaveLength(findings.length);
  });

  test('against a running service: scan, then findings --date lists what was stored', async () => {
    const dir = tempDir('service');
    writeFiles(join(dir, 'logs'), buildSampleTrail());
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: join(dir, 'logs') }], findings: { directory: join(dir, 'findings') } });
    const taskQueue = `cli-test-${Date.now()}`;
    const env = { TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: taskQueue };
    const { worker, connection } = await createWorker({ address: temporalAddress(), namespace: 'default', taskQueue });
    try {
      await worker.runUntil(async () => {
        const scan = await runCli(['scan', '--json', '--config', config, '--date', DEMO_DATE], { env });
        expect(scan.stderr).toContain('6 finding(s)');
        expect(scan.code).toBe(0);
        const listed = await runCli(['findings', '--json', '--config', config, '--date', DEMO_DATE], { env });
        expect(listed.code).toBe(0);
        expect(jsonLines(listed.stdout)).toEqual(jsonLines(scan.stdout));
      });
    } finally {
      await connection.close();
    }
  });

  test('a missing bucket fails fast with a clear message and exit 1', async () => {
    const dir = tempDir('nobucket');
    const config = writeConfig(dir, { sources: [{ type: 's3', bucket: 'no-such-trail-bucket', endpoint: s3Endpoint() }] });
    const started = Date.now();
    const result = await runCli(['scan', '--embedded', '--config', config, '--date', DEMO_DATE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no-such-trail-bucket.*NoSuchBucket/);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  test.each([
    [['scan', '--date', '2026-13-01'], /--date "2026-13-01" is not a valid date/],
    [['scan', '--date', '2999-01-01'], /is in the future/],
    [['scan'], /scan needs --date YYYY-MM-DD, or --from YYYY-MM-DD and --to YYYY-MM-DD/],
    [['scan', '--date', DEMO_DATE, '--bogus'], /unknown option '--bogus'/],
  ])('bad arguments %j exit 2 with one message', async (args, message) => {
    const result = await runCli(args as string[]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  test.each([
    [{ sources: [{ type: 'directory', path: '.', color: 'red' }] }, /sources\.0: unknown key "color"/],
    [{ sources: [{ type: 'ftp' }] }, /sources\.0/],
    [{ sources: [{ type: 'directory', path: '.' }], rules: { 'no-such-rule': {} } }, /unknown rule id "no-such-rule"/],
    [{ sources: [{ type: 'directory', path: '.' }], rules: { [RULE2]: { commandLookback: 'one hour' } } }, /commandLookback/],
    [{ sources: [{ type: 's3', bucket: 'trail-bucket', endpoint: 'not a url' }] }, /sources\.0\.endpoint/],
    [{}, /no sources configured/],
    [{ sources: [{ type: 'directory', path: '.' }], rules: { PH_Rule_ES_IMPORT_AWS_15: { threshold: 0 } } }, /rules\.PH_Rule_ES_IMPORT_AWS_15\.threshold/],
    [
      { sources: [{ type: 'directory', path: '.' }], rules: { PH_Rule_ES_IMPORT_AWS_15: { suppression: { duration: 'an hour' } } } },
      /suppression\.duration: must be an ISO-8601 duration/,
    ],
    [{ sources: [{ type: 'directory', path: '.' }], notifications: [{ type: 'webhook', url: 'ftp://hooks.example.com/x' }] }, /notifications\.0/],
    [{ sources: [{ type: 'directory', path: '.' }], incidents: { maxNotificationAge: '1 day' } }, /incidents\.maxNotificationAge/],
    [{ sources: [{ type: 'directory', path: '.' }], findings: { dir: 'x' } }, /findings: unknown key "dir"/],
    [{ sources: [{ type: 's3', bucket: 'trail-bucket', accounts: ['1234'] }] }, /sources\.0\.accounts\.0: must be a 12-digit AWS account id/],
    [{ sources: [{ type: 'lookupEvents', accounts: [{ accountId: '111122223333', roleArn: 'not-an-arn' }] }] }, /roleArn: must be an IAM role ARN/],
    [
      {
        sources: [{ type: 'directory', path: '.' }],
        notifications: [
          { type: 'file', path: 'a', name: 'x' },
          { type: 'file', path: 'b', name: 'x' },
        ],
      },
      /"x" is used twice/,
    ],
    [[1, 2], /config/],
  ])('bad configuration %j exits 2 naming the problem', async (config, message) => {
    const dir = tempDir('badcfg');
    const result = await runCli(['scan', '--embedded', '--config', writeConfig(dir, config), '--date', DEMO_DATE]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  test.each([
    ['TRAILWARDEN_SCAN_THREADS', 'many', /TRAILWARDEN_SCAN_THREADS="many" is not a whole number from 0 to 256/],
    ['TRAILWARDEN_HEARTBEAT_MS', '-5', /TRAILWARDEN_HEARTBEAT_MS="-5" is not a whole number/],
    ['TRAILWARDEN_NATIVE', 'yes', /TRAILWARDEN_NATIVE="yes" must be 0/],
  ])('a bad %s exits 2 before anything starts', async (name, value, message) => {
    const dir = tempDir('badenv');
    const result = await runCli(['scan', '--embedded', '--config', writeConfig(dir, { sources: [{ type: 'directory', path: '.' }] }), '--date', DEMO_DATE], {
      env: { [name]: value },
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
  });

  test('an unreadable config file exits 2', async () => {
    const result = await runCli(['scan', '--config', '/nonexistent/cfg.json', '--date', DEMO_DATE]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot read config file \/nonexistent\/cfg.json: ENOENT/);
  });
});
