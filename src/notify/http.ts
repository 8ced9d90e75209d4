import { PermanentDeliveryError, isRetryableStatus } from './errors';

/**
 * POSTs one body. A retryable answer (5xx, 408, 429) or a network error throws a plain Error, which
 * Temporal's retry policy retries; any other non-2xx throws PermanentDeliveryError.
 */
export async function postBody(url: string, body: string, headers: Record<string, string>, what: string): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(20_000) });
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause: Error }).cause.message})` : ''}`);
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return response.status;
  const detail = `${what}: HTTP ${response.status}${text ? ` ${text.slice(0, 200)}` : ''}`;
  if (isRetryableStatus(response.status)) throw new Error(detail);
  throw new PermanentDeliveryError(detail);
}
