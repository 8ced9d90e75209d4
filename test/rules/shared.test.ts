/**
 * docs/rules.md "Shared definitions" (empty, str, lastSegment, userOf, accountOf, fortiEventType, scan period,
 * dedup) as the rules use them, plus the rule registry.
 */
import {
  accountOf,
  eventTimeMs,
  fortiEventType,
  isEmpty,
  isoUtc,
  lastSegment,
  malformedReason,
  str,
  userOf,
  type CloudTrailRecord,
} from '../../src/cloudtrail/record';
import { findingId } from '../../src/rules/finding-id';
import { RULES, ruleById, ssmCommandExecution, ssmOutputToForeignBucket } from '../../src/rules/index';
import { isExcluded } from '../../src/rules/options';
import { SEVERITIES, type SelectedEvent } from '../../src/rules/types';
import { ACCOUNT, day, instanceRole, loadSample, s3Put, sendCommand, ssoSession } from './fixtures';

describe('empty(x) and str(x)', () => {
  test('empty: absent, null or "" only', () => {
    expect([undefined, null, ''].map(isEmpty)).toEqual([true, true, true]);
    expect([' ', '0', 0, false, {}, []].map(isEmpty)).toEqual([false, false, false, false, false, false]);
  });

  test('str is KQL tostring: null gives "", objects and arrays give JSON text', () => {
    expect(str(undefined)).toBe('');
    expect(str(null)).toBe('');
    expect(str('HIDDEN_DUE_TO_SECURITY_REASONS')).toBe('HIDDEN_DUE_TO_SECURITY_REASONS');
    expect(str({})).toBe('{}');
    expect(str([])).toBe('[]');
    expect(str({ commands: ['id'] })).toBe('{"commands":["id"]}');
    expect(str(3)).toBe('3');
    expect(str(false)).toBe('false');
  });

  test('lastSegment: text after the last "/", or the whole text', () => {
    expect(lastSegment('arn:aws:sts::111122223333:assumed-role/Role/i-0abc')).toBe('i-0abc');
    expect(lastSegment('arn:aws:iam::111122223333:root')).toBe('arn:aws:iam::111122223333:root');
    expect(lastSegment('trailing/')).toBe('');
    expect(lastSegment('')).toBe('');
  });
});

describe('userOf and accountOf', () => {
  const identity = (userIdentity: CloudTrailRecord['userIdentity']): CloudTrailRecord => ({ userIdentity });

  test('userOf: userName, else arn last segment, else principalId, else invokedBy, else ""', () => {
    expect(userOf(identity({ userName: 'alice', arn: 'arn:aws:iam::1:user/x', principalId: 'P', invokedBy: 'I' }))).toBe('alice');
    expect(userOf(identity({ userName: '', arn: 'arn:aws:iam::1:user/path/bob', principalId: 'P' }))).toBe('bob');
    expect(userOf(identity(ssoSession('alice@example.com')))).toBe('alice@example.com');
    expect(userOf(identity(instanceRole('i-0123')))).toBe('i-0123');
    expect(userOf(identity({ userName: null, arn: null, principalId: 'AIDAPRINCIPAL', invokedBy: 'I' }))).toBe('AIDAPRINCIPAL');
    expect(userOf(identity({ arn: '', principalId: '', invokedBy: 'ssm.amazonaws.com' }))).toBe('ssm.amazonaws.com');
    expect(userOf(identity({ type: 'Unknown' }))).toBe('');
    expect(userOf(identity(null))).toBe('');
    expect(userOf({})).toBe('');
  });

  test('accountOf: recipientAccountId, else userIdentity.accountId, else ""', () => {
    expect(accountOf({ recipientAccountId: '222233334444', userIdentity: { accountId: '555566667777' } })).toBe('222233334444');
    expect(accountOf({ recipientAccountId: '', userIdentity: { accountId: '555566667777' } })).toBe('555566667777');
    expect(accountOf({ recipientAccountId: null, userIdentity: { accountId: '555566667777' } })).toBe('555566667777');
    expect(accountOf({ userIdentity: { accountId: '' } })).toBe('');
    expect(accountOf({})).toBe('');
  });
});

describe('fortiEventType', () => {
  test('AWS-CloudTrail-<upper(eventSource prefix)>-<eventName>', () => {
    expect(fortiEventType(sendCommand())).toBe('AWS-CloudTrail-SSM-SendCommand');
    expect(fortiEventType(sendCommand({ eventSource: 'ssm-guiconnect.amazonaws.com' }))).toBe('AWS-CloudTrail-SSM-GUICONNECT-SendCommand');
    expect(fortiEventType(sendCommand({ eventSource: 'Ssm.amazonaws.com', eventName: 'ListCommands' }))).toBe('AWS-CloudTrail-SSM-ListCommands');
    expect(fortiEventType(s3Put())).toBe('AWS-CloudTrail-S3-PutObject');
  });

  test('a real stratus record gives the FortiSIEM event type of the seed', () => {
    const types = loadSample('stratus_ssm_send_command.json').map(fortiEventType);
    expect(types.filter((t) => t?.includes('AWS-CloudTrail-SSM-SendCommand'))).toEqual(['AWS-CloudTrail-SSM-SendCommand']);
  });

  test('is undefined when eventName or eventSource is not a string (docs/rules.md "String fields")', () => {
    expect(fortiEventType({ ...sendCommand(), eventName: { name: 'SendCommand' } as unknown as string })).toBeUndefined();
    expect(fortiEventType({ ...sendCommand(), eventSource: 7 as unknown as string })).toBeUndefined();
    expect(fortiEventType({ ...sendCommand(), eventSource: undefined })).toBeUndefined();
  });
});

describe('records, time and ids', () => {
  test('malformed: no eventID or no parsable eventTime', () => {
    expect(malformedReason(sendCommand())).toBeUndefined();
    expect(malformedReason(sendCommand({ eventID: '' }))).toMatch(/eventID/);
    expect(malformedReason(sendCommand({ eventTime: 'soon' }))).toMatch(/eventTime/);
    // docs/rules.md: a string YYYY-MM-DDTHH:MM:SS[.fraction]Z, nothing else Date.parse would take
    for (const time of [
      '2026-11-25 10:00:05Z',
      '2026-11-25T10:00:05+00:00',
      '2026-11-25T10:00Z',
      '2026-11-25',
      '2026-11-25T10:00:05.Z',
      '2026-13-01T00:00:00Z',
    ]) {
      expect([time, malformedReason(sendCommand({ eventTime: time }))]).toEqual([time, expect.stringMatching(/eventTime/)]);
    }
    expect(malformedReason(sendCommand({ eventTime: '2026-11-25T10:00:05.123456Z' }))).toBeUndefined();
  });

  test('eventTime parses as UTC and prints back with second precision', () => {
    const ms = eventTimeMs(sendCommand({ eventTime: '2026-11-25T10:00:05Z' }));
    expect(ms).toBe(Date.UTC(2026, 10, 25, 10, 0, 5));
    expect(isoUtc(ms as number)).toBe('2026-11-25T10:00:05Z');
    expect(isoUtc(Date.UTC(2026, 10, 25, 10, 0, 5, 250))).toBe('2026-11-25T10:00:05.250Z');
  });

  test('a daily scan period is [D 00:00Z, D+1 00:00Z)', () => {
    expect(day('2026-11-25')).toEqual({ startMs: Date.UTC(2026, 10, 25), endMs: Date.UTC(2026, 10, 26) });
  });

  test('findingId depends only on the rule and the key parts', () => {
    const a = findingId('r', 'x', 'y');
    expect(a).toMatch(/^f-[0-9a-f]{32}$/);
    expect(findingId('r', 'x', 'y')).toBe(a);
    expect(findingId('r', 'xy')).not.toBe(a);
    expect(findingId('r', 'y', 'x')).not.toBe(a);
    expect(findingId('other', 'x', 'y')).not.toBe(a);
  });
});

describe('exclude entries (isExcluded)', () => {
  const subject = { user: 'alice', arn: 'arn:aws:iam::111122223333:user/ops/alice', documentName: 'AWS-RunShellScript', accountId: ACCOUNT };

  test('arn is a glob: "*" any run (also across "/"), "?" one character, anchored, other characters literal', () => {
    expect(isExcluded([{ arn: 'arn:aws:iam::*:user/*' }], subject)).toBe(true);
    expect(isExcluded([{ arn: 'arn:aws:iam::111122223333:user/ops/alic?' }], subject)).toBe(true);
    expect(isExcluded([{ arn: 'arn:aws:iam::111122223333:user/ops' }], subject)).toBe(false);
    expect(isExcluded([{ arn: 'arn.aws.iam::111122223333:user/ops/alice' }], subject)).toBe(false);
    expect(isExcluded([{ arn: '*alice' }], subject)).toBe(true);
  });

  test('user, documentName and accountId compare exactly', () => {
    expect(isExcluded([{ user: 'Alice' }], subject)).toBe(false);
    expect(isExcluded([{ documentName: 'AWS-RunShell*' }], subject)).toBe(false);
    expect(isExcluded([{ accountId: ACCOUNT, documentName: 'AWS-RunShellScript' }], subject)).toBe(true);
    expect(isExcluded([], subject)).toBe(false);
  });
});

describe('rule registry', () => {
  test('every rule is a whole card: unique id, name, description, severity, ATT&CK entries, references, false positives, runbook', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const rule of RULES) {
      expect(rule.id).toMatch(/\S/);
      expect(rule.name).toMatch(/\S/);
      expect(rule.description.length).toBeGreaterThan(40);
      expect(SEVERITIES).toContain(rule.severity);
      expect(rule.attacks.length).toBeGreaterThan(0);
      for (const attack of rule.attacks) {
        expect(attack.tactic.id).toMatch(/^TA\d{4}$/);
        expect(attack.technique.id).toMatch(/^T\d{4}$/);
        if (attack.subTechnique) expect(attack.subTechnique.id.startsWith(`${attack.technique.id}.`)).toBe(true);
        expect(attack.reference).toMatch(/^https:\/\/attack\.mitre\.org\/techniques\//);
      }
      expect(rule.tactics).toEqual([...new Set(rule.attacks.map((a) => a.tactic.name))]);
      expect(rule.references.every((r) => /^https:\/\//.test(r))).toBe(true);
      expect(rule.falsePositives.length).toBeGreaterThan(0);
      expect(rule.runbook.length).toBeGreaterThan(0);
    }
    expect(ssmCommandExecution.techniques).toEqual(['T1059.006']);
    expect(ssmOutputToForeignBucket.techniques).toEqual(['T1204']);
  });

  test('ruleById finds each rule and nothing else', () => {
    expect(ruleById('PH_Rule_ES_IMPORT_AWS_15')).toBe(ssmCommandExecution);
    expect(ruleById('21702832-aff3-4bd6-a8e1-663b6818503d')).toBe(ssmOutputToForeignBucket);
    expect(ruleById('ph_rule_es_import_aws_15')).toBeUndefined();
    expect(ruleById('')).toBeUndefined();
  });

  test('each rule runs generically from configuration to findings', () => {
    const records = [
      sendCommand({ eventID: 'c1', eventTime: '2026-11-25T11:00:00Z', outputS3BucketName: 'exfil-bucket' }),
      s3Put({ eventID: 'p1', eventTime: '2026-11-25T11:00:30Z' }),
    ];
    const found = RULES.map((rule) => {
      const options = rule.optionsSchema.parse({});
      const selected: SelectedEvent[] = records.flatMap((r) => rule.select(r, options) ?? []);
      return rule.correlate(JSON.parse(JSON.stringify(selected)), day('2026-11-25'), options);
    });
    expect(found.map((findings) => findings.map((f) => [f.ruleId, f.eventIds]))).toEqual([
      [['PH_Rule_ES_IMPORT_AWS_15', ['c1']]],
      [['21702832-aff3-4bd6-a8e1-663b6818503d', ['c1', 'p1']]],
    ]);
    // each finding's id is made of its rule's identity parts, and its view names its account and a title
    for (const finding of found.flat()) {
      const rule = ruleById(finding.ruleId)!;
      expect(findingId(rule.id, ...rule.identity(finding))).toBe(finding.id);
      const view = rule.view(finding);
      expect(view.accountId).toBe(ACCOUNT);
      expect(view.title).toMatch(/\S/);
      expect(view.title).not.toContain('\n');
      expect(Object.keys(view.fields).length).toBeGreaterThan(0);
    }
  });

  test('the LookupEvents names of all rules cover SendCommand, CreateAssociation and PutObject', () => {
    const names = new Set(RULES.flatMap((rule) => rule.eventNames(rule.optionsSchema.parse({}))));
    expect([...names].sort()).toEqual(['CreateAssociation', 'PutObject', 'SendCommand']);
  });
});
