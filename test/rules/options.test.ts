import { optionsSchema as rule1Schema } from '../../src/rules/ssm-command-execution';
import { optionsSchema as rule2Schema, ssmOutputToForeignBucket } from '../../src/rules/ssm-output-to-foreign-bucket';

describe('rule 1 options (PH_Rule_ES_IMPORT_AWS_15)', () => {
  test('{} gives the seed defaults', () => {
    expect(rule1Schema.parse({})).toEqual({
      enabled: true,
      exclude: [],
      suppression: { enabled: true, duration: 'PT1H', keyFields: ['accountId', 'user'] },
      excludeAwsServiceCallers: false,
      successOnly: false,
      threshold: 1,
    });
  });

  test('given values are kept; a partial suppression is completed with the defaults', () => {
    const parsed = rule1Schema.parse({
      enabled: false,
      exclude: [{ user: 'alice' }, { arn: 'arn:aws:sts::*:assumed-role/Deploy/*', accountId: '111122223333' }],
      suppression: { duration: 'PT30M' },
      excludeAwsServiceCallers: true,
      successOnly: true,
      threshold: 5,
    });
    expect(parsed).toEqual({
      enabled: false,
      exclude: [{ user: 'alice' }, { arn: 'arn:aws:sts::*:assumed-role/Deploy/*', accountId: '111122223333' }],
      suppression: { enabled: true, duration: 'PT30M', keyFields: ['accountId', 'user'] },
      excludeAwsServiceCallers: true,
      successOnly: true,
      threshold: 5,
    });
  });

  test.each([
    ['unknown key', { thresold: 2 }],
    ['rule 2 option', { commandLookback: 'PT1H' }],
    ['threshold 0', { threshold: 0 }],
    ['negative threshold', { threshold: -1 }],
    ['fractional threshold', { threshold: 1.5 }],
    ['threshold as text', { threshold: '2' }],
    ['enabled as text', { enabled: 'yes' }],
    ['successOnly as number', { successOnly: 1 }],
    ['exclude not an array', { exclude: { user: 'alice' } }],
    ['exclude entry with unknown key', { exclude: [{ userName: 'alice' }] }],
    ['empty exclude entry', { exclude: [{}] }],
    ['unknown suppression key', { suppression: { enabled: true, window: 'PT1H' } }],
    ['bad suppression duration', { suppression: { duration: '1h' } }],
    ['calendar suppression duration', { suppression: { duration: 'P1M' } }],
    ['empty suppression keyFields', { suppression: { keyFields: [] } }],
  ])('rejects %s', (_name, input) => {
    expect(rule1Schema.safeParse(input).success).toBe(false);
  });

  test('an unknown key is reported with its path', () => {
    const result = rule1Schema.safeParse({ suppression: { enabled: true, extra: 1 } });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('suppression');
    expect(JSON.stringify(result.error?.issues)).toContain('extra');
  });
});

describe('rule 2 options (21702832-aff3-4bd6-a8e1-663b6818503d)', () => {
  test('{} gives the seed defaults: no lookback, suppression disabled', () => {
    const parsed = rule2Schema.parse({});
    expect(parsed).toEqual({
      enabled: true,
      exclude: [],
      suppression: { enabled: false, duration: 'PT1H', keyFields: ['commandEventId'] },
      matchExecutionIdInKey: false,
      includeMultipartUploads: false,
    });
    expect(parsed.commandLookback).toBeUndefined();
    expect(ssmOutputToForeignBucket.lookbackMs(parsed)).toBe(0);
  });

  test('given values are kept', () => {
    const parsed = rule2Schema.parse({
      commandLookback: 'PT1H',
      matchExecutionIdInKey: true,
      includeMultipartUploads: true,
      exclude: [{ documentName: 'AWS-RunPatchBaseline' }],
      suppression: { enabled: true, keyFields: ['s3Bucket'] },
    });
    expect(parsed).toMatchObject({
      commandLookback: 'PT1H',
      matchExecutionIdInKey: true,
      includeMultipartUploads: true,
      exclude: [{ documentName: 'AWS-RunPatchBaseline' }],
      suppression: { enabled: true, duration: 'PT1H', keyFields: ['s3Bucket'] },
    });
    expect(ssmOutputToForeignBucket.lookbackMs(parsed)).toBe(3_600_000);
  });

  test.each(['PT1H', 'PT90M', 'P1D', 'P1DT30M', 'PT0.5S', 'P1W'])('accepts the duration %s', (commandLookback) => {
    expect(rule2Schema.safeParse({ commandLookback }).success).toBe(true);
  });

  test.each([
    ['unknown key', { lookback: 'PT1H' }],
    ['rule 1 option', { threshold: 2 }],
    ['duration without P', { commandLookback: '1h' }],
    ['empty duration', { commandLookback: '' }],
    ['bare P', { commandLookback: 'P' }],
    ['bare PT', { commandLookback: 'PT' }],
    ['calendar duration', { commandLookback: 'P1Y' }],
    ['negative duration', { commandLookback: '-PT1H' }],
    ['duration as number', { commandLookback: 3600 }],
    ['matchExecutionIdInKey as text', { matchExecutionIdInKey: 'true' }],
    ['includeMultipartUploads as null', { includeMultipartUploads: null }],
    ['exclude entry with unknown key', { exclude: [{ bucket: 'x' }] }],
    ['bad suppression duration', { suppression: { duration: 'an hour' } }],
  ])('rejects %s', (_name, input) => {
    expect(rule2Schema.safeParse(input).success).toBe(false);
  });
});

describe('parsed options are independent', () => {
  test('two parses never share arrays', () => {
    const a = rule1Schema.parse({});
    const b = rule1Schema.parse({});
    a.exclude.push({ user: 'x' });
    expect(b.exclude).toEqual([]);
    expect(rule1Schema.parse({}).exclude).toEqual([]);
  });
});
