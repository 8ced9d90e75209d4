import { UsageError } from '../config/load';
import type { ChannelConfig } from '../config/schema';
import { asffFinding } from '../formats/asff';
import { ocsfDetectionFinding } from '../formats/ocsf';
import { briefOf } from '../notify/notice';
import { RULES, viewOf } from '../rules';
import { type CommonFinding, SEVERITIES, type Severity } from '../rules/types';
import { formatFinding } from './format';

export const FORMATS = ['text', 'jsonl', 'ocsf', 'asff'] as const;
export type Format = (typeof FORMATS)[number];

/** `--format F`, or `--json` (= jsonl); text by default. */
export function formatOf(opts: { json?: boolean; format?: Format }): Format {
  if (opts.json && opts.format && opts.format !== 'jsonl') throw new UsageError(`--json means --format jsonl; it cannot go with --format ${opts.format}`);
  return opts.json ? 'jsonl' : (opts.format ?? 'text');
}

/** Where ASFF findings say they go: the config's securityhub channel, else $AWS_REGION and each finding's account. */
export function asffTargetOf(channels: readonly ChannelConfig[]): { region: string; accountId?: string } {
  const hub = channels.find((c) => c.type === 'securityhub');
  const region = (hub?.type === 'securityhub' ? hub.region : undefined) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return { region, accountId: hub?.type === 'securityhub' ? hub.accountId : undefined };
}

/** One line per finding in the format; text lines are for people, the others one JSON object each. */
export function findingLine(finding: CommonFinding, format: Format, asff: { region: string; accountId?: string }, now = new Date().toISOString()): string {
  switch (format) {
    case 'text':
      return formatFinding(finding);
    case 'jsonl':
      return JSON.stringify(finding);
    case 'ocsf':
      return JSON.stringify(ocsfDetectionFinding(finding));
    case 'asff': {
      const accountId = asff.accountId ?? viewOf(finding).accountId;
      return JSON.stringify(asffFinding(briefOf(finding), { region: asff.region, accountId, now }));
    }
  }
}

/** What `findings` keeps: any of the rules, any of the severities, any of the accounts (none given: all). */
export interface FindingFilter {
  rules?: string[];
  severities?: Severity[];
  accounts?: string[];
}

export function parseFilter(opts: { rule?: string[]; severity?: string[]; account?: string[] }): FindingFilter {
  const known = RULES.map((r) => r.id);
  // a Sigma rule's id is a UUID (the Sigma specification's `id`)
  const sigmaId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  for (const id of opts.rule ?? []) {
    if (!known.includes(id) && !sigmaId.test(id)) throw new UsageError(`--rule "${id}" is not a rule id (known: ${known.join(', ')}, or a Sigma rule's id)`);
  }
  const severities = (opts.severity ?? []).map((text) => {
    const match = SEVERITIES.find((s) => s.toLowerCase() === text.toLowerCase());
    if (!match) throw new UsageError(`--severity "${text}" is not a severity (one of ${SEVERITIES.join(', ')})`);
    return match;
  });
  for (const account of opts.account ?? []) if (!/^\d{12}$/.test(account)) throw new UsageError(`--account "${account}" is not a 12-digit AWS account id`);
  return { rules: opts.rule, severities: severities.length ? severities : undefined, accounts: opts.account };
}

export function matchesFilter(finding: CommonFinding, filter: FindingFilter): boolean {
  return (
    (!filter.rules || filter.rules.includes(finding.ruleId)) &&
    (!filter.severities || filter.severities.includes(finding.severity as Severity)) &&
    (!filter.accounts || filter.accounts.includes(viewOf(finding).accountId))
  );
}
