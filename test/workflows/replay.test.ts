import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

const HISTORIES = join(__dirname, '..', 'fixtures', 'histories');

/** Histories recorded from real runs (scripts/record-history.js) must replay on today's workflow code. */
describe('replay of recorded histories', () => {
  const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json');
  const workflowIds = JSON.parse(readFileSync(join(HISTORIES, 'workflow-ids.json'), 'utf8')) as Record<string, string>;

  test('there is at least one recorded history', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  test.each(files)('%s replays without non-determinism', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')));
    expect(history.events?.length).toBeGreaterThan(10);
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history, workflowIds[file]);
  });

  test('a history whose activities differ from the code is detected as non-deterministic', async () => {
    const json = JSON.parse(readFileSync(join(HISTORIES, 'scan-batch.json'), 'utf8'));
    const scheduled = json.events.find(
      (e: { activityTaskScheduledEventAttributes?: { activityType?: { name: string } } }) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'scanPartition',
    );
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'someOtherActivity';
    await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, historyFromJSON(json))).rejects.toThrow(
      /[Nn]ondeterminism|DeterminismViolation/,
    );
  });
});
