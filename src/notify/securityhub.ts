import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { asffFinding } from '../formats/asff';
import { ruleById } from '../rules';
import { PermanentDeliveryError } from './errors';
import type { IncidentNotice } from './notice';

/** BatchImportFindings takes at most 100 findings a call. */
export const SECURITY_HUB_BATCH = 100;

const PERMANENT_ERRORS = new Set([
  'AccessDeniedException',
  'InvalidAccessException',
  'InvalidInputException',
  'UnrecognizedClientException',
  'ResourceNotFoundException',
]);

export interface SecurityHubTarget {
  region?: string;
  accountId?: string;
  endpoint?: string;
}

/** Slices of at most `size`, in order. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function regionOf(target: SecurityHubTarget): string {
  return target.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

async function accountOf(target: SecurityHubTarget, region: string): Promise<string> {
  if (target.accountId) return target.accountId;
  // the importing account owns the default product: ask STS who we are
  const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({ region, maxAttempts: 1, ...(target.endpoint ? { endpoint: target.endpoint } : {}) });
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Account as string;
  } finally {
    sts.destroy();
  }
}

/**
 * Imports findings, at most 100 a call. Security Hub keys findings by (ProductArn, Id), so importing a
 * finding again updates it. When some fail, the error (retryable: Temporal retries the whole set, and
 * the ones already in are updated in place) names them.
 */
export async function importFindings(target: SecurityHubTarget, findings: (region: string, accountId: string) => AwsSecurityFinding[]): Promise<number> {
  // loaded on first use, like the SNS client: most workers never import
  const { BatchImportFindingsCommand, SecurityHubClient } = await import('@aws-sdk/client-securityhub');
  const region = regionOf(target);
  const client = new SecurityHubClient({ region, maxAttempts: 1, ...(target.endpoint ? { endpoint: target.endpoint } : {}) });
  const what = `securityhub ${region}`;
  try {
    const all = findings(region, await accountOf(target, region));
    const failed: string[] = [];
    for (const batch of batches(all, SECURITY_HUB_BATCH)) {
      const answer = await client.send(new BatchImportFindingsCommand({ Findings: batch }));
      for (const f of answer.FailedFindings ?? []) failed.push(`${f.Id}: ${f.ErrorCode} ${f.ErrorMessage}`);
    }
    if (failed.length) throw new Error(`${what}: ${failed.length} of ${all.length} finding(s) not imported: ${failed.slice(0, 3).join('; ')}`);
    return all.length;
  } catch (error) {
    const name = (error as Error).name;
    if (PERMANENT_ERRORS.has(name)) throw new PermanentDeliveryError(`${what}: ${name}: ${(error as Error).message}`);
    if ((error as Error).message.startsWith(what)) throw error;
    throw new Error(`${what}: ${name}: ${(error as Error).message}`);
  } finally {
    client.destroy();
  }
}

/** The incident's findings (its notice's evidence), one ASFF finding each. */
export async function sendSecurityHub(target: SecurityHubTarget, notice: IncidentNotice): Promise<void> {
  // a finding of a rule this worker does not know cannot become ASFF, however often it is retried
  const unknown = notice.evidence.find((brief) => !ruleById(brief.ruleId) && !brief.sigma);
  if (unknown) throw new PermanentDeliveryError(`securityhub: finding ${unknown.id} is of rule ${unknown.ruleId}, which this worker does not know`);
  const now = new Date().toISOString();
  await importFindings(target, (region, accountId) => notice.evidence.map((brief) => asffFinding(brief, { region, accountId, now })));
}

/** How many findings Security Hub holds for the target's region (paged, 100 a page). */
export async function countFindings(target: SecurityHubTarget): Promise<number> {
  const { GetFindingsCommand, SecurityHubClient } = await import('@aws-sdk/client-securityhub');
  const client = new SecurityHubClient({ region: regionOf(target), ...(target.endpoint ? { endpoint: target.endpoint } : {}) });
  try {
    let count = 0;
    let token: string | undefined;
    do {
      const page = await client.send(new GetFindingsCommand({ MaxResults: 100, NextToken: token }));
      count += page.Findings?.length ?? 0;
      token = page.NextToken || undefined;
    } while (token);
    return count;
  } finally {
    client.destroy();
  }
}
