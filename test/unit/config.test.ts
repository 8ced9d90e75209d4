import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseIsoDuration } from '../../src/config/duration';
import { loadConfig, parseConfig, UsageError } from '../../src/config/load';
import { RULES } from '../../src/rules';

const RULE1 = 'PH_Rule_ES_IMPORT_AWS_15';
const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';

/** The UsageError parseConfig throws for this input (fails the test when it does not throw one). */
function usageError(input: unknown, file?: string): UsageError {
  try {
    parseConfig(input, file);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(input)}`);
}

function loadError(file: string): UsageError {
  try {
    loadConfig(file);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`loadConfig accepted ${file}`);
}

let tmp: string;
const originalCwd = process.cwd();

beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tw-config-')));
});

afterEach(() => {
  process.chdir(originalCwd);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs fn with the working directory set to dir. */
function inDir<T>(dir: string, fn: () => T): T {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(before);
  }
}

describe('parseConfig defaults', () => {
  it('enables both rules with the seed defaults', () => {
    const config = parseConfig({});
    expect(Object.keys(config.rules).sort()).toEqual([RULE1, RULE2].sort());
    for (const rule of RULES) expect(config.rules[rule.id]).toEqual(rule.optionsSchema.parse({}));
    expect(config.rules[RULE1]).toMatchObject({
      enabled: true,
      threshold: 1,
      successOnly: false,
      excludeAwsServiceCallers: false,
      exclude: [],
      suppression: { enabled: true, duration: 'PT1H', keyFields: ['accountId', 'user'] },
    });
    expect(config.rules[RULE2]).toMatchObject({
      enabled: true,
      matchExecutionIdInKey: false,
      includeMultipartUploads: false,
      suppression: { enabled: false, duration: 'PT1H', keyFields: ['commandEventId'] },
    });
    expect((config.rules[RULE2] as Record<string, unknown>).commandLookback).toBeUndefined();
  });

  it('defaults sources, findings directory and temporal settings', () => {
    const config = inDir(tmp, () => parseConfig({}));
    expect(config.sources).toEqual([]);
    expect(config.findingsDirectory).toBe(path.join(tmp, '.trailwarden/findings'));
    expect(config.temporal).toEqual({});
    expect(config.file).toBeUndefined();
    expect(parseConfig({ sources: [] }).rules).toEqual(parseConfig({}).rules);
  });

  it('fills s3 source defaults', () => {
    const config = parseConfig({ sources: [{ type: 's3', bucket: 'my-trail-bucket' }] });
    expect(config.sources).toEqual([{ type: 's3', bucket: 'my-trail-bucket', prefix: '', lateDelivery: 'PT1H' }]);
  });

  it('keeps given rule options and completes the rest', () => {
    const config = parseConfig({ rules: { [RULE1]: { threshold: 3 }, [RULE2]: { commandLookback: 'PT1H' } } });
    expect(config.rules[RULE1]).toMatchObject({ threshold: 3, enabled: true, suppression: { duration: 'PT1H' } });
    expect(config.rules[RULE2]).toMatchObject({ commandLookback: 'PT1H', enabled: true });
  });
});

describe('parseConfig errors', () => {
  it('reports unknown keys at several depths with their path', () => {
    expect(usageError({ bogus: 1 }).message).toBe('config: unknown key "bogus"');
    expect(usageError({ findings: { directory: 'x', extra: true } }).message).toMatch(/^config: findings: unknown key "extra"$/);
    expect(usageError({ temporal: { adress: 'localhost:7233' } }).message).toMatch(/temporal: unknown key "adress"/);
    expect(usageError({ sources: [{ type: 'directory', path: 'x', recursive: true }] }).message).toMatch(/sources\.0: unknown key "recursive"/);
    expect(
      usageError({
        sources: [
          { type: 'directory', path: 'x' },
          { type: 's3', bucket: 'abc', regoins: ['us-east-1'] },
        ],
      }).message,
    ).toMatch(/sources\.1: unknown key "regoins"/);
    expect(usageError({ rules: { [RULE1]: { thresold: 2 } } }).message).toMatch(new RegExp(`rules\\.${RULE1}: unknown key "thresold"`));
    expect(usageError({ rules: { [RULE1]: { suppression: { enabled: true, windows: 1 } } } }).message).toMatch(
      new RegExp(`rules\\.${RULE1}\\.suppression: unknown key "windows"`),
    );
    expect(usageError({ rules: { [RULE2]: { exclude: [{ user: 'a' }, { user: 'b', role: 'c' }] } } }).message).toMatch(
      new RegExp(`rules\\.${RULE2}\\.exclude\\.1: unknown key "role"`),
    );
  });

  it('a securityhub channel: region, accountId and endpoint checked, unknown keys named', () => {
    const channels = parseConfig({
      notifications: [{ type: 'securityhub', region: 'eu-west-1', accountId: '111122223333', endpoint: 'http://127.0.0.1:5000' }, { type: 'securityhub' }],
    }).incidents?.channels;
    expect(channels?.map((c) => [c.type, c.name])).toEqual([
      ['securityhub', 'securityhub-0'],
      ['securityhub', 'securityhub-1'],
    ]);
    expect(usageError({ notifications: [{ type: 'securityhub', accountId: '1234' }] }).message).toMatch(
      /notifications\.0\.accountId: must be a 12-digit AWS account id/,
    );
    expect(usageError({ notifications: [{ type: 'securityhub', region: 'EU West' }] }).message).toMatch(/notifications\.0\.region: must be an AWS region name/);
    expect(usageError({ notifications: [{ type: 'securityhub', regoin: 'eu-west-1' }] }).message).toMatch(
      /notifications\.0: unknown key "regoin" \(did you mean "region"\?\)/,
    );
  });

  it('names the file in schema errors', () => {
    expect(usageError({ bogus: 1 }, '/etc/tw/config.json').message).toBe('config /etc/tw/config.json: unknown key "bogus"');
  });

  it('rejects an unknown rule id', () => {
    const message = usageError({ rules: { PH_Rule_NOPE: {} } }).message;
    expect(message).toMatch(/unknown rule id "PH_Rule_NOPE"/);
    expect(message).toContain(RULE1);
    expect(message).toContain(RULE2);
  });

  it('rejects bad rule options with their path', () => {
    expect(usageError({ rules: { [RULE1]: { threshold: 0 } } }).message).toMatch(new RegExp(`rules\\.${RULE1}\\.threshold: `));
    expect(usageError({ rules: { [RULE1]: { threshold: 1.5 } } }).message).toMatch(/threshold/);
    expect(usageError({ rules: { [RULE1]: { threshold: '2' } } }).message).toMatch(/threshold/);
    expect(usageError({ rules: { [RULE2]: { commandLookback: 'one hour' } } }).message).toMatch(
      new RegExp(`rules\\.${RULE2}\\.commandLookback: must be an ISO-8601 duration`),
    );
    expect(usageError({ rules: { [RULE1]: { suppression: { duration: 'P1M' } } } }).message).toMatch(
      new RegExp(`rules\\.${RULE1}\\.suppression\\.duration: must be an ISO-8601 duration`),
    );
    expect(usageError({ rules: { [RULE1]: { exclude: [{}] } } }).message).toMatch(/must name at least one of/);
    expect(usageError({ rules: { [RULE1]: 'yes' } }).message).toMatch(new RegExp(`rules\\.${RULE1}`));
  });

  it('rejects bad sources', () => {
    expect(usageError({ sources: [{ type: 'ftp', path: 'x' }] }).message).toMatch(/sources\.0/);
    expect(usageError({ sources: [{ type: 's3', bucket: 'abc', accounts: ['1234'] }] }).message).toMatch(
      /sources\.0\.accounts\.0: must be a 12-digit AWS account id/,
    );
    expect(usageError({ sources: [{ type: 's3', bucket: 'abc', lateDelivery: 'P1Y' }] }).message).toMatch(
      /sources\.0\.lateDelivery: must be an ISO-8601 duration/,
    );
    expect(usageError({ sources: [{ type: 'directory', path: '' }] }).message).toMatch(/sources\.0\.path/);
    expect(usageError({ sources: {} }).message).toMatch(/sources/);
    expect(usageError([]).message).toMatch(/^config: /);
    expect(usageError(null).message).toMatch(/^config: /);
  });

  it('drops a rule with enabled: false', () => {
    const config = parseConfig({ rules: { [RULE1]: { enabled: false } } });
    expect(Object.keys(config.rules)).toEqual([RULE2]);
    const none = parseConfig({ rules: { [RULE1]: { enabled: false }, [RULE2]: { enabled: false, matchExecutionIdInKey: true } } });
    expect(none.rules).toEqual({});
  });

  it('still validates the options of a disabled rule', () => {
    expect(usageError({ rules: { [RULE1]: { enabled: false, threshold: 0 } } }).message).toMatch(/threshold/);
  });
});

describe('relative paths', () => {
  it('are resolved against the config file folder', () => {
    const configDir = path.join(tmp, 'conf');
    fs.mkdirSync(path.join(configDir, 'logs'), { recursive: true });
    const file = path.join(configDir, 'trailwarden.config.json');
    const config = inDir(tmp, () => parseConfig({ sources: [{ type: 'directory', path: 'logs' }], findings: { directory: 'out/findings' } }, file));
    expect(config.sources).toEqual([{ type: 'directory', path: path.join(configDir, 'logs') }]);
    expect(config.findingsDirectory).toBe(path.join(configDir, 'out/findings'));
    expect(config.file).toBe(file);
  });

  it('resolve a relative config file name against the working directory first', () => {
    fs.mkdirSync(path.join(tmp, 'conf'));
    const config = inDir(tmp, () => parseConfig({ findings: { directory: 'f' } }, 'conf/c.json'));
    expect(config.findingsDirectory).toBe(path.join(tmp, 'conf', 'f'));
  });

  it('fall back to the working directory when only that reading exists', () => {
    const configDir = path.join(tmp, 'conf');
    const workDir = path.join(tmp, 'work');
    fs.mkdirSync(configDir);
    fs.mkdirSync(path.join(workDir, 'exported'), { recursive: true });
    const config = inDir(workDir, () => parseConfig({ sources: [{ type: 'directory', path: 'exported' }] }, path.join(configDir, 'c.json')));
    expect(config.sources[0]).toEqual({ type: 'directory', path: path.join(workDir, 'exported') });
  });

  it('prefer the config folder when both readings exist, and when neither does', () => {
    const configDir = path.join(tmp, 'conf');
    const workDir = path.join(tmp, 'work');
    fs.mkdirSync(path.join(configDir, 'both'), { recursive: true });
    fs.mkdirSync(path.join(workDir, 'both'), { recursive: true });
    const config = inDir(workDir, () =>
      parseConfig(
        {
          sources: [
            { type: 'directory', path: 'both' },
            { type: 'directory', path: 'neither' },
          ],
        },
        path.join(configDir, 'c.json'),
      ),
    );
    expect(config.sources).toEqual([
      { type: 'directory', path: path.join(configDir, 'both') },
      { type: 'directory', path: path.join(configDir, 'neither') },
    ]);
  });

  it('keep absolute paths and leave s3 sources alone', () => {
    const abs = path.join(tmp, 'abs');
    const config = parseConfig(
      {
        sources: [
          { type: 'directory', path: abs },
          { type: 's3', bucket: 'bkt', prefix: 'logs' },
        ],
        findings: { directory: abs },
      },
      path.join(tmp, 'x', 'c.json'),
    );
    expect(config.sources).toEqual([
      { type: 'directory', path: abs },
      { type: 's3', bucket: 'bkt', prefix: 'logs', lateDelivery: 'PT1H' },
    ]);
    expect(config.findingsDirectory).toBe(abs);
  });

  it('are resolved against the working directory without a config file', () => {
    const config = inDir(tmp, () => parseConfig({ sources: [{ type: 'directory', path: 'd' }] }));
    expect(config.sources[0]).toEqual({ type: 'directory', path: path.join(tmp, 'd') });
  });
});

describe('loadConfig', () => {
  const savedEnv = process.env.TRAILWARDEN_CONFIG;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.TRAILWARDEN_CONFIG;
    else process.env.TRAILWARDEN_CONFIG = savedEnv;
  });

  it('reads a file and resolves its paths', () => {
    const file = path.join(tmp, 'tw.json');
    fs.writeFileSync(file, JSON.stringify({ findings: { directory: 'found' }, rules: { [RULE2]: { enabled: false } } }));
    const config = loadConfig(file);
    expect(config.file).toBe(file);
    expect(config.findingsDirectory).toBe(path.join(tmp, 'found'));
    expect(Object.keys(config.rules)).toEqual([RULE1]);
  });

  it('raises UsageError for a file it cannot read', () => {
    const missing = path.join(tmp, 'missing.json');
    expect(loadError(missing).message).toBe(`cannot read config file ${missing}: ENOENT`);
    expect(loadError(tmp).message).toMatch(/^cannot read config file .*: EISDIR$/);
  });

  it('raises UsageError for invalid JSON', () => {
    const file = path.join(tmp, 'bad.json');
    fs.writeFileSync(file, '{"sources": [], }');
    expect(loadError(file).message).toMatch(new RegExp(`^config file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON: `));
    fs.writeFileSync(file, '');
    expect(loadError(file).message).toMatch(/is not valid JSON/);
  });

  it('raises UsageError for a valid JSON file with a bad config, naming the file', () => {
    const file = path.join(tmp, 'unknown.json');
    fs.writeFileSync(file, JSON.stringify({ sources: [], notificatons: [] }));
    expect(loadError(file).message).toBe(`config ${file}: unknown key "notificatons" (did you mean "notifications"?)`);
  });

  it('uses $TRAILWARDEN_CONFIG, then ./trailwarden.config.json, then defaults', () => {
    const envFile = path.join(tmp, 'env.json');
    fs.writeFileSync(envFile, JSON.stringify({ rules: { [RULE1]: { enabled: false } } }));
    fs.writeFileSync(path.join(tmp, 'trailwarden.config.json'), JSON.stringify({ rules: { [RULE2]: { enabled: false } } }));
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    process.env.TRAILWARDEN_CONFIG = envFile;
    expect(Object.keys(inDir(tmp, () => loadConfig()).rules)).toEqual([RULE2]);
    delete process.env.TRAILWARDEN_CONFIG;
    expect(Object.keys(inDir(tmp, () => loadConfig()).rules)).toEqual([RULE1]);
    const defaults = inDir(empty, () => loadConfig());
    expect(defaults.file).toBeUndefined();
    expect(Object.keys(defaults.rules).sort()).toEqual([RULE1, RULE2].sort());
  });
});

describe('parseIsoDuration', () => {
  it.each([
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['PT90S', 90_000],
    ['P1DT30M', 86_400_000 + 1_800_000],
    ['PT0.5S', 500],
    ['P1W', 7 * 86_400_000],
    ['PT1H30M15S', 5_415_000],
    ['PT0S', 0],
    ['P0D', 0],
  ])('parses %s', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each(['P1Y', 'P1M', '', 'P', 'PT', '1H', 'PT1H ', 'pt1h', 'P1DT', 'PT-1H', 'PT1.H', 'PT1M1H', 'P1H'])('rejects %j', (text) => {
    expect(() => parseIsoDuration(text)).toThrow(/is not an ISO-8601 duration/);
  });
});
