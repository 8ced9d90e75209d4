import { classifyKey, dayFolder, folderKeyAt, logsBase, parseTrailKey } from '../../src/cloudtrail/keys';

const ACCOUNT = '111122223333';
const FILE = `${ACCOUNT}_CloudTrail_us-east-1_20261125T1005Z_AbCdEf0123456789.json.gz`;
const KEY = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/${FILE}`;

describe('parseTrailKey', () => {
  it('parses a normal key', () => {
    expect(parseTrailKey(KEY)).toEqual({
      prefix: '',
      organizationId: undefined,
      accountId: ACCOUNT,
      region: 'us-east-1',
      deliveredMs: Date.parse('2026-11-25T10:05:00Z'),
    });
  });

  it('parses a key under a prefix, keeping the whole prefix', () => {
    expect(parseTrailKey(`cloudtrail/${KEY}`)).toMatchObject({ prefix: 'cloudtrail', accountId: ACCOUNT });
    expect(parseTrailKey(`a/b/c/${KEY}`)).toMatchObject({ prefix: 'a/b/c', accountId: ACCOUNT, region: 'us-east-1' });
  });

  it('parses an organization trail key', () => {
    const key = `org-logs/AWSLogs/o-exampleorgid/${ACCOUNT}/CloudTrail/eu-west-3/2026/11/25/${ACCOUNT}_CloudTrail_eu-west-3_20261125T2355Z_zzzzzzzzzzzzzzzz.json.gz`;
    expect(parseTrailKey(key)).toEqual({
      prefix: 'org-logs',
      organizationId: 'o-exampleorgid',
      accountId: ACCOUNT,
      region: 'eu-west-3',
      deliveredMs: Date.parse('2026-11-25T23:55:00Z'),
    });
    const noPrefix = `AWSLogs/o-aa11bb22cc/${ACCOUNT}/CloudTrail/us-gov-west-1/2026/01/02/${ACCOUNT}_CloudTrail_us-gov-west-1_20260102T0000Z_x1.json.gz`;
    expect(parseTrailKey(noPrefix)).toMatchObject({ prefix: '', organizationId: 'o-aa11bb22cc', region: 'us-gov-west-1' });
  });

  it('takes deliveredMs from the file name, not the date folder', () => {
    // folder and name disagree here on purpose: the time comes from the name, to the minute
    const key = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/${ACCOUNT}_CloudTrail_us-east-1_20261126T0003Z_AbCdEf0123456789.json.gz`;
    expect(parseTrailKey(key)?.deliveredMs).toBe(Date.parse('2026-11-26T00:03:00Z'));
    const leap = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2024/02/29/${ACCOUNT}_CloudTrail_us-east-1_20240229T1259Z_q.json.gz`;
    expect(parseTrailKey(leap)?.deliveredMs).toBe(Date.UTC(2024, 1, 29, 12, 59));
  });

  it('rejects keys that are not trail log files', () => {
    expect(parseTrailKey(KEY.replace('.json.gz', '.json'))).toBeUndefined();
    expect(parseTrailKey(`${KEY}.tmp`)).toBeUndefined();
    expect(parseTrailKey(KEY.replace(ACCOUNT + '/', '12345/'))).toBeUndefined();
    expect(parseTrailKey(KEY.replace('AWSLogs/', 'Logs/'))).toBeUndefined();
    expect(parseTrailKey(`AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/notes.txt`)).toBeUndefined();
    expect(parseTrailKey('')).toBeUndefined();
  });
});

describe('classifyKey', () => {
  it('classifies a trail log file', () => {
    expect(classifyKey(KEY)).toBe('trail');
    expect(classifyKey(`prefix/${KEY}`)).toBe('trail');
  });

  it('classifies a digest file', () => {
    expect(
      classifyKey(`AWSLogs/${ACCOUNT}/CloudTrail-Digest/us-east-1/2026/11/25/${ACCOUNT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20261125T100000Z.json.gz`),
    ).toBe('digest');
    expect(classifyKey(`p/AWSLogs/o-aa11bb22cc/${ACCOUNT}/CloudTrail-Digest/us-east-1/2026/11/25/x.json.gz`)).toBe('digest');
  });

  it('classifies an Insights file', () => {
    expect(
      classifyKey(`AWSLogs/${ACCOUNT}/CloudTrail-Insight/us-east-1/2026/11/25/${ACCOUNT}_CloudTrail-Insight_us-east-1_20261125T1005Z_AbCdEf0123456789.json.gz`),
    ).toBe('insight');
  });

  it('classifies a key outside the layout as other', () => {
    expect(classifyKey('AWSLogs/')).toBe('other');
    expect(classifyKey(`AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/`)).toBe('other');
    expect(classifyKey('exports/events.json.gz')).toBe('other');
    expect(classifyKey(`AWSLogs/${ACCOUNT}/Config/us-east-1/2026/11/25/ConfigHistory/x.json.gz`)).toBe('other');
  });

  it('classifies a .json (not .gz) key as other', () => {
    expect(classifyKey(KEY.replace(/\.json\.gz$/, '.json'))).toBe('other');
  });

  it('does not take a folder merely ending in CloudTrail-Digest for a digest folder', () => {
    expect(classifyKey(`MyCloudTrail-Digest/${KEY}`)).toBe('trail');
  });
});

describe('dayFolder', () => {
  it('builds the folder of one UTC delivery day', () => {
    const day = Date.parse('2026-11-25T00:00:00Z');
    expect(dayFolder('AWSLogs/', ACCOUNT, 'us-east-1', day)).toBe(`AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/`);
    expect(dayFolder('p/AWSLogs/o-aa11bb22cc/', ACCOUNT, 'eu-west-1', Date.parse('2026-01-05T23:59:59Z'))).toBe(
      `p/AWSLogs/o-aa11bb22cc/${ACCOUNT}/CloudTrail/eu-west-1/2026/01/05/`,
    );
  });

  it('is a prefix of every key of that day', () => {
    const folder = dayFolder(logsBase(''), ACCOUNT, 'us-east-1', Date.parse('2026-11-25T10:05:00Z'));
    expect(KEY.startsWith(folder)).toBe(true);
  });
});

describe('folderKeyAt', () => {
  it('sorts after every file of the folder named before the minute and before every file named in it or later', () => {
    const folder = dayFolder('p/AWSLogs/o-aa11bb22cc/', ACCOUNT, 'us-east-1', Date.parse('2026-11-25T00:00:00Z'));
    const file = (stamp: string, unique: string) => `${folder}${ACCOUNT}_CloudTrail_us-east-1_${stamp}Z_${unique}.json.gz`;
    const start = folderKeyAt('p/AWSLogs/o-aa11bb22cc/', ACCOUNT, 'us-east-1', Date.parse('2026-11-25T10:05:59.999Z'));
    expect(start).toBe(`${folder}${ACCOUNT}_CloudTrail_us-east-1_20261125T1005Z`);
    for (const before of [file('20261125T1004', 'zzzzzzzzzzzzzzzz'), file('20261125T0000', 'AAAA')]) expect(before < start).toBe(true);
    for (const after of [file('20261125T1005', '0000000000000000'), file('20261125T1005', 'A'), file('20261125T2359', 'a')]) expect(after > start).toBe(true);
    expect(parseTrailKey(file('20261125T1005', 'A'))!.deliveredMs).toBe(Date.parse('2026-11-25T10:05:00Z'));
  });
});

describe('logsBase', () => {
  it('is AWSLogs/ under the prefix', () => {
    expect(logsBase('')).toBe('AWSLogs/');
    expect(logsBase('logs')).toBe('logs/AWSLogs/');
    expect(logsBase('/a/b/')).toBe('a/b/AWSLogs/');
    expect(logsBase('//a//')).toBe('a/AWSLogs/');
  });

  it('adds the organization folder for an organization trail', () => {
    expect(logsBase('', 'o-aa11bb22cc')).toBe('AWSLogs/o-aa11bb22cc/');
    expect(logsBase('org/', 'o-aa11bb22cc')).toBe('org/AWSLogs/o-aa11bb22cc/');
  });

  it('round-trips with parseTrailKey', () => {
    const key = `org/AWSLogs/o-aa11bb22cc/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/${FILE}`;
    const parsed = parseTrailKey(key);
    expect(parsed).toBeDefined();
    const base = logsBase(parsed!.prefix, parsed!.organizationId);
    expect(key.startsWith(dayFolder(base, parsed!.accountId, parsed!.region, parsed!.deliveredMs))).toBe(true);
  });
});
