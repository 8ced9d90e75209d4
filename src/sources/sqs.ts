import type { SQSClient } from '@aws-sdk/client-sqs';
import type { S3Source } from '../config/schema';
import { SOCKET_TIMEOUTS, classifyAwsError } from './errors';
import { once } from '../common/once';

/** One object a delivery notification names, with when it was notified (epoch ms). */
export interface ObjectNotice {
  bucket: string;
  key: string;
  notifiedMs: number;
}

/** A received message: the objects it names (none for a test event or a body we do not know), and its receipt. */
export interface ReceivedMessage {
  receiptHandle: string;
  /** when SQS took it (epoch ms) */
  sentMs: number;
  objects: ObjectNotice[];
  /** why it names no object: an S3 test event, or a body that is neither format */
  ignored?: string;
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function timeOr(text: unknown, fallbackMs: number): number {
  const ms = typeof text === 'string' ? Date.parse(text) : NaN;
  return Number.isNaN(ms) ? fallbackMs : ms;
}

/**
 * The objects a notification body names, in either format AWS users set up:
 * - CloudTrail's SNS topic subscribed to the queue: an SNS envelope (`Type: Notification`) whose
 *   `Message` is `{"s3Bucket": ..., "s3ObjectKey": [...]}` (or that message alone, with raw delivery);
 * - S3 event notifications to the queue: `{"Records": [{"eventSource": "aws:s3", "s3": {...}}]}`, keys
 *   URL-encoded with `+` for spaces.
 */
export function parseNotification(body: string, sentMs: number): Omit<ReceivedMessage, 'receiptHandle' | 'sentMs'> {
  let json: Json | undefined;
  try {
    json = asObject(JSON.parse(body));
  } catch {
    return { objects: [], ignored: 'not JSON' };
  }
  if (!json) return { objects: [], ignored: 'not a JSON object' };
  if (json.Type === 'Notification' && typeof json.Message === 'string') return parseNotification(json.Message, timeOr(json.Timestamp, sentMs));
  if (typeof json.s3Bucket === 'string' && Array.isArray(json.s3ObjectKey)) {
    const keys = json.s3ObjectKey.filter((key): key is string => typeof key === 'string');
    return { objects: keys.map((key) => ({ bucket: json.s3Bucket as string, key, notifiedMs: sentMs })) };
  }
  if (json.Event === 's3:TestEvent') return { objects: [], ignored: 'S3 test event' };
  if (Array.isArray(json.Records)) {
    const objects: ObjectNotice[] = [];
    for (const record of json.Records.map(asObject)) {
      const bucket = asObject(asObject(record?.s3)?.bucket)?.name;
      const key = asObject(asObject(record?.s3)?.object)?.key;
      if (record?.eventSource !== 'aws:s3' || typeof bucket !== 'string' || typeof key !== 'string') continue;
      if (typeof record.eventName === 'string' && !record.eventName.startsWith('ObjectCreated:')) continue;
      // the message's own send time: S3 emulators write eventTime without a zone
      objects.push({ bucket, key: decodeURIComponent(key.replace(/\+/g, ' ')), notifiedMs: sentMs });
    }
    return objects.length ? { objects } : { objects, ignored: 'S3 event without created objects' };
  }
  return { objects: [], ignored: 'neither a CloudTrail nor an S3 event notification' };
}

const sqsSdk = once(() => import('@aws-sdk/client-sqs'));

const clients = new Map<string, Promise<SQSClient>>();

/** The queue's region from its URL (https://sqs.<region>.amazonaws.com/...), else the environment's. */
function queueRegion(queueUrl: string): string {
  return /\bsqs[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(queueUrl)?.[1] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

function sqsClient(notifications: NonNullable<S3Source['notifications']>): Promise<SQSClient> {
  const region = queueRegion(notifications.sqsQueueUrl);
  const key = JSON.stringify([region, notifications.endpoint ?? '']);
  let client = clients.get(key);
  if (!client) {
    client = sqsSdk().then(
      ({ SQSClient }) => new SQSClient({ region, requestHandler: SOCKET_TIMEOUTS, ...(notifications.endpoint ? { endpoint: notifications.endpoint } : {}) }),
    );
    clients.set(key, client);
  }
  return client;
}

/**
 * Receives up to 10 messages, waiting at most `waitSeconds` for the first (long polling). Each stays
 * invisible to other receivers for `visibilitySeconds`: it comes back if it is not deleted by then.
 */
export async function receiveNotifications(source: S3Source, waitSeconds: number, visibilitySeconds: number): Promise<ReceivedMessage[]> {
  const notifications = source.notifications!;
  const { ReceiveMessageCommand } = await sqsSdk();
  const client = await sqsClient(notifications);
  try {
    const response = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: notifications.sqsQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: visibilitySeconds,
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    return (response.Messages ?? []).map((message) => {
      const sentMs = Number(message.Attributes?.SentTimestamp ?? Date.now());
      return { receiptHandle: message.ReceiptHandle ?? '', sentMs, ...parseNotification(message.Body ?? '', sentMs) };
    });
  } catch (error) {
    throw classifyAwsError(error, `receiving from ${notifications.sqsQueueUrl}`);
  }
}

/** Deletes handled messages, 10 per request; a message that fails to go comes back and is found scanned. */
export async function deleteNotifications(source: S3Source, receiptHandles: readonly string[]): Promise<number> {
  const notifications = source.notifications!;
  const { DeleteMessageBatchCommand } = await sqsSdk();
  const client = await sqsClient(notifications);
  let deleted = 0;
  for (let i = 0; i < receiptHandles.length; i += 10) {
    const batch = receiptHandles.slice(i, i + 10);
    try {
      const response = await client.send(
        new DeleteMessageBatchCommand({ QueueUrl: notifications.sqsQueueUrl, Entries: batch.map((handle, n) => ({ Id: String(n), ReceiptHandle: handle })) }),
      );
      deleted += response.Successful?.length ?? 0;
    } catch (error) {
      throw classifyAwsError(error, `deleting from ${notifications.sqsQueueUrl}`);
    }
  }
  return deleted;
}
