import { PermanentDeliveryError } from './errors';
import type { IncidentNotice } from './notice';

const PERMANENT_SNS_ERRORS = new Set([
  'AuthorizationErrorException',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'NotFoundException',
  'KMSAccessDeniedException',
  'InvalidSecurityException',
  'AccessDenied',
  'AccessDeniedException',
]);

/** Publishes the notice to an SNS topic; FIFO topics deduplicate on the idempotency key themselves. */
export async function sendSns(topicArn: string, endpoint: string | undefined, notice: IncidentNotice, idempotencyKey: string): Promise<void> {
  // loaded on first use: the SNS client adds ~14 MB to every worker that never publishes
  const { PublishCommand, SNSClient } = await import('@aws-sdk/client-sns');
  const region = topicArn.split(':')[3];
  const client = new SNSClient({ region, maxAttempts: 1, ...(endpoint ? { endpoint } : {}) });
  const fifo = topicArn.endsWith('.fifo');
  try {
    await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: `${notice.severity}: ${notice.ruleName}`.slice(0, 100),
        Message: JSON.stringify({ type: 'trailwarden.incident.opened', idempotencyKey, incident: notice }),
        MessageAttributes: { idempotencyKey: { DataType: 'String', StringValue: idempotencyKey } },
        ...(fifo ? { MessageGroupId: notice.ruleId, MessageDeduplicationId: idempotencyKey.slice(-128) } : {}),
      }),
    );
  } catch (error) {
    const name = (error as Error).name;
    const message = `sns ${topicArn}: ${name}: ${(error as Error).message}`;
    if (PERMANENT_SNS_ERRORS.has(name)) throw new PermanentDeliveryError(message);
    throw new Error(message);
  } finally {
    client.destroy();
  }
}
