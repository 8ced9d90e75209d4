import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import type { Finding } from '../../src/rules/types';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { startFaultProxy } from '../helpers/fault-proxy';
import { s3Endpoint } from '../helpers/services';
import { projectFindings } from '../helpers/trail-records';
import { expectedRule1, expectedRule2 } from './expected-demo-findings';

const DATE = '2026-04-04';

async function upload(bucket: string, files: Map<string, Buffer>): Promise<void> {
  const client = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint(), forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of files) await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  client.destroy();
}

describe('faults: the scan completes with exactly the findings of a clean run', () => {
  test('S3 answering SlowDown and InternalError for a while, and connections reset in the middle of bodies', async () => {
    await upload('fault-trail', buildSampleTrail(DATE));
    const proxy = await startFaultProxy(s3Endpoint(), (i) => (i < 6 ? 'slowdown' : i < 9 ? 'internal-error' : i % 7 === 0 && i < 40 ? 'reset-mid-body' : undefined));
    try {
      const dir = tempDir('faults');
      const config = writeConfig(dir, { sources: [{ type: 's3', bucket: 'fault-trail', endpoint: proxy.endpoint }], findings: { directory: join(dir, 'findings') } });
      const result = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DATE]);
      expect(result.code).toBe(0);
      expect(proxy.injected.slowdown).toBe(6);
      expect(proxy.injected['internal-error']).toBe(3);
      expect(proxy.injected['reset-mid-body']).toBeGreaterThanOrEqual(3);
      expect(projectFindings(jsonLines<Finding>(result.stdout))).toEqual({ rule1: expectedRule1(DATE), rule2: expectedRule2(DATE) });
      // only the trail's one corrupt object is reported: no object was lost to the faults
      expect(result.stderr).toMatch(/skipped 1 object\(s\) or record\(s\)/);
    } finally {
      await proxy.close();
    }
  });

  test('bad data: truncated gzip, invalid JSON, Records not an array, records without eventTime or eventID, non-UTF-8 bytes, a huge record', async () => {
    const dir = tempDir('baddata');
    const files = buildSampleTrail(DATE);
    const record = (extra: object) => ({ eventVersion: '1.09', eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand', recipientAccountId: '111122223333', userIdentity: { type: 'IAMUser', userName: 'eve' }, ...extra });
    const add = (name: string, body: Buffer) => files.set(`extra/${name}`, body);
    add('truncated.json.gz', gzipSync(JSON.stringify({ Records: [record({ eventID: 't1', eventTime: `${DATE}T01:00:00Z` })] })).subarray(0, 30));
    add('invalid.json', Buffer.from('{"Records":[{"eventID": nope}'));
    add('not-array.json', Buffer.from('{"Records":{"eventID":"x"}}'));
    add('no-fields.json', Buffer.from(JSON.stringify({ Records: [record({ eventID: 'no-time' }), record({ eventTime: `${DATE}T02:00:00Z` }), record({ eventID: 'ok-1', eventTime: `${DATE}T03:00:00Z` })] })));
    add('latin1.json', Buffer.concat([Buffer.from('{"Records":[{"eventID":"l1","eventTime":"' + DATE + 'T04:00:00Z","eventName":"SendCommand","eventSource":"ssm.amazonaws.com","recipientAccountId":"111122223333","userIdentity":{"userName":"j'), Buffer.from([0xf6]), Buffer.from('rg"}}]}')]));
    add('huge.json.gz', gzipSync(JSON.stringify({ Records: [record({ eventID: 'huge', eventTime: `${DATE}T05:00:00Z`, requestParameters: { blob: 'x'.repeat(20_000_000) } })] })));
    writeFiles(join(dir, 'logs'), files);
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' } });
    const result = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DATE]);
    expect(result.code).toBe(0);
    for (const reason of ['truncated.json.gz: unexpected end of file', 'not-array.json: "Records" is not an array', 'no-fields.json: malformed record: record no-time has no parsable eventTime', 'no-fields.json: malformed record: record has no eventID']) {
      expect(result.stderr).toContain(reason);
    }
    expect(result.stderr).toMatch(/invalid\.json: /);
    const findings = jsonLines<Finding>(result.stdout);
    const users = findings.filter((f) => f.ruleId === 'PH_Rule_ES_IMPORT_AWS_15').map((f) => (f as { user: string }).user);
    // the good records of the damaged files still count; the demo's findings are all there
    expect(users).toEqual(expect.arrayContaining(['eve', 'j\ufffdrg', 'alice', 'bob@example.com', 'mallory', 'carol']));
    expect(findings.find((f) => f.eventIds.includes('huge'))).toBeDefined();
  });
});
