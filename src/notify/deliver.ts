import type { NamedChannel } from '../config/load';
import { PermanentDeliveryError } from './errors';
import { writeToFile } from './file';
import type { IncidentNotice } from './notice';
import { sendSecurityHub } from './securityhub';
import { sendSlack } from './slack';
import { sendSns } from './sns';
import { sendWebhook } from './webhook';

function fromEnv(name: string, channel: string): string {
  const value = process.env[name];
  if (!value) throw new PermanentDeliveryError(`channel ${channel}: environment variable ${name} is not set on this worker`);
  return value;
}

/** Delivers one notice to one channel; secrets are read here, on the worker, never from payloads. */
export async function deliver(channel: NamedChannel, notice: IncidentNotice, idempotencyKey: string): Promise<void> {
  switch (channel.type) {
    case 'webhook':
      return sendWebhook(channel.url, channel.secretEnv ? fromEnv(channel.secretEnv, channel.name) : undefined, notice, idempotencyKey);
    case 'slack':
      return sendSlack(channel.url ?? fromEnv(channel.urlEnv ?? '', channel.name), notice);
    case 'sns':
      return sendSns(channel.topicArn, channel.endpoint, notice, idempotencyKey);
    case 'file':
      return writeToFile(channel.path, notice, idempotencyKey);
    case 'securityhub':
      return sendSecurityHub(channel, notice);
  }
}
