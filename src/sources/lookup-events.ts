import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { LookupEventsSource } from '../config/schema';
import { classifyAwsError } from './errors';
import { sharedLimiter } from './rate-limiter';
import { once } from '../common/once';

/** CloudTrail allows 2 LookupEvents requests per second per account and region. */
export const LOOKUP_REQUESTS_PER_SECOND = 2;
/** LookupEvents keeps 90 days of management events. */
export const LOOKUP_RETENTION_DAYS = 90;

export interface LookupPartition {
  accountId: string;
  roleArn?: string;
  externalId?: string;
  region: string;
}

const PERMANENT_LOOKUP_ERRORS = new Set([
  'InvalidTimeRangeException',
  'InvalidLookupAttributesException',
  'InvalidEventCategoryException',
  'InvalidMaxResultsException',
  'OperationNotPermittedException',
  'UnsupportedOperationException',
]);

function clientRegion(): string {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

// The AWS SDK clients load on first use: together they add ~40 MB to a worker that has no lookupEvents source.
const cloudTrailSdk = once(() => import('@aws-sdk/client-cloudtrail'));

async function credentialsFor(source: LookupEventsSource, account: { roleArn?: string; externalId?: string }, region: string) {
  if (!account.roleArn) return undefined;
  const { fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
  return fromTemporaryCredentials({
    params: { RoleArn: account.roleArn, ExternalId: account.externalId, RoleSessionName: 'trailwarden-scan' },
    clientConfig: { region, ...(source.stsEndpoint ? { endpoint: source.stsEndpoint } : {}) },
  });
}

/** The (account, region) pairs to query; regions default to those enabled in each account. */
export async function discoverLookupPartitions(source: LookupEventsSource): Promise<LookupPartition[]> {
  const accounts = source.accounts ?? [{ accountId: await defaultAccountId(source) }];
  const partitions: LookupPartition[] = [];
  for (const account of accounts) {
    const regions = source.regions ?? (await enabledRegions(source, account));
    for (const region of regions) partitions.push({ ...account, region });
  }
  return partitions;
}

async function defaultAccountId(source: LookupEventsSource): Promise<string> {
  const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({ region: clientRegion(), ...(source.stsEndpoint ? { endpoint: source.stsEndpoint } : {}) });
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    return identity.Account ?? 'default';
  } catch (error) {
    throw classifyAwsError(error, 'lookupEvents source: finding the account of the default credentials (sts:GetCallerIdentity)');
  } finally {
    sts.destroy();
  }
}

async function enabledRegions(source: LookupEventsSource, account: { accountId: string; roleArn?: string; externalId?: string }): Promise<string[]> {
  const region = clientRegion();
  // the EC2 client alone adds ~70 MB, and only region discovery needs it
  const { DescribeRegionsCommand, EC2Client } = await import('@aws-sdk/client-ec2');
  const ec2 = new EC2Client({
    region,
    credentials: await credentialsFor(source, account, region),
    ...(source.ec2Endpoint ? { endpoint: source.ec2Endpoint } : {}),
  });
  try {
    const result = await ec2.send(new DescribeRegionsCommand({ AllRegions: false }));
    return (result.Regions ?? [])
      .map((r) => r.RegionName ?? '')
      .filter(Boolean)
      .sort();
  } catch (error) {
    throw classifyAwsError(error, `lookupEvents source: listing the enabled regions of ${account.accountId} (ec2:DescribeRegions)`);
  } finally {
    ec2.destroy();
  }
}

export interface LookupCounters {
  requests: number;
  pages: number;
}

/**
 * A CloudTrail client for one account and region whose every request waits for the worker-wide
 * limiter of that account and region. It does not retry: Temporal's retry policy does, from the checkpoint.
 */
export async function createLookupClient(source: LookupEventsSource, partition: LookupPartition, counters: LookupCounters): Promise<CloudTrailClient> {
  const { CloudTrailClient } = await cloudTrailSdk();
  const client = new CloudTrailClient({
    region: partition.region,
    credentials: await credentialsFor(source, partition, partition.region),
    maxAttempts: 1,
    ...(source.endpoint ? { endpoint: source.endpoint } : {}),
  });
  const limiter = sharedLimiter(`${partition.accountId}/${partition.region}`, LOOKUP_REQUESTS_PER_SECOND);
  // a client is made when a partition takes the account and region over, maybe from another process
  limiter.handOver();
  client.middlewareStack.add(
    (next) => async (args) => {
      await limiter.take();
      counters.requests++;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'trailwardenRateLimit', priority: 'low' },
  );
  return client;
}

export interface LookupQuery {
  eventName: string;
  startTime: Date;
  endTime: Date;
}

export interface LookupPage {
  /** the CloudTrailEvent strings of the page */
  events: string[];
  nextToken?: string;
}

/** Pages of one EventName query, newest first, starting at `startingToken` when resuming. */
export async function* lookupEventPages(
  client: CloudTrailClient,
  query: LookupQuery,
  startingToken: string | undefined,
  counters: LookupCounters,
): AsyncGenerator<LookupPage> {
  const { paginateLookupEvents } = await cloudTrailSdk();
  const paginator = paginateLookupEvents(
    { client, pageSize: 50, startingToken },
    {
      LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: query.eventName }],
      StartTime: query.startTime,
      EndTime: query.endTime,
    },
  );
  for await (const page of paginator) {
    counters.pages++;
    yield { events: (page.Events ?? []).map((e) => e.CloudTrailEvent ?? ''), nextToken: page.NextToken };
  }
}

export function isPermanentLookupError(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return PERMANENT_LOOKUP_ERRORS.has(name) || classifyAwsError(error, '').name === 'PermanentSourceError';
}

export function isThrottling(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return name === 'ThrottlingException' || name === 'TooManyRequestsException' || name === 'RequestLimitExceeded';
}
