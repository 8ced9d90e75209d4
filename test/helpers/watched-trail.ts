import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { s3Endpoint } from './services';

export const s3 = () => new S3Client({ endpoint: s3Endpoint(), forcePathStyle: true, region: 'us-east-1' });
export const sqs = () => new SQSClient({ endpoint: s3Endpoint(), region: 'us-east-1' });

/**
 * A day's objects in delivery order, as a trail delivers them, with what CLOUDTRAIL.md allows: two
 * pairs landing out of key order, and the next day's (`nextDay`) late file last.
 */
export function deliveryOrder(files: Map<string, Buffer>, nextDay: string): string[] {
  const keys = [...files.keys()].sort();
  const late = keys.filter((key) => key.includes(`/${nextDay.replace(/-/g, '/')}/`));
  const order = keys.filter((key) => !late.includes(key));
  for (const at of [3, 9]) [order[at], order[at + 1]] = [order[at + 1], order[at]];
  return [...order, ...late];
}

/** A moto bucket whose S3 event notifications (ObjectCreated) go to a queue of the same name; its URL. */
export async function notifiedBucket(bucket: string): Promise<string> {
  await s3().send(new CreateBucketCommand({ Bucket: bucket }));
  const queue = await sqs().send(new CreateQueueCommand({ QueueName: bucket }));
  const arn = (await sqs().send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
  await s3().send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:*'] }] },
    }),
  );
  return queue.QueueUrl!;
}
