import { ApplicationFailure, CancelledFailure, ServerFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/client';
import { PERMANENT_SOURCE_ERROR, failureRoot } from '../common/failure';

/** A failure the CLI reports as one line, `trailwarden: <what> failed<where>: <root cause>`, exit 1. */
export class CliFailure extends Error {
  override name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Error types whose name says nothing the message does not (ours, or the SDK's generic ones). */
const QUIET_TYPES = new Set(['Error', PERMANENT_SOURCE_ERROR, 'InvalidInput', 'ApplicationFailure', undefined, null, '']);

const CREDENTIAL_CODES = [
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
  'Could not load credentials',
  'ExpiredToken',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'AccessDenied',
  'AuthorizationHeaderMalformed',
];

const NETWORK_CODES = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'];

export interface RootCause {
  /** the steps the failure passed through, outermost first ("child scan-2026-11-02", "activity planScan") */
  steps: string[];
  /** the innermost failure's own words */
  message: string;
}

/** One line, without the AWS SDK's wrapper text around errors it did not recognise as errors. */
export function flat(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/AWS SDK error wrapper for (Error: )?/g, '')
    .trim();
}

function ownMessage(failure: unknown): string {
  if (failure instanceof TimeoutFailure) {
    const kind = String(failure.timeoutType ?? '')
      .replace(/^TIMEOUT_TYPE_/, '')
      .toLowerCase()
      .replace(/_/g, '-');
    return kind === 'heartbeat' ? 'heartbeat timeout: the worker running it stopped answering (was it stopped or killed?)' : `${kind || 'a'} timeout`;
  }
  if (failure instanceof CancelledFailure) return 'cancelled';
  if (failure instanceof TerminatedFailure) return `terminated${failure.message && failure.message !== 'Terminated' ? ` (${failure.message})` : ''}`;
  if (failure instanceof ApplicationFailure) {
    const message = flat(failure.message || '');
    return !QUIET_TYPES.has(failure.type) && !message.includes(String(failure.type)) ? `${failure.type}: ${message}` : message;
  }
  if (failure instanceof ServerFailure) return flat(failure.message);
  if (failure instanceof Error) {
    const code = (failure as NodeJS.ErrnoException).code;
    const message = flat(failure.message || failure.name);
    return code && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(failure);
}

/** Follows a failure's cause chain (workflow → child workflow → activity → application failure): src/common/failure.ts. */
export function rootCause(error: unknown): RootCause {
  const { steps, root } = failureRoot(error);
  return { steps, message: ownMessage(root) };
}

/** A hint for the usual root causes; `embedded` says whose credentials and network the worker had. */
export function hintFor(message: string, embedded: boolean): string | undefined {
  if (CREDENTIAL_CODES.some((code) => message.includes(code))) {
    return embedded
      ? 'the embedded worker used the AWS credentials of this shell: AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws'
      : "the worker's AWS credentials are the ones used, not this shell's; --embedded uses this shell's";
  }
  if (NETWORK_CODES.some((code) => message.includes(code))) {
    return `the ${embedded ? 'embedded ' : ''}worker could not reach the endpoint: check the network, the source's endpoint and AWS_REGION`;
  }
  if (message.includes('NoSuchBucket')) return "check the source's bucket name, and its endpoint for S3-compatible services";
  if (message.includes('heartbeat timeout')) return 'is a worker still running on the task queue?';
  return undefined;
}

/** `<what> failed[ in <step>]: <root cause>[ (hint: …)]`, without the "trailwarden: " prefix. */
export function describeFailure(what: string, error: unknown, options: { embedded?: boolean; logFile?: string } = {}): string {
  const { steps, message } = rootCause(error);
  const where = steps.length ? ` in ${steps.join(' → ')}` : '';
  const hint = hintFor(message, Boolean(options.embedded));
  const extras = [hint && `hint: ${hint}`, options.logFile && `worker log: ${options.logFile}`].filter(Boolean);
  return `${what} failed${where}: ${message}${extras.length ? ` (${extras.join('; ')})` : ''}`;
}
