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
