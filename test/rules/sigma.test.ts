/**
 * Sigma rules as trailwarden rules (src/rules/sigma.ts): the candidates a rule's prefilter gives the
 * reader, its findings (one per record, or per correlation group and window), their ids, cards and
 * views, and the config that loads them (docs/sigma.md).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig, UsageError } from '../../src/config/load';
import { configuredRules } from '../../src/rules/configured-rules';
import { findingId } from '../../src/rules/finding-id';
import { ruleOf, viewOf } from '../../src/rules';
import { attacksOfTags, candidatesOf, sigmaRule, type SigmaFinding, type SigmaSelected } from '../../src/rules/sigma';
import { readWindow, selectRecord } from '../../src/rules/selection';
import { parseSigma, type SigmaCorrelation, type SigmaRule } from '../../src/sigma';
import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { briefOf } from '../../src/notify/notice';
import { ACCOUNT, day, iamUser, loadSample } from './fixtures';

const DAY = day('2026-11-25');

const STOP_LOGGING = `
title: CloudTrail logging stopped
id: 7b3e9a52-1c4d-4e8f-a0b6-2d9c8e7f6a51
status: test
description: Someone stopped or deleted a trail.
references:
  - https://example.com/stop-logging
author: A. Tester
tags:
  - attack.defense-evasion
  - attack.t1562.008
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName:
      - StopLogging
      - DeleteTrail
  condition: selection
falsepositives:
  - Trail maintenance
level: high
`;

const MANY_DELETES = `
title: Many deleted trails
id: 0a7dc2f9-6f44-4b59-8d2d-7b0c5b0f2e11
correlation:
  type: event_count
  rules:
    - 7b3e9a52-1c4d-4e8f-a0b6-2d9c8e7f6a51
  group-by:
    - recipientAccountId
  timespan: 1h
  condition:
    gte: 2
level: critical
`;

function record(eventName: string, eventTime: string, eventID: string, extra: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    userIdentity: iamUser('mallory'),
    eventTime,
    eventSource: 'cloudtrail.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2.15.30',
    eventID,
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
    ...extra,
  } as CloudTrailRecord;
}

const documents = () => parseSigma(`${STOP_LOGGING}\n---\n${MANY_DELETES}`, 'test.yml');

function rulesConfig(): Record<string, unknown> {
  const [detection, correlation] = documents() as [SigmaRule, SigmaCorrelation];
  const suppression = { enabled: true, duration: 'PT1H', keyFields: ['accountId', 'user'] };
  return {
    [detection.id]: { enabled: true, suppression, sigma: detection, bases: [] },
    [correlation.id]: { enabled: true, suppression, sigma: correlation, bases: [detection] },
  };
}

function run(records: CloudTrailRecord[], period = DAY): SigmaFinding[] {
  const rules = configuredRules(rulesConfig());
  const window = readWindow(rules, period);
  const selected = new Map<string, SigmaSelected[]>();
  for (const r of records) {
    for (const line of selectRecord(rules, r, window)) {
      if (!selected.has(line.ruleId)) selected.set(line.ruleId, []);
      selected.get(line.ruleId)!.push(line.event as SigmaSelected);
    }
  }
  return rules.flatMap(({ rule, options }) => rule.correlate(selected.get(rule.id) ?? [], period, options) as SigmaFinding[]);
}

describe('Sigma rules as trailwarden rules', () => {
  test("a detection rule's card comes from its document: title, level, tags, author and references", () => {
    const [detection] = documents() as SigmaRule[];
    const rule = sigmaRule(detection);
    expect(rule.id).toBe(detection.id);
    expect(rule.name).toBe('CloudTrail logging stopped');
    expect(rule.severity).toBe('High');
    expect(rule.tactics).toEqual(['Defense Evasion']);
    expect(rule.techniques).toEqual(['T1562.008']);
    expect(rule.attacks).toEqual([
      {
        tactic: { id: 'TA0005', name: 'Defense Evasion' },
        technique: { id: 'T1562', name: 'T1562' },
        subTechnique: { id: 'T1562.008', name: 'T1562.008' },
        reference: 'https://attack.mitre.org/techniques/T1562/008/',
      },
    ]);
    expect(rule.references).toEqual(['https://example.com/stop-logging']);
  });

  test('tags: tactics in either spelling, techniques upper-cased, other namespaces ignored', () => {
    expect(attacksOfTags(['attack.privilege_escalation', 'attack.stealth', 'attack.t1078.004', 'cve.2021-1234', 'attack.g0016']).tactics).toEqual([
      'Privilege Escalation',
      'Stealth',
    ]);
    expect(attacksOfTags(['attack.t1078']).attacks).toEqual([]); // no tactic: no ATT&CK entry, the technique is still listed
    expect(attacksOfTags(['attack.t1078']).techniques).toEqual(['T1078']);
  });

  test("the prefilter becomes the reader's candidates: names folded (Sigma is case-insensitive), literals, or every record", () => {
    expect(candidatesOf({ eventNames: [{ op: 'equals', value: 'StopLogging', cased: false }] })).toEqual({
      equals: [],
      contains: [],
      foldedEquals: ['StopLogging'],
      foldedContains: [],
    });
    expect(
      candidatesOf({
        eventNames: [
          { op: 'startswith', value: 'Delete', cased: false },
          { op: 'equals', value: 'PutObject', cased: true },
          { op: 'contains', value: 'Key', cased: true },
        ],
      }),
    ).toEqual({ equals: ['PutObject'], contains: ['Key'], foldedEquals: [], foldedContains: ['Delete'] });
    expect(candidatesOf({ literals: ['trufflehog'] })).toEqual({ equals: [], contains: [], literals: ['trufflehog'] });
    expect(candidatesOf({})).toEqual({ equals: [], contains: [], literals: [''] });
  });

  test('one finding per matching record, its id from the rule id and eventID; a near miss and an event outside the period give none', () => {
    const findings = run([
      record('StopLogging', '2026-11-25T10:00:00Z', 'e-1'),
      record('stoplogging', '2026-11-25T10:00:01Z', 'e-2'), // plain values are case-insensitive
      record('StopLogging', '2026-11-25T10:00:02Z', 'e-3', { eventSource: 's3.amazonaws.com' }),
      record('StartLogging', '2026-11-25T10:00:03Z', 'e-4'),
      record('StopLogging', '2026-11-24T23:59:59Z', 'e-5'),
    ]).filter((f) => f.sigma.kind === 'rule');
    expect(findings.map((f) => f.eventIds)).toEqual([['e-1'], ['e-2']]);
    const [first] = findings;
    expect(first.id).toBe(findingId('7b3e9a52-1c4d-4e8f-a0b6-2d9c8e7f6a51', 'e-1'));
    expect(first).toMatchObject({
      ruleName: 'CloudTrail logging stopped',
      severity: 'High',
      accountId: ACCOUNT,
      user: 'mallory',
      sourceIpAddress: '203.0.113.7',
      eventName: 'StopLogging',
      awsRegion: 'us-east-1',
      count: 1,
      firstSeen: '2026-11-25T10:00:00Z',
      sigma: { kind: 'rule', level: 'high', author: 'A. Tester', references: ['https://example.com/stop-logging'], source: 'test.yml' },
    });
    expect(ruleOf(first).identity(first)).toEqual(['e-1']);
  });

  test('a correlation: one finding per group and aligned window that meets its condition, with its events', () => {
    const findings = run([
      record('DeleteTrail', '2026-11-25T10:05:00Z', 'd-1'),
      record('DeleteTrail', '2026-11-25T10:55:00Z', 'd-2'),
      record('DeleteTrail', '2026-11-25T11:05:00Z', 'd-3'), // the next hour: alone there
      record('DeleteTrail', '2026-11-25T10:30:00Z', 'd-4', { recipientAccountId: '444455556666' }),
    ]).filter((f) => f.sigma.kind === 'correlation');
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f).toMatchObject({
      ruleName: 'Many deleted trails',
      severity: 'Critical',
      windowStart: '2026-11-25T10:00:00Z',
      windowEnd: '2026-11-25T11:00:00Z',
      group: { recipientAccountId: ACCOUNT },
      count: 2,
      eventIds: ['d-1', 'd-2'],
      sigma: { kind: 'correlation', correlationType: 'event_count' },
    });
    expect(f.id).toBe(findingId(f.ruleId, ...ruleOf(f).identity(f)));
  });

  test("a correlation window belongs to the scan whose period holds its end: a window across the period's start is reported whole", () => {
    const period = { startMs: Date.parse('2026-11-25T10:30:00Z'), endMs: Date.parse('2026-11-25T12:00:00Z') };
    const events = [record('DeleteTrail', '2026-11-25T10:05:00Z', 'd-1'), record('DeleteTrail', '2026-11-25T10:45:00Z', 'd-2')];
    const [f] = run(events, period).filter((x) => x.sigma.kind === 'correlation');
    expect(f.eventIds).toEqual(['d-1', 'd-2']);
    // the scan of the hour before (ending 10:30) does not have the window's end
    expect(run(events, { startMs: Date.parse('2026-11-25T09:00:00Z'), endMs: period.startMs }).filter((x) => x.sigma.kind === 'correlation')).toEqual([]);
  });

  test("a finding's view and brief name the rule, its author and source; ruleOf reads a brief's card without the document", () => {
    const [f] = run([record('StopLogging', '2026-11-25T10:00:00Z', 'e-1')]);
    const view = viewOf(f);
    expect(view.title).toContain('CloudTrail logging stopped');
    expect(view.fields).toMatchObject({ Author: 'A. Tester', Source: 'test.yml', User: 'mallory' });
    const brief = briefOf(f);
    expect(brief.sigma).toEqual(f.sigma);
    const card = ruleOf(brief);
    expect([card.name, card.severity, card.techniques]).toEqual(['CloudTrail logging stopped', 'High', ['T1562.008']]);
  });

  test('the real SendCommand sample is not a StopLogging finding', () => {
    expect(run(loadSample('stratus_ssm_send_command.json'))).toEqual([]);
  });
});

describe('rules.sigma in the config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-sigma-config-'));
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('{ enabled: true } alone turns on the shipped SigmaHQ pack, beside the two seed rules', () => {
    const rules = parseConfig({ sources: [], rules: { sigma: { enabled: true } } }).rules;
    const ids = Object.keys(rules);
    expect(ids.slice(0, 2)).toEqual(['PH_Rule_ES_IMPORT_AWS_15', '21702832-aff3-4bd6-a8e1-663b6818503d']);
    expect(ids.length).toBeGreaterThanOrEqual(2 + 57);
    expect(() => configuredRules(rules)).not.toThrow();
  });

  test('off by default; paths load your own files (relative to the config file), exclude and per-rule switches apply', () => {
    expect(Object.keys(parseConfig({ sources: [] }).rules)).toHaveLength(2);
    write('rules.yml', `${STOP_LOGGING}\n---\n${MANY_DELETES}`);
    const file = write('config.json', '{}');
    const own = parseConfig({ sources: [], rules: { sigma: { paths: ['rules.yml'] } } }, file).rules;
    // the correlation's rule makes no findings of its own (no generate): it rides in the correlation's options
    expect(Object.keys(own).slice(2)).toEqual(['0a7dc2f9-6f44-4b59-8d2d-7b0c5b0f2e11']);
    expect((own['0a7dc2f9-6f44-4b59-8d2d-7b0c5b0f2e11'] as { bases: SigmaRule[] }).bases.map((b) => b.id)).toEqual(['7b3e9a52-1c4d-4e8f-a0b6-2d9c8e7f6a51']);
    const off = parseConfig(
      { sources: [], rules: { sigma: { paths: ['rules.yml'], rules: { '0a7dc2f9-6f44-4b59-8d2d-7b0c5b0f2e11': { enabled: false } } } } },
      file,
    ).rules;
    expect(Object.keys(off)).toHaveLength(2);
    const withPack = parseConfig(
      { sources: [], rules: { sigma: { paths: ['rules.yml'], pack: true, exclude: ['905d389b-b853-46d0-9d3d-dea0d3a3cd49'] } } },
      file,
    ).rules;
    expect(Object.keys(withPack)).not.toContain('905d389b-b853-46d0-9d3d-dea0d3a3cd49');
    expect(Object.keys(withPack)).toContain('0a7dc2f9-6f44-4b59-8d2d-7b0c5b0f2e11');
  });

  test('a bad Sigma file or option is a usage error naming the file, the rule and the problem', () => {
    const file = write('config.json', '{}');
    write('bad-modifier.yml', STOP_LOGGING.replace('eventSource:', 'eventSource|sounds-like:'));
    write('not-cloudtrail.yml', STOP_LOGGING.replace('service: cloudtrail', 'service: guardduty'));
    const load = (sigma: unknown) => () => parseConfig({ sources: [], rules: { sigma } }, file);
    expect(load({ paths: ['bad-modifier.yml'] })).toThrow(UsageError);
    expect(load({ paths: ['bad-modifier.yml'] })).toThrow(/bad-modifier\.yml: rule 7b3e9a52-1c4d-4e8f-a0b6-2d9c8e7f6a51: .*sounds-like/);
    expect(load({ paths: ['not-cloudtrail.yml'] })).toThrow(/not-cloudtrail\.yml/);
    expect(load({ paths: ['missing.yml'] })).toThrow(/missing\.yml/);
    expect(load({ pathz: [] })).toThrow(/rules\.sigma: unknown key "pathz" \(did you mean "paths"\?\)/);
    expect(load({ paths: ['bad-modifier.yml'], enabled: false })).not.toThrow();
    expect(load({ rules: { 'not-loaded': {} } })).toThrow(/rules\.sigma\.rules: "not-loaded" is not the id of a loaded Sigma rule/);
  });
});
