/**
 * Socket timeouts of the source clients (S3, SQS): a request whose connection stays silent this long
 * fails, and the activity's retry takes over, where it would otherwise hang while the activity's own
 * heartbeat timer kept it alive. Above SQS's longest long poll (20 s); a download that keeps sending
 * data is never cut.
 */
export const SOCKET_TIMEOUTS = { connectionTimeout: 10_000, requestTimeout: 60_000 };

/** An error retrying cannot fix (access denied, missing bucket, bad path): fail fast and say why. */
export class PermanentSourceError extends Error {
  override name = 'PermanentSourceError';
}

const PERMANENT_AWS_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
  'InvalidBucketName',
  'AuthorizationHeaderMalformed',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'CredentialsProviderError',
]);

/** Turns an AWS SDK error into a PermanentSourceError when retrying cannot help; others pass through. */
export function classifyAwsError(error: unknown, what: string): Error {
  const err = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = err?.name ?? err?.Code ?? 'Error';
  const status = err?.$metadata?.httpStatusCode;
  if (PERMANENT_AWS_ERRORS.has(code) || status === 403 || (status === 404 && code !== 'NoSuchKey')) {
    return new PermanentSourceError(`${what}: ${code}${err?.message && err.message !== code ? ` (${err.message})` : ''}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
