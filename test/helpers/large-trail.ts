import { gzipSync } from 'node:zlib';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { iamUser, s3Put, sendCommand } from '../rules/fixtures';

/**
 * A day whose selected events are far above Temporal's 256 KiB inline threshold (about 1 MB of selected lines):
 * 2,400 SendCommands by three users in three 5-minute windows, and one command whose output goes to a
 * foreign bucket, in four trail objects (keys in the S3 layout).
 */
export function largeTrail(date: string): Map<string, Buffer> {
  const records: CloudTrailRecord[] = [];
  ['alice', 'bob', 'carol'].forEach((user, u) => {
    for (let i = 0; i < 800; i++) {
      const second = String(i % 60).padStart(2, '0');
      records.push(
        sendCommand({
          userIdentity: iamUser(user),
          eventTime: `${date}T1${u}:0${Math.floor(i / 200)}:${second}Z`,
          eventID: `mh-${user}-${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`,
          commandId: `cmd-${user}-${i}`,
          instanceIds: [`i-0${u}${String(i).padStart(15, '0')}`],
        }),
      );
    }
  });
  records.push(
    sendCommand({
      userIdentity: iamUser('mallory'),
      eventTime: `${date}T15:00:05Z`,
      eventID: 'mh-mallory-command-0000-4000-8000-000000000000',
      commandId: 'mallory-cmd',
      outputS3BucketName: 'exfil-bucket',
    }),
    s3Put({
      eventTime: `${date}T15:00:31Z`,
      eventID: 'mh-mallory-put-0000-4000-8000-000000000000',
      key: 'out/mallory-cmd/i-0abc1234def567890/awsrunShellScript/0/stdout',
    }),
  );
  const objects = new Map<string, Buffer>();
  const [y, m, d] = date.split('-');
  for (let part = 0; part < 4; part++) {
    const slice = records.filter((_, i) => i % 4 === part);
    const key = `AWSLogs/111122223333/CloudTrail/us-east-1/${y}/${m}/${d}/111122223333_CloudTrail_us-east-1_${y}${m}${d}T1${part}00Z_mh${part}.json.gz`;
    objects.set(key, gzipSync(JSON.stringify({ Records: slice })));
  }
  return objects;
}
