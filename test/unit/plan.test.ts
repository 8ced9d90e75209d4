import { MockActivityEnvironment } from '@temporalio/testing';
import { planPartitions } from '../../src/activities/plan';
import type { PlanGroup } from '../../src/activities/types';
import { parseConfig } from '../../src/config/load';

describe('planPartitions', () => {
  test('heartbeats from its start, so that a worker killed while planning is noticed by the heartbeat timeout', async () => {
    const config = parseConfig({ sources: [{ type: 'directory', path: '/var/log/a' }, { type: 'directory', path: '/var/log/b' }] });
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const groups: PlanGroup[] = await env.run(planPartitions, { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory });
    expect(groups).toEqual([{ sourceIndex: 0, directory: true }, { sourceIndex: 1, directory: true }]);
    expect(beats).toBeGreaterThanOrEqual(1);
  });
});
