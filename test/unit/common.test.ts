import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { DAY_MS, daysBetween, shiftDay } from '../../src/common/days';
import { failureMessage, failureRoot } from '../../src/common/failure';
import { inLanes } from '../../src/common/lanes';

describe('the shared pure helpers', () => {
  test('days: the length of a UTC day, the days of a range, a day shifted', () => {
    expect(DAY_MS).toBe(24 * 60 * 60 * 1000);
    expect(daysBetween('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(daysBetween('2026-03-02', '2026-03-01')).toEqual([]);
    expect(shiftDay('2026-03-01', -1)).toBe('2026-02-28');
    expect(shiftDay('2026-12-31', 1)).toBe('2027-01-01');
  });

  test('a failure root: through child workflows and activities to the application failure, not its cause', () => {
    const inner = new Error('socket hang up');
    const application = ApplicationFailure.create({ message: 'NoSuchBucket', type: 'PermanentSourceError', nonRetryable: true, cause: inner });
    const activity = new ActivityFailure('Activity task failed', 'scanPartition', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', application);
    const child = new ChildWorkflowFailure(
      'default',
      { workflowId: 'scan-batch-0', runId: 'r' },
      'ScanBatchWorkflow',
      RetryState.NON_RETRYABLE_FAILURE,
      activity,
    );
    expect(failureRoot(child)).toEqual({ steps: ['child scan-batch-0', 'activity scanPartition'], root: application });
    expect(failureMessage(child)).toBe('NoSuchBucket');
    const timeout = new ActivityFailure(
      'Activity task timed out',
      'scanPartition',
      '2',
      RetryState.TIMEOUT,
      'worker',
      new TimeoutFailure('heartbeat', undefined, TimeoutType.HEARTBEAT),
    );
    expect(failureMessage(timeout)).toBe('heartbeat');
    expect(failureMessage('not an error')).toBe('not an error');
  });

  test('lanes: at most `concurrency` in flight, items taken in order, results in item order', async () => {
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const results = await inLanes([5, 1, 4, 2, 3, 0], 2, async (item, index) => {
      started.push(item);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, item * 3));
      inFlight--;
      return `${index}:${item}`;
    });
    expect(most).toBe(2);
    expect(started).toEqual([5, 1, 4, 2, 3, 0]);
    expect(results).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3', '5:0']);
    expect(await inLanes([], 4, async () => 1)).toEqual([]);
  });
});
