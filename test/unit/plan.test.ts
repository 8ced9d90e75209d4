import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planGroups, planPartitions, planScan } from '../../src/activities/plan';
import type { PlanGroup, ScanPlan } from '../../src/activities/types';
import { parseConfig } from '../../src/config/load';

describe('planPartitions', () => {
  test('heartbeats from its start, so that a worker killed while planning is noticed by the heartbeat timeout', async () => {
    const config = parseConfig({
      sources: [
        { type: 'directory', path: '/var/log/a' },
        { type: 'directory', path: '/var/log/b' },
      ],
    });
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const groups: PlanGroup[] = await env.run(planPartitions, { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory });
    expect(groups).toEqual([
      { sourceIndex: 0, directory: true },
      { sourceIndex: 1, directory: true },
    ]);
    expect(beats).toBeGreaterThanOrEqual(1);
  });
});

describe('planScan and planGroups', () => {
  const config = parseConfig({ sources: Array.from({ length: 40 }, (_, i) => ({ type: 'directory', path: `/var/log/${i}` })) });
  const scanConfig = { sources: config.sources, rules: config.rules, findingsDirectory: config.findingsDirectory };

  test('a small plan travels inline; a large one is kept in the scan store, and each slice of it reads back as planPartitions gave it', async () => {
    const findingsDirectory = mkdtempSync(join(tmpdir(), 'tw-plan-'));
    const store = { findingsDirectory };
    const env = new MockActivityEnvironment();
    const groups: PlanGroup[] = await env.run(planPartitions, scanConfig);
    const inline: ScanPlan = await env.run(planScan, { config: scanConfig, scanId: 'scan-a', store });
    expect(inline.counts).toEqual(groups.map(() => 1));
    expect(inline.groups.key).toBeUndefined();
    expect(readdirSync(findingsDirectory)).toEqual([]);

    process.env.TRAILWARDEN_INLINE_LINES_BYTES = '100';
    try {
      const stored: ScanPlan = await env.run(planScan, { config: scanConfig, scanId: 'scan-b', store });
      expect(stored.groups).toEqual({ lines: 40, key: 'plan.jsonl' });
      expect(JSON.stringify(stored)).not.toContain('/var/log/');
      expect(await env.run(planGroups, { scanId: 'scan-b', store, groups: stored.groups, firstGroup: 7, groupCount: 5 })).toEqual(groups.slice(7, 12));
      expect(await env.run(planGroups, { scanId: 'scan-b', store, groups: stored.groups, firstGroup: 38, groupCount: 5 })).toEqual(groups.slice(38));
    } finally {
      delete process.env.TRAILWARDEN_INLINE_LINES_BYTES;
    }
  });
});
