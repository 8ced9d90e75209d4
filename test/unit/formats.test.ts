/**
 * Every finding of the demo trail, of every rule, through each output format: OCSF Detection Findings
 * checked against the vendored OCSF 1.8.0 definitions, ASFF with every attribute BatchImportFindings
 * requires, text lines and JSON lines.
 */
import { parseConfig } from '../../src/config/load';
import { buildSampleTrail, DEMO_DATE } from '../../src/demo/sample-trail';
import { findingLine } from '../../src/cli/output';
import { OCSF_SEVERITY_ID, ocsfDetectionFinding } from '../../src/formats/ocsf';
import { RULES, ruleOf, viewOf } from '../../src/rules';
import type { Finding } from '../../src/rules/types';
import { OCSF_ROOT, ocsfClassUid, ocsfProblems } from '../helpers/ocsf-schema';
import { referenceEvaluation } from '../helpers/reference-evaluator';
import { day } from '../rules/fixtures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DETECTION_FINDING = 'events/findings/detection_finding.json';
const demoFindings: Finding[] = referenceEvaluation(
  [...buildSampleTrail()].map(([key, bytes]) => ({ key, bytes })),
  parseConfig({ sources: [] }).rules,
  day(DEMO_DATE),
).findings;
const severityCaptions = (
  JSON.parse(readFileSync(join(OCSF_ROOT, 'dictionary.json'), 'utf8')) as { attributes: { severity_id: { enum: Record<string, { caption: string }> } } }
).attributes.severity_id.enum;
const ASFF = { region: 'eu-west-1' };

test('the demo trail has findings of every rule', () => {
  expect(new Set(demoFindings.map((f) => f.ruleId))).toEqual(new Set(RULES.map((r) => r.id)));
});

describe('OCSF', () => {
  test('the Detection Finding class is class_uid 2004 in the vendored schema', () => {
    expect(ocsfClassUid(DETECTION_FINDING)).toBe(2004);
  });

  test.each(demoFindings.map((f) => [f.ruleId, f.id, f] as const))(
    '%s finding %s is a valid Detection Finding with its ids, times, account and observables',
    (_rule, _id, finding) => {
      const event = ocsfDetectionFinding(finding) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(ocsfProblems(event, DETECTION_FINDING, ['cloud'])).toEqual([]);
      const view = viewOf(finding);
      expect(event).toMatchObject({
        class_uid: 2004,
        category_uid: 2,
        activity_id: 1,
        type_uid: 200401,
        metadata: { version: '1.8.0', product: { name: 'trailwarden' } },
      });
      expect(severityCaptions[String(event.severity_id)].caption).toBe(finding.severity);
      expect(event.finding_info).toMatchObject({ uid: finding.id, title: view.title, analytic: { uid: finding.ruleId, type_id: 1 } });
      expect(event.finding_info.attacks.map((a: { tactic: { name: string } }) => a.tactic.name)).toEqual(finding.tactics);
      expect(event.time).toBe(Date.parse(finding.lastSeen));
      expect(event.cloud).toMatchObject({ provider: 'AWS', account: { uid: view.accountId } });
      const observed = event.observables.map((o: { value: string }) => o.value);
      for (const value of [...finding.eventIds, ...view.users, ...view.ips]) expect(observed).toContain(value);
      for (const bucket of view.buckets) expect(observed).toContain(`arn:aws:s3:::${bucket}`);
    },
  );

  test('the check finds a missing required attribute, an unknown one, a wrong type, a bad enum and an unmet constraint', () => {
    const event = ocsfDetectionFinding(demoFindings[0]) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const broken = JSON.parse(JSON.stringify(event));
    delete broken.finding_info.uid;
    delete broken.cloud.provider;
    broken.colour = 'red';
    broken.time = '2026-11-02';
    broken.severity_id = 7;
    broken.finding_info.attacks[0] = {};
    broken.observables[0].type_id = 77;
    expect(ocsfProblems(broken, DETECTION_FINDING, ['cloud'])).toEqual(
      expect.arrayContaining([
        'finding_info.uid: required, missing',
        'cloud.provider: required, missing',
        'colour: not an attribute of this class or object',
        expect.stringMatching(/^time: must be timestamp_t/),
        expect.stringMatching(/^severity_id: 7 is not one of/),
        'finding_info.attacks[0].: needs at least one of tactic, technique, sub_technique',
        expect.stringMatching(/^observables\[0\]\.type_id: 77 is not one of/),
      ]),
    );
    // without the cloud profile, cloud is not an attribute at all
    expect(ocsfProblems(event, DETECTION_FINDING, [])).toContain('cloud: not an attribute of this class or object');
  });

  test('every rule severity has its OCSF severity_id', () => {
    for (const rule of RULES) expect(severityCaptions[String(OCSF_SEVERITY_ID[rule.severity])].caption).toBe(rule.severity);
  });
});

describe('ASFF', () => {
  test.each(demoFindings.map((f) => [f.ruleId, f.id, f] as const))('%s finding %s has every attribute BatchImportFindings requires', (_rule, _id, finding) => {
    const asff = JSON.parse(findingLine(finding, 'asff', ASFF, '2026-11-03T00:00:00.000Z'));
    const view = viewOf(finding);
    for (const key of [
      'SchemaVersion',
      'Id',
      'ProductArn',
      'GeneratorId',
      'AwsAccountId',
      'Types',
      'CreatedAt',
      'UpdatedAt',
      'Severity',
      'Title',
      'Description',
      'Resources',
    ]) {
      expect(asff[key]).toBeDefined();
    }
    expect(asff).toMatchObject({
      SchemaVersion: '2018-10-08',
      Id: finding.id,
      GeneratorId: finding.ruleId,
      ProductArn: `arn:aws:securityhub:eu-west-1:${view.accountId}:product/${view.accountId}/default`,
      AwsAccountId: view.accountId,
      CreatedAt: finding.firstSeen,
      UpdatedAt: '2026-11-03T00:00:00.000Z',
      Severity: { Label: finding.severity.toUpperCase() },
      Title: view.title,
      Description: ruleOf(finding).description,
    });
    for (const type of asff.Types) expect(type).toMatch(/^TTPs\/[^/]+\/[^/]+$/);
    expect(asff.Resources[0]).toEqual({ Type: 'AwsAccount', Id: `AWS::::Account:${view.accountId}`, Partition: 'aws', Region: view.region ?? 'eu-west-1' });
    for (const bucket of view.buckets) expect(asff.Resources).toContainEqual(expect.objectContaining({ Type: 'AwsS3Bucket', Id: `arn:aws:s3:::${bucket}` }));
    expect(asff.Title.length).toBeLessThanOrEqual(256);
    expect(Object.keys(asff.ProductFields).length).toBeLessThanOrEqual(50);
  });
});

describe('text and JSON lines', () => {
  test.each(demoFindings.map((f) => [f.ruleId, f.id, f] as const))(
    '%s finding %s: one text line with its title and fields; the JSON line is the finding',
    (_rule, _id, finding) => {
      const text = findingLine(finding, 'text', ASFF);
      const view = viewOf(finding);
      expect(text).not.toContain('\n');
      expect(text.startsWith(`[${finding.severity}] ${finding.ruleName}  ${view.title}`)).toBe(true);
      for (const [label, value] of Object.entries(view.fields)) expect(text).toContain(`${label}: ${value}`);
      expect(text.endsWith(`id=${finding.id}`)).toBe(true);
      expect(JSON.parse(findingLine(finding, 'jsonl', ASFF))).toEqual(JSON.parse(JSON.stringify(finding)));
    },
  );
});
