/** Addresses of the real services globalSetup started, passed to test workers through the environment. */
export function temporalAddress(): string {
  const address = process.env.TW_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TW_TEST_TEMPORAL_ADDRESS is not set: run the tests with jest (globalSetup starts Temporal)');
  return address;
}

export function s3Endpoint(): string {
  const endpoint = process.env.TW_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('TW_TEST_S3_ENDPOINT is not set: run the tests with jest (globalSetup starts moto)');
  return endpoint;
}

/** Namespaces globalSetup creates on the dev server, for tests whose incidents must not meet others'. */
export const TEST_NAMESPACES = [
  'tw-inc-webhook',
  'tw-inc-reject',
  'tw-inc-kill',
  'tw-inc-thrice',
  'tw-inc-window',
  'tw-inc-slack',
  'tw-readable',
  'tw-multi-host',
  'tw-route-repair',
  'tw-extra-rule',
  'tw-securityhub',
  'tw-watch-sqs',
  'tw-watch-poll',
  'tw-watch-lookup',
  'tw-watch-batch',
] as const;
