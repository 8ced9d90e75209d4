import { ActivityFailure, ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { NamedChannel } from '../config/load';
import type { IncidentNotice } from '../notify/notice';
import { NotificationStatus } from './search-attributes';

export interface NotificationInput {
  /** also the idempotency key every attempt carries */
  notificationId: string;
  channel: NamedChannel;
  notice: IncidentNotice;
  indexed?: boolean;
}

/**
 * Delivers one incident to one channel, exactly once per workflow id: retries with exponential
 * backoff for as long as the channel's maxNotificationAge, then fails visibly.
 */
export async function NotificationWorkflow(input: NotificationInput): Promise<{ deliveredTo: string }> {
  const { deliverNotification } = proxyActivities<typeof activities>({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: input.channel.maxNotificationAgeMs,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '10 minutes',
      nonRetryableErrorTypes: ['PermanentDeliveryError'],
    },
  });
  const status = (value: 'Pending' | 'Delivered' | 'Failed') => {
    if (input.indexed) upsertSearchAttributes([{ key: NotificationStatus, value }]);
  };
  status('Pending');
  setCurrentDetails(`delivering to ${input.channel.type} channel ${input.channel.name}`);
  try {
    await deliverNotification({ channel: input.channel, notice: input.notice, idempotencyKey: input.notificationId });
  } catch (error) {
    status('Failed');
    const cause = error instanceof ActivityFailure ? error.cause : error;
    const message = cause instanceof Error ? cause.message : String(cause);
    setCurrentDetails(`**failed**: ${message}`);
    throw ApplicationFailure.nonRetryable(`notification to ${input.channel.name} failed: ${message}`, 'NotificationFailed');
  }
  status('Delivered');
  setCurrentDetails(`delivered to ${input.channel.type} channel ${input.channel.name}`);
  return { deliveredTo: input.channel.name };
}
