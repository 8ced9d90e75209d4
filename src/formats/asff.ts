/**
 * A finding in the AWS Security Finding Format (ASFF), as Security Hub's BatchImportFindings takes it,
 * made from a finding's brief (what an incident keeps) and its rule's card.
 */
import type { AwsSecurityFinding, SeverityLabel } from '@aws-sdk/client-securityhub';
import type { FindingBrief } from '../notify/notice';
import { ruleOf } from '../rules';

export const ASFF_SCHEMA_VERSION = '2018-10-08';

/** The account's own ("default") product: the one any account may import findings into. */
export function defaultProductArn(region: string, accountId: string): string {
  return `arn:aws:securityhub:${region}:${accountId}:product/${accountId}/default`;
}

export interface AsffTarget {
  region: string;
  /** the importing account: ProductArn's, and AwsAccountId of findings that name none */
  accountId: string;
  /** UpdatedAt: when this version of the finding is written */
  now: string;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function asffFinding(brief: FindingBrief, target: AsffTarget): AwsSecurityFinding {
  const rule = ruleOf(brief);
  const accountId = /^\d{12}$/.test(brief.accountId ?? '') ? (brief.accountId as string) : target.accountId;
  const region = brief.region || target.region;
  const fields = brief.fields ?? {};
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    // the finding id: a re-import of the same finding updates it instead of adding a copy
    Id: brief.id,
    ProductArn: defaultProductArn(target.region, target.accountId),
    ProductName: 'trailwarden',
    CompanyName: 'trailwarden',
    GeneratorId: rule.id,
    AwsAccountId: accountId,
    Region: region,
    Types: rule.attacks.map((a) => `TTPs/${a.tactic.name}/${(a.subTechnique ?? a.technique).id}`),
    CreatedAt: brief.firstSeen,
    UpdatedAt: target.now,
    FirstObservedAt: brief.firstSeen,
    LastObservedAt: brief.lastSeen,
    Severity: { Label: rule.severity.toUpperCase() as SeverityLabel, Original: rule.severity },
    Title: clip(brief.title ?? rule.name, 256),
    Description: clip(rule.description, 1024),
    Remediation: { Recommendation: { Text: clip(rule.runbook.join(' '), 512), Url: rule.references[0] } },
    SourceUrl: rule.references[0],
    ProductFields: {
      'trailwarden/RuleName': rule.name,
      'trailwarden/Events': String(brief.count),
      ...Object.fromEntries(
        Object.entries(fields)
          .slice(0, 40)
          .map(([label, value]) => [`trailwarden/${label}`, clip(value, 2048)]),
      ),
    },
    Resources: [
      { Type: 'AwsAccount', Id: `AWS::::Account:${accountId}`, Partition: 'aws', Region: region },
      ...(brief.buckets ?? []).map((bucket) => ({ Type: 'AwsS3Bucket', Id: `arn:aws:s3:::${bucket}`, Partition: 'aws' as const, Region: region })),
    ],
    RecordState: 'ACTIVE',
  };
}
