import { z } from 'zod';
import { isoDuration } from '../rules/options';

const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const region = z.string().regex(/^[a-z0-9-]+$/, 'must be an AWS region name such as us-east-1');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** `trailwarden watch`'s `watch.batchWindow` by default: a round per ten seconds of notifications, well inside the minute a notification may take */
export const DEFAULT_BATCH_WINDOW = 'PT10S';

/** `trailwarden watch`: how often a source without a notification queue is listed, by default */
export const DEFAULT_POLL_INTERVAL = 'PT1M';

export const s3SourceSchema = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().min(3, 'must be an S3 bucket name'),
  prefix: z.string().default(''),
  organizationId: z
    .string()
    .regex(/^o-[a-z0-9]{10,32}$/, 'must be an organization id such as o-abc123defg')
    .optional(),
  accounts: z.array(accountId).min(1).optional(),
  regions: z.array(region).min(1).optional(),
  /** endpoint override for S3-compatible services and local tests (path-style addressing) */
  endpoint: httpUrl.optional(),
  /** region of the S3 client; defaults to $AWS_REGION, then us-east-1 */
  clientRegion: region.optional(),
  /** how long after the day a file may still be delivered and hold the day's events */
  lateDelivery: isoDuration.default('PT1H'),
  /** `watch`: how often it lists the trail for new objects when there is no notification queue (default PT1M) */
  pollInterval: isoDuration.optional(),
  /** `watch`: the SQS queue that receives the trail's log-file delivery notifications (instead of polling) */
  notifications: z.strictObject({ sqsQueueUrl: httpUrl, endpoint: httpUrl.optional() }).optional(),
});

export const directorySourceSchema = z.strictObject({
  type: z.literal('directory'),
  path: z.string().min(1),
  /** `watch`: how often it lists the folder for new files (default PT1M) */
  pollInterval: isoDuration.optional(),
});

export const lookupAccountSchema = z.strictObject({
  accountId,
  /** role to assume in that account; without it the default credential chain is used */
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')
    .optional(),
  externalId: z.string().min(2).optional(),
});

export const lookupEventsSourceSchema = z.strictObject({
  type: z.literal('lookupEvents'),
  /** regions to query; without them, every region enabled in the account (EC2 DescribeRegions) */
  regions: z.array(region).min(1).optional(),
  /** accounts to query; without them, the account of the default credential chain */
  accounts: z.array(lookupAccountSchema).min(1).optional(),
  /** `watch`: how often it asks for the events since its last request (default PT1M) */
  pollInterval: isoDuration.optional(),
  /** endpoint overrides for local tests */
  endpoint: httpUrl.optional(),
  stsEndpoint: httpUrl.optional(),
  ec2Endpoint: httpUrl.optional(),
});

export const sourceSchema = z.discriminatedUnion('type', [s3SourceSchema, lookupEventsSourceSchema, directorySourceSchema]);

const channelName = z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1-40 letters, digits, "_", "." or "-"');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
const channelCommon = {
  /** names the channel in notification ids; default "<type>-<position>" */
  name: channelName.optional(),
  /** how long deliveries are retried before the notification fails (default incidents.maxNotificationAge) */
  maxNotificationAge: isoDuration.optional(),
};

export const webhookChannelSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl,
  /** environment variable holding the HMAC-SHA256 signing secret; the secret itself never travels */
  secretEnv: envName.optional(),
  ...channelCommon,
});

export const slackChannelSchema = z
  .strictObject({
    type: z.literal('slack'),
    /** an incoming-webhook URL, or urlEnv naming an environment variable that holds it */
    url: httpUrl.optional(),
    urlEnv: envName.optional(),
    ...channelCommon,
  })
  .refine((c) => Boolean(c.url) !== Boolean(c.urlEnv), { message: 'a slack channel needs exactly one of url and urlEnv' });

export const snsChannelSchema = z.strictObject({
  type: z.literal('sns'),
  topicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+(\.fifo)?$/, 'must be an SNS topic ARN'),
  endpoint: httpUrl.optional(),
  ...channelCommon,
});

export const fileChannelSchema = z.strictObject({
  type: z.literal('file'),
  path: z.string().min(1),
  ...channelCommon,
});

export const securityHubChannelSchema = z.strictObject({
  type: z.literal('securityhub'),
  /** Security Hub's region; default $AWS_REGION, then us-east-1 */
  region: region.optional(),
  /** the importing account (the default product's); default the worker's, from STS */
  accountId: accountId.optional(),
  /** endpoint override for tests (Security Hub and STS) */
  endpoint: httpUrl.optional(),
  ...channelCommon,
});

export const channelSchema = z.union([webhookChannelSchema, slackChannelSchema, snsChannelSchema, fileChannelSchema, securityHubChannelSchema]);

const s3StoreSchema = z.strictObject({
  bucket: z.string().min(3),
  /** key prefix, e.g. "trailwarden/findings/"; default none */
  prefix: z.string().default(''),
  endpoint: httpUrl.optional(),
  /** the client's region, default $AWS_REGION, then us-east-1 */
  region: z.string().min(1).optional(),
});

export const payloadStorageSchema = z.discriminatedUnion('type', [
  s3StoreSchema.extend({ type: z.literal('s3') }),
  z.strictObject({ type: z.literal('directory'), path: z.string().min(1) }),
]);

export const configSchema = z.strictObject({
  sources: z.array(sourceSchema).default([]),
  /** options per rule id; checked against each rule's own schema by loadConfig */
  rules: z.record(z.string(), z.unknown()).default({}),
  /** `{ directory }` (one machine or a shared volume), or `{ s3: { bucket, prefix, endpoint? } }` (every machine) */
  findings: z
    .strictObject({ directory: z.string().min(1).optional(), s3: s3StoreSchema.optional() })
    .refine((f) => !(f.directory && f.s3), { message: 'give either "directory" or "s3", not both' })
    .default({}),
  /** where Temporal payloads above 256 KiB go (External Storage); none: they travel inline */
  payloadStorage: payloadStorageSchema.optional(),
  notifications: z.array(channelSchema).default([]),
  /** partition activities in flight at once across one scan (in batches of child workflows of 64) */
  maxConcurrentPartitions: z.number().int().min(1).max(1000).default(128),
  incidents: z
    .strictObject({
      /** turn findings into incidents (and notifications) after each scan */
      enabled: z.boolean().default(true),
      maxNotificationAge: isoDuration.default('PT24H'),
      /** evidence kept per incident; the total is always counted */
      evidenceLimit: z.number().int().min(1).max(1000).default(50),
    })
    .default({ enabled: true, maxNotificationAge: 'PT24H', evidenceLimit: 50 }),
  watch: z
    .strictObject({
      /** a day's watch ends this long after the day; the daily scan then reconciles it */
      dayEndsAfter: isoDuration.default('PT2H'),
      /** once a notification came, how long a round gathers more before it scans them together */
      batchWindow: isoDuration.default(DEFAULT_BATCH_WINDOW),
    })
    .default({ dayEndsAfter: 'PT2H', batchWindow: DEFAULT_BATCH_WINDOW }),
  /** the Web UI base URL used in notification links */
  webUiUrl: httpUrl.default('http://localhost:8233'),
  temporal: z
    .strictObject({
      address: z.string().min(1).optional(),
      namespace: z.string().min(1).optional(),
      taskQueue: z.string().min(1).optional(),
      /** TLS, and mutual TLS with a client certificate (Temporal Cloud, self-hosted clusters) */
      tls: z
        .strictObject({
          clientCertPath: z.string().min(1).optional(),
          clientKeyPath: z.string().min(1).optional(),
          serverCaCertPath: z.string().min(1).optional(),
          serverName: z.string().min(1).optional(),
        })
        .optional(),
      /** environment variable holding an API key (Temporal Cloud); the key itself never sits in config */
      apiKeyEnv: envName.optional(),
    })
    .default({}),
});

export type S3Source = z.infer<typeof s3SourceSchema>;
export type DirectorySource = z.infer<typeof directorySourceSchema>;
export type LookupEventsSource = z.infer<typeof lookupEventsSourceSchema>;
export type LookupAccount = z.infer<typeof lookupAccountSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
export type Source = z.infer<typeof sourceSchema>;
export type PayloadStorageConfig = z.infer<typeof payloadStorageSchema>;
export type RawConfig = z.infer<typeof configSchema>;
