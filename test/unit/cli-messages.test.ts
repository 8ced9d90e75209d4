import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { findingsTableOf, FINDINGS_TABLE_ROWS } from '../../src/activities/findings-table';
import { describeFailure, rootCause } from '../../src/cli/failure';
import { closestKey, editDistance, parseConfig, withoutComments } from '../../src/config/load';
import type { Finding } from '../../src/rules/types';

describe('the one-line failure', () => {
  const application = ApplicationFailure.create({
    message: 's3 source bucket "trail": NoSuchBucket (The specified bucket does not exist)',
    type: 'PermanentSourceError',
    nonRetryable: true,
  });
  const activity = new ActivityFailure('Activity task failed', 'planPartitions', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', application);
  const child = new ChildWorkflowFailure(
    'default',
    { workflowId: 'scan-2026-11-02', runId: 'r' },
    'DailyScanWorkflow',
    RetryState.NON_RETRYABLE_FAILURE,
    activity,
  );

  test('follows workflow → child → activity → application failure', () => {
    const error = new WorkflowFailedError('Workflow execution failed', child, RetryState.NON_RETRYABLE_FAILURE);
    expect(rootCause(error)).toEqual({ steps: ['child scan-2026-11-02', 'activity planPartitions'], message: application.message });
    expect(describeFailure('re-run of 2026-11-01 .. 2026-11-02', error)).toBe(
      're-run of 2026-11-01 .. 2026-11-02 failed in child scan-2026-11-02 → activity planPartitions: s3 source bucket "trail": NoSuchBucket ' +
        "(The specified bucket does not exist) (hint: check the source's bucket name, and its endpoint for S3-compatible services)",
    );
  });

  test("names an unusual failure type, not the SDK's generic ones; a heartbeat timeout says what it means", () => {
    const typed = ApplicationFailure.create({ message: 'rate exceeded', type: 'ThrottlingException' });
    expect(rootCause(typed).message).toBe('ThrottlingException: rate exceeded');
    expect(rootCause(ApplicationFailure.create({ message: 'getaddrinfo ENOTFOUND x', type: 'Error' })).message).toBe('getaddrinfo ENOTFOUND x');
    const timeout = new ActivityFailure('x', 'scanPartition', '2', RetryState.TIMEOUT, 'w', new TimeoutFailure('timed out', undefined, TimeoutType.HEARTBEAT));
    expect(describeFailure('scan of D', timeout)).toMatch(
      /failed in activity scanPartition: heartbeat timeout: the worker running it stopped answering .*hint: is a worker still running/,
    );
  });

  test('credential errors say whose credentials were used', () => {
    const creds = ApplicationFailure.create({ message: 'bucket "b": InvalidAccessKeyId (no such key)', type: 'PermanentSourceError' });
    expect(describeFailure('scan', creds, { embedded: false })).toContain(
      "hint: the worker's AWS credentials are the ones used, not this shell's; --embedded uses this shell's",
    );
    expect(describeFailure('scan', creds, { embedded: true })).toContain('hint: the embedded worker used the AWS credentials of this shell');
  });
});

describe('config keys', () => {
  test('edit distance and the closest known key', () => {
    expect(editDistance('bukcet', 'bucket')).toBe(2);
    expect(closestKey('bukcet', ['type', 'bucket', 'prefix'])).toBe('bucket');
    expect(closestKey('colour', ['type', 'bucket', 'prefix'])).toBeUndefined();
    expect(closestKey('regoins', ['regions', 'accounts'])).toBe('regions');
  });

  test('a typo is named with its suggestion, in sources, nested objects and the top level', () => {
    expect(() => parseConfig({ sources: [{ type: 's3', bukcet: 'x' }] })).toThrow('config: sources.0: unknown key "bukcet" (did you mean "bucket"?)');
    expect(() => parseConfig({ sources: [{ type: 'lookupEvents', accounts: [{ accountID: '111122223333' }] }] })).toThrow(
      'sources.0.accounts.0: unknown key "accountID" (did you mean "accountId"?)',
    );
    expect(() => parseConfig({ source: [] })).toThrow('unknown key "source" (did you mean "sources"?)');
    expect(() => parseConfig({ sources: [{ type: 'directory', path: '.', color: 'red' }] })).toThrow(/sources\.0: unknown key "color"$/);
  });

  test('"//" keys are comments, in any object', () => {
    expect(withoutComments({ '//': 'x', a: [{ '//b': 1, c: 2 }] })).toEqual({ a: [{ c: 2 }] });
    expect(parseConfig({ '//': ['a comment'], sources: [{ '//': 'mine', type: 'directory', path: '/tmp' }] }).sources).toEqual([
      { type: 'directory', path: '/tmp' },
    ]);
  });
});

describe("a scan run's findings table", () => {
  const rule1 = (i: number) =>
    ({
      id: `f-${i}`,
      ruleId: 'PH_Rule_ES_IMPORT_AWS_15',
      ruleName: 'AWS Execution via System Manager',
      severity: 'Low',
      accountId: '111122223333',
      user: `u|${i}`,
      firstSeen: '2026-11-02T10:00:00Z',
    }) as unknown as Finding;

  test('rule, severity, account, user, bucket and time; capped, with the rest counted; pipes escaped', () => {
    const table = findingsTableOf(
      Array.from({ length: 25 }, (_, i) => rule1(i)),
      25,
    );
    const lines = table.split('\n');
    expect(lines[0]).toBe('| rule | severity | account | user | bucket | time |');
    expect(lines.filter((l) => l.startsWith('| AWS Execution'))).toHaveLength(FINDINGS_TABLE_ROWS);
    expect(lines[2]).toBe('| AWS Execution via System Manager | Low | 111122223333 | u\\|0 | — | 2026-11-02T10:00:00Z |');
    expect(table).toContain('… and 5 more finding(s)');
    expect(findingsTableOf([], 0)).toBe('');
  });
});
