/** A delivery that retrying cannot fix (4xx other than 408 and 429, a bad topic): stop at once. */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';
}

/** HTTP statuses worth retrying: server errors, request timeout, too many requests. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
