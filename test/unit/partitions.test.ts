import type { PlanGroup } from '../../src/activities/types';
import type { Source } from '../../src/config/schema';
import { partitionSpec, partitionsOf } from '../../src/workflows/partitions';

const SOURCES: Source[] = [
  { type: 'directory', path: '/logs' },
  { type: 's3', bucket: 'trail', prefix: '' } as Source,
  { type: 'lookupEvents', accounts: [] } as unknown as Source,
];

describe('partitions', () => {
  it('gives each partition its kind, with the location that kind carries', () => {
    const groups: PlanGroup[] = [
      { sourceIndex: 0, directory: true },
      { sourceIndex: 1, s3: { base: 'AWSLogs/', accountId: '111122223333', regions: ['us-east-1', 'eu-west-1'] } },
      { sourceIndex: 2, lookup: { accountId: '444455556666', regions: ['us-east-1'] } },
    ];
    const partitions = partitionsOf(groups, SOURCES, 10);
    expect(partitions.map((p) => [p.id, p.kind])).toEqual([
      ['10-dir', 'directory'],
      ['11-s3-111122223333-us-east-1', 's3'],
      ['12-s3-111122223333-eu-west-1', 's3'],
      ['13-lookup-444455556666-us-east-1', 'lookup'],
    ]);
    const s3 = partitions[2];
    expect(s3.kind === 's3' && s3.s3).toEqual({ base: 'AWSLogs/', accountId: '111122223333', region: 'eu-west-1' });
    const lookup = partitions[3];
    expect(lookup.kind === 'lookup' && lookup.lookup).toEqual({ accountId: '444455556666', region: 'us-east-1' });
  });

  it('reads the kind of a partition recorded before kind existed from its s3 or lookup field', () => {
    const base = { id: '0', sourceIndex: 0, label: 'x' };
    expect(partitionSpec(base)).toEqual({ ...base, kind: 'directory' });
    expect(partitionSpec({ ...base, s3: { base: '', accountId: '1', region: 'r' } })).toEqual({
      ...base,
      kind: 's3',
      s3: { base: '', accountId: '1', region: 'r' },
    });
    expect(partitionSpec({ ...base, lookup: { accountId: '1', region: 'r' } })).toEqual({ ...base, kind: 'lookup', lookup: { accountId: '1', region: 'r' } });
    const current = { ...base, kind: 'lookup' as const, lookup: { accountId: '2', region: 'q' } };
    expect(partitionSpec(current)).toBe(current);
  });
});
