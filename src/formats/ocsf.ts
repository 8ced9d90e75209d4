/**
 * A finding as an OCSF Detection Finding (class_uid 2004, OCSF 1.8.0, cloud profile), for data lakes
 * and SIEMs that read OCSF (Amazon Security Lake, Splunk, Sentinel, Elastic). The definitions it
 * follows are vendored in vendor/ocsf/; test/unit/ocsf.test.ts checks the output against them.
 */
import { VERSION } from '../cli/version';
import { ruleOf } from '../rules';
import type { CommonFinding, Severity } from '../rules/types';

export const OCSF_VERSION = '1.8.0';
const CATEGORY_UID = 2; // Findings
const CLASS_UID = 2004; // Detection Finding
const ACTIVITY_CREATE = 1;

/** OCSF severity_id of each rule severity. */
export const OCSF_SEVERITY_ID: Record<Severity, number> = { Informational: 1, Low: 2, Medium: 3, High: 4, Critical: 5 };

/** Observable type ids (OCSF dictionary types): User Name, IP Address, Resource UID, Other. */
const OBSERVABLE = { user: 4, ip: 2, resource: 10, other: 99 } as const;

export function ocsfDetectionFinding(finding: CommonFinding): Record<string, unknown> {
  const rule = ruleOf(finding);
  const view = rule.view(finding);
  const firstMs = Date.parse(finding.firstSeen);
  const lastMs = Date.parse(finding.lastSeen);
  const evidences = [...view.users.map((name) => ({ user: { name } })), ...view.buckets.map((name) => ({ databucket: { name, type_id: 1, type: 'S3' } }))];
  const observables = [
    ...view.users.map((value) => ({ name: 'evidences.user.name', type_id: OBSERVABLE.user, type: 'User Name', value })),
    ...view.ips.map((value) => ({ name: 'ip', type_id: OBSERVABLE.ip, type: 'IP Address', value })),
    ...view.buckets.map((value) => ({ name: 'evidences.databucket.name', type_id: OBSERVABLE.resource, type: 'Resource UID', value: `arn:aws:s3:::${value}` })),
    ...finding.eventIds.map((value) => ({ name: 'finding_info.related_events.uid', type_id: OBSERVABLE.other, type: 'CloudTrail eventID', value })),
  ];
  const attacks = rule.attacks.map((a) => ({
    tactic: { uid: a.tactic.id, name: a.tactic.name },
    technique: { uid: a.technique.id, name: a.technique.name, src_url: a.reference },
    ...(a.subTechnique ? { sub_technique: { uid: a.subTechnique.id, name: a.subTechnique.name, src_url: a.reference } } : {}),
  }));
  // the rule's own fields, beyond what OCSF has a place for
  const own = Object.fromEntries(Object.entries(finding).filter(([key]) => !COMMON_KEYS.has(key)));
  return {
    activity_id: ACTIVITY_CREATE,
    activity_name: 'Create',
    category_uid: CATEGORY_UID,
    category_name: 'Findings',
    class_uid: CLASS_UID,
    class_name: 'Detection Finding',
    type_uid: CLASS_UID * 100 + ACTIVITY_CREATE,
    type_name: 'Detection Finding: Create',
    severity_id: OCSF_SEVERITY_ID[rule.severity],
    severity: rule.severity,
    status_id: 1,
    status: 'New',
    is_alert: true,
    time: lastMs,
    start_time: firstMs,
    end_time: lastMs,
    count: finding.count,
    message: view.title,
    metadata: {
      version: OCSF_VERSION,
      profiles: ['cloud'],
      uid: finding.id,
      log_name: 'CloudTrail',
      product: { name: 'trailwarden', vendor_name: 'trailwarden', version: VERSION },
    },
    finding_info: {
      uid: finding.id,
      title: view.title,
      desc: rule.description,
      types: [rule.name],
      first_seen_time: firstMs,
      last_seen_time: lastMs,
      analytic: { uid: rule.id, name: rule.name, type_id: 1, type: 'Rule', desc: rule.description },
      attacks,
      related_events: finding.eventIds.map((uid) => ({ uid, product_uid: 'aws-cloudtrail' })),
      related_events_count: finding.eventIds.length,
      src_url: rule.references[0],
    },
    cloud: {
      provider: 'AWS',
      account: { uid: view.accountId, type_id: 10, type: 'AWS Account' },
      ...(view.region ? { region: view.region } : {}),
    },
    ...(evidences.length ? { evidences } : {}),
    observables,
    unmapped: { trailwarden: { fields: view.fields, ...own } },
  };
}

const COMMON_KEYS = new Set(['id', 'ruleId', 'ruleName', 'severity', 'tactics', 'techniques', 'firstSeen', 'lastSeen', 'count', 'eventIds']);
