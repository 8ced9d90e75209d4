import { createHmac } from 'node:crypto';
import { postBody } from './http';
import type { IncidentNotice } from './notice';

export const SIGNATURE_HEADER = 'X-Trailwarden-Signature';

/** "sha256=<hex HMAC-SHA256 of the exact body bytes>" */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * A JSON POST of the notice. The same Idempotency-Key goes with every attempt, so a receiver can
 * accept it once; with a secret, the body is signed.
 */
export async function sendWebhook(url: string, secret: string | undefined, notice: IncidentNotice, idempotencyKey: string): Promise<void> {
  const body = JSON.stringify({ type: 'trailwarden.incident.opened', idempotencyKey, incident: notice });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'Idempotency-Key': idempotencyKey, 'User-Agent': 'trailwarden' };
  if (secret) headers[SIGNATURE_HEADER] = signBody(body, secret);
  await postBody(url, body, headers, `webhook ${new URL(url).host}`);
}
