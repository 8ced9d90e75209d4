import type { CloudTrailRecord } from '../../src/cloudtrail/record';
import { findingId } from '../../src/rules/finding-id';
import { optionsSchema, ssmCommandExecution as rule, type SsmCommandExecutionSelected } from '../../src/rules/ssm-command-execution';
import type { ScanPeriod, SsmCommandExecutionFinding } from '../../src/rules/types';
import { ACCOUNT, between, day, iamUser, instanceRole, loadSample, reorder, roundTrip, sendCommand, ssoSession } from './fixtures';

const RULE_ID = 'PH_Rule_ES_IMPORT_AWS_15';
const D = day('2026-11-25');

function options(input: Record<string, unknown> = {}) {
  return optionsSchema.parse(input);
}

function selectAll(records: CloudTrailRecord[], input: Record<string, unknown> = {}): SsmCommandExecutionSelected[] {
  const opts = options(input);
  return records.flatMap((r) => rule.select(r, opts) ?? []);
}

function run(records: CloudTrailRecord[], period: ScanPeriod = D, input: Record<string, unknown> = {}): SsmCommandExecutionFinding[] {
  const opts = options(input);
  return rule.correlate(roundTrip(selectAll(records, input)), period, opts) as SsmCommandExecutionFinding[];
}

/** SendCommand by alice at the given time, with a unique eventID. */
function at(eventTime: string, id: string, extra: Parameters<typeof sendCommand>[0] = {}): CloudTrailRecord {
  return sendCommand({ eventTime, eventID: id, ...extra });
}

const epochSeconds = (iso: string) => Date.parse(iso) / 1000;

describe('rule card', () => {
  test('identity, severity and MITRE mapping follow the FortiSIEM seed', () => {
    expect(rule.id).toBe(RULE_ID);
    expect(rule.name).toBe('AWS Execution via System Manager');
    expect(rule.severity).toBe('Low');
    expect(rule.tactics).toEqual(['Execution']);
    expect(rule.techniques).toEqual(['T1059.006']);
  });

  test('a finding reads as who sent how many commands where and when; its id is made of its identity', () => {
    const [finding] = run([at('2026-11-25T10:01:12Z', 'a'), at('2026-11-25T10:03:00Z', 'b', { errorCode: 'AccessDenied' })]);
    expect(rule.view(finding)).toEqual({
      title: `alice sent 2 SSM command(s), 1 failed in account ${ACCOUNT}, 2026-11-25T10:00:00Z .. 2026-11-25T10:05:00Z`,
      fields: { Account: ACCOUNT, User: 'alice', Window: '2026-11-25T10:00:00Z .. 2026-11-25T10:05:00Z', Events: '2', Failed: '1' },
      accountId: ACCOUNT,
      users: ['alice'],
      ips: [],
      buckets: [],
    });
    expect(rule.identity(finding)).toEqual([ACCOUNT, 'alice', String(epochSeconds('2026-11-25T10:00:00Z'))]);
    expect(findingId(RULE_ID, ...rule.identity(finding))).toBe(finding.id);
    expect(rule.view({ ...finding, user: '' }).title.startsWith('an unknown caller sent 2')).toBe(true);
  });

  test('eventNames is SendCommand and lookbackMs is 0', () => {
    expect(rule.eventNames(options())).toEqual(['SendCommand']);
    expect(rule.lookbackMs(options())).toBe(0);
    expect(rule.lookbackMs(options({ threshold: 5, successOnly: true }))).toBe(0);
  });

  test('a disabled rule selects nothing, finds nothing and needs no events', () => {
    const opts = options({ enabled: false });
    expect(rule.select(sendCommand(), opts)).toBeUndefined();
    expect(rule.eventNames(opts)).toEqual([]);
    const selected = selectAll([sendCommand()]);
    expect(rule.correlate(selected, D, opts)).toEqual([]);
  });
});

describe('real samples', () => {
  test('the stratus-red-team SendCommand is selected with its IAM user and account; nothing else in the file is', () => {
    const records = loadSample('stratus_ssm_send_command.json');
    const selected = selectAll(records);
    expect(selected).toEqual([
      {
        eventID: '5288bfb8-e3fa-4c41-be02-6853521afe8b',
        eventTimeMs: Date.parse('2024-08-02T09:08:56Z'),
        accountId: '056392974792',
        user: 'christophe',
        failed: false,
      },
    ]);
  });

  test('the stratus SendCommand gives one finding with every common field', () => {
    const findings = run(loadSample('stratus_ssm_send_command.json'), day('2024-08-02'));
    const windowStart = epochSeconds('2024-08-02T09:05:00Z');
    expect(findings).toEqual([
      {
        id: findingId(RULE_ID, '056392974792', 'christophe', String(windowStart)),
        ruleId: RULE_ID,
        ruleName: 'AWS Execution via System Manager',
        severity: 'Low',
        tactics: ['Execution'],
        techniques: ['T1059.006'],
        accountId: '056392974792',
        user: 'christophe',
        windowStart: '2024-08-02T09:05:00Z',
        windowEnd: '2024-08-02T09:10:00Z',
        firstSeen: '2024-08-02T09:08:56Z',
        lastSeen: '2024-08-02T09:08:56Z',
        count: 1,
        failedCount: 0,
        eventIds: ['5288bfb8-e3fa-4c41-be02-6853521afe8b'],
      },
    ]);
    expect(JSON.parse(JSON.stringify(findings))).toEqual(findings);
  });

  test('the stratus credential-theft run: only the SendCommand, not the instance-role calls', () => {
    const selected = selectAll(loadSample('stratus_ec2_steal_instance_credentials_subset.json'));
    expect(selected.map((e) => [e.eventID, e.accountId, e.user])).toEqual([['2a5178c8-b4c7-44ba-b066-1ecc79b7087c', '017622104382', 'christophe']]);
  });

  test('the panther SSO-role SendCommand: user is the session name (arn last segment)', () => {
    const selected = selectAll(loadSample('panther_ssm_send_command_assumedrole.json'));
    expect(selected).toHaveLength(1);
    expect(selected[0]).toMatchObject({ accountId: '111122223333', user: 'bobson.dugnutt', failed: false });
  });

  test('no other sample file holds a SendCommand', () => {
    for (const file of [
      'otrf_ec2_proxy_s3_exfiltration_subset.json',
      'panther_s3_putobject_data_events.json',
      'awsdoc_s3outposts_putobject_crossaccount.json',
    ]) {
      expect(selectAll(loadSample(file))).toEqual([]);
    }
  });
});

describe('match: fortiEventType contains "AWS-CloudTrail-SSM-SendCommand"', () => {
  test('an AssumedRole SSO session (AWSReservedSSO_ role, e-mail session name) is matched, user kept whole', () => {
    const [event] = selectAll([sendCommand({ userIdentity: ssoSession('alice@example.com') })]);
    expect(event.user).toBe('alice@example.com');
    expect(event.accountId).toBe(ACCOUNT);
  });

  test('SendCommand logged by ssm-guiconnect is a different event type and is not matched', () => {
    expect(selectAll([sendCommand({ eventSource: 'ssm-guiconnect.amazonaws.com' })])).toEqual([]);
  });

  test('the service prefix is upper-cased, so the eventSource case does not matter', () => {
    expect(selectAll([sendCommand({ eventSource: 'SSM.amazonaws.com', eventID: 'a' })])).toHaveLength(1);
    expect(selectAll([sendCommand({ eventSource: 'Ssm.amazonaws.com', eventID: 'b' })])).toHaveLength(1);
  });

  test('the eventName part is compared as is (contains, case-sensitive)', () => {
    expect(selectAll([sendCommand({ eventName: 'sendcommand' })])).toEqual([]);
    expect(selectAll([sendCommand({ eventName: 'SendCommandAsync' })])).toHaveLength(1);
  });

  test('other SSM calls and SendCommand-like names of other services are not matched', () => {
    const records = [
      sendCommand({ eventName: 'GetCommandInvocation', eventID: 'a' }),
      sendCommand({ eventName: 'CreateAssociation', eventID: 'b' }),
      sendCommand({ eventSource: 'ec2.amazonaws.com', eventID: 'c' }),
      sendCommand({ eventSource: 'ssmx.amazonaws.com', eventID: 'd' }),
    ];
    expect(selectAll(records)).toEqual([]);
  });

  test('records without eventID or with an unparsable eventTime are not selected', () => {
    const noId = sendCommand();
    delete noId.eventID;
    const blankId = sendCommand({ eventID: '' });
    const badTime = sendCommand({ eventTime: 'yesterday at noon' });
    const noTime = sendCommand();
    delete noTime.eventTime;
    expect(selectAll([noId, blankId, badTime, noTime])).toEqual([]);
    expect(selectAll([sendCommand()])).toHaveLength(1);
  });

  test('the selected event is compact and survives JSON', () => {
    const [event] = selectAll([sendCommand({ errorCode: 'AccessDenied' })]);
    expect(Object.keys(event).sort()).toEqual(['accountId', 'eventID', 'eventTimeMs', 'failed', 'user']);
    expect(roundTrip([event])).toEqual([event]);
    expect(event.failed).toBe(true);
  });
});

describe('windows: 300 s, aligned to the epoch', () => {
  test('…:04:59 shares the window of …:00:00; …:05:00 opens the next one', () => {
    const findings = run([at('2026-11-25T10:00:00Z', 'e1'), at('2026-11-25T10:04:59Z', 'e2'), at('2026-11-25T10:05:00Z', 'e3')]);
    expect(findings.map((f) => [f.windowStart, f.windowEnd, f.count, f.eventIds])).toEqual([
      ['2026-11-25T10:00:00Z', '2026-11-25T10:05:00Z', 2, ['e1', 'e2']],
      ['2026-11-25T10:05:00Z', '2026-11-25T10:10:00Z', 1, ['e3']],
    ]);
    expect(findings[0].firstSeen).toBe('2026-11-25T10:00:00Z');
    expect(findings[0].lastSeen).toBe('2026-11-25T10:04:59Z');
  });

  test('windows are epoch-aligned, not anchored at the first event', () => {
    // 90 seconds apart but on both sides of 10:05:00
    const findings = run([at('2026-11-25T10:04:00Z', 'e1'), at('2026-11-25T10:05:30Z', 'e2')]);
    expect(findings).toHaveLength(2);
    // 4 minutes 59 seconds apart inside one aligned window
    const one = run([at('2026-11-25T10:05:00Z', 'e1'), at('2026-11-25T10:09:59Z', 'e2')]);
    expect(one).toHaveLength(1);
    expect(one[0].id).toBe(findingId(RULE_ID, ACCOUNT, 'alice', String(epochSeconds('2026-11-25T10:05:00Z'))));
  });

  test('sub-second event times keep their milliseconds and fall in the window of their instant', () => {
    const findings = run([at('2026-11-25T10:04:59.999Z', 'e1')]);
    expect(findings[0].windowStart).toBe('2026-11-25T10:00:00Z');
    expect(findings[0].firstSeen).toBe('2026-11-25T10:04:59.999Z');
  });

  test('day edges: start inclusive, 23:59:59 in, next day 00:00:00 out (and found by the next day)', () => {
    const records = [
      at('2026-11-24T23:59:59Z', 'before'),
      at('2026-11-25T00:00:00Z', 'first'),
      at('2026-11-25T23:59:59Z', 'last'),
      at('2026-11-26T00:00:00Z', 'next'),
    ];
    const findings = run(records, D);
    expect(findings.map((f) => f.eventIds)).toEqual([['first'], ['last']]);
    expect(findings[1].windowStart).toBe('2026-11-25T23:55:00Z');
    expect(findings[1].windowEnd).toBe('2026-11-26T00:00:00Z');
    const next = run(records, day('2026-11-26'));
    expect(next.map((f) => f.eventIds)).toEqual([['next']]);
  });

  test('a window is the same finding whichever scan period contains it', () => {
    const records = [at('2026-11-25T10:01:00Z', 'e1'), at('2026-11-25T10:03:00Z', 'e2')];
    const daily = run(records, D);
    const wide = run(records, between('2026-11-20T00:00:00Z', '2026-11-30T00:00:00Z'));
    expect(wide).toEqual(daily);
  });
});

describe('group by (accountId, user)', () => {
  test('one finding per user and per account in the same window, sorted by window, account, user', () => {
    const findings = run([
      at('2026-11-25T10:06:00Z', 'late'),
      at('2026-11-25T10:01:00Z', 'zed', { userIdentity: iamUser('zed') }),
      at('2026-11-25T10:01:00Z', 'bob', { userIdentity: iamUser('bob') }),
      at('2026-11-25T10:02:00Z', 'other', { recipientAccountId: '999988887777', userIdentity: iamUser('alice', '999988887777') }),
      at('2026-11-25T10:03:00Z', 'alice'),
    ]);
    expect(findings.map((f) => [f.windowStart, f.accountId, f.user])).toEqual([
      ['2026-11-25T10:00:00Z', ACCOUNT, 'alice'],
      ['2026-11-25T10:00:00Z', ACCOUNT, 'bob'],
      ['2026-11-25T10:00:00Z', ACCOUNT, 'zed'],
      ['2026-11-25T10:00:00Z', '999988887777', 'alice'],
      ['2026-11-25T10:05:00Z', ACCOUNT, 'alice'],
    ]);
    expect(new Set(findings.map((f) => f.id)).size).toBe(5);
  });

  test('userOf fallbacks: userName, arn last segment, principalId, invokedBy, empty', () => {
    const identities = [
      { type: 'IAMUser', userName: 'carol', arn: 'arn:aws:iam::111122223333:user/ignored', principalId: 'AIDAX' },
      instanceRole('i-0123456789abcdef0'),
      { type: 'AWSAccount', principalId: 'AIDAPRINCIPALONLY', arn: '' },
      { type: 'AWSService', invokedBy: 'ssm.amazonaws.com', principalId: null },
      { type: 'Unknown' },
    ];
    const users = identities.map((identity, i) => selectAll([sendCommand({ eventID: `u${i}`, userIdentity: identity })])[0].user);
    expect(users).toEqual(['carol', 'i-0123456789abcdef0', 'AIDAPRINCIPALONLY', 'ssm.amazonaws.com', '']);
    const noIdentity = selectAll([sendCommand({ userIdentity: null })]);
    expect(noIdentity[0].user).toBe('');
    // an empty user is still a group of its own
    const findings = run([sendCommand({ eventID: 'x', userIdentity: { type: 'Unknown' } })]);
    expect(findings.map((f) => f.user)).toEqual(['']);
  });

  test('accountOf fallbacks: recipientAccountId, else userIdentity.accountId, else empty', () => {
    const recipient = selectAll([sendCommand({ recipientAccountId: '222233334444', userIdentity: iamUser('a', '555566667777') })]);
    const identity = selectAll([sendCommand({ recipientAccountId: '', userIdentity: iamUser('a', '555566667777') })]);
    const identityNull = selectAll([sendCommand({ recipientAccountId: null, userIdentity: iamUser('a', '555566667777') })]);
    const none = selectAll([sendCommand({ recipientAccountId: null, userIdentity: { type: 'IAMUser', userName: 'a' } })]);
    expect([recipient, identity, identityNull, none].map((s) => s[0].accountId)).toEqual(['222233334444', '555566667777', '555566667777', '']);
  });
});

describe('failed calls (the seed has no outcome condition)', () => {
  const records = [
    at('2026-11-25T10:00:10Z', 'ok'),
    at('2026-11-25T10:00:20Z', 'denied', { errorCode: 'AccessDenied', errorMessage: 'User is not authorized' }),
    at('2026-11-25T10:00:30Z', 'invalid', { errorCode: 'InvalidInstanceId' }),
  ];

  test('failed calls match and are counted in count and failedCount', () => {
    const [finding] = run(records);
    expect(finding.count).toBe(3);
    expect(finding.failedCount).toBe(2);
    expect(finding.eventIds).toEqual(['denied', 'invalid', 'ok']);
  });

  test('a window of only failed calls still triggers', () => {
    const findings = run([records[1]]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ count: 1, failedCount: 1 });
  });

  test('failed means a non-empty errorCode; an errorMessage alone or a blank errorCode is not a failure', () => {
    const [finding] = run([at('2026-11-25T10:00:10Z', 'msg', { errorMessage: 'something' }), at('2026-11-25T10:00:20Z', 'blank', { errorCode: '' })]);
    expect(finding).toMatchObject({ count: 2, failedCount: 0 });
  });

  test('successOnly drops calls with an errorCode', () => {
    const [finding] = run(records, D, { successOnly: true });
    expect(finding).toMatchObject({ count: 1, failedCount: 0, eventIds: ['ok'] });
    expect(run([records[1], records[2]], D, { successOnly: true })).toEqual([]);
    // without the option the failed ones stay
    expect(run([records[1], records[2]], D)).toHaveLength(1);
  });
});

describe('threshold', () => {
  const three = [at('2026-11-25T10:00:10Z', 'e1'), at('2026-11-25T10:01:10Z', 'e2'), at('2026-11-25T10:02:10Z', 'e3'), at('2026-11-25T10:06:10Z', 'e4')];

  test('default 1: every non-empty group triggers', () => {
    expect(run(three).map((f) => f.count)).toEqual([3, 1]);
  });

  test('a group triggers when its count reaches the threshold, per window', () => {
    expect(run(three, D, { threshold: 3 }).map((f) => f.eventIds)).toEqual([['e1', 'e2', 'e3']]);
    expect(run(three, D, { threshold: 4 })).toEqual([]);
  });

  test('with successOnly the threshold counts only successful calls', () => {
    const records = [...three.slice(0, 2), at('2026-11-25T10:03:00Z', 'f1', { errorCode: 'AccessDenied' })];
    expect(run(records, D, { threshold: 3 })).toHaveLength(1);
    expect(run(records, D, { threshold: 3, successOnly: true })).toEqual([]);
  });
});

describe('excludeAwsServiceCallers', () => {
  test.each(['ssm.amazonaws.com', 'ssm-guiconnect.amazonaws.com', 'inspector2.amazonaws.com'])('drops calls from %s only when enabled', (ip) => {
    const record = sendCommand({ sourceIPAddress: ip });
    expect(selectAll([record], { excludeAwsServiceCallers: true })).toEqual([]);
    expect(selectAll([record])).toHaveLength(1);
  });

  test('drops userIdentity.type AWSService only when enabled', () => {
    const record = sendCommand({ userIdentity: { type: 'AWSService', invokedBy: 'ssm.amazonaws.com' } });
    expect(selectAll([record], { excludeAwsServiceCallers: true })).toEqual([]);
    expect(selectAll([record])).toHaveLength(1);
  });

  test('keeps people and other service hosts', () => {
    const records = [
      sendCommand({ eventID: 'a', sourceIPAddress: '198.51.100.7' }),
      sendCommand({ eventID: 'b', sourceIPAddress: 'cloudformation.amazonaws.com', userIdentity: ssoSession() }),
      sendCommand({ eventID: 'c', sourceIPAddress: 'AWS Internal' }),
    ];
    expect(selectAll(records, { excludeAwsServiceCallers: true }).map((e) => e.eventID)).toEqual(['a', 'b', 'c']);
  });
});

describe('exclude', () => {
  const records = [
    sendCommand({ eventID: 'alice', userIdentity: iamUser('alice') }),
    sendCommand({ eventID: 'deploy', userIdentity: ssoSession('deploy-bot', ACCOUNT, 'AWSReservedSSO_Deploy_0123') }),
    sendCommand({ eventID: 'patch', userIdentity: iamUser('bob'), documentName: 'AWS-RunPatchBaseline' }),
    sendCommand({ eventID: 'sandbox', userIdentity: iamUser('carol', '999988887777'), recipientAccountId: '999988887777' }),
  ];
  const kept = (exclude: unknown[]) => selectAll(records, { exclude }).map((e) => e.eventID);

  test('by user', () => {
    expect(kept([{ user: 'alice' }])).toEqual(['deploy', 'patch', 'sandbox']);
  });

  test('by arn glob', () => {
    expect(kept([{ arn: 'arn:aws:sts::*:assumed-role/AWSReservedSSO_Deploy_*/*' }])).toEqual(['alice', 'patch', 'sandbox']);
    expect(kept([{ arn: 'arn:aws:iam::111122223333:user/?ob' }])).toEqual(['alice', 'deploy', 'sandbox']);
    expect(kept([{ arn: 'arn:aws:iam::111122223333:user/al' }])).toEqual(['alice', 'deploy', 'patch', 'sandbox']);
  });

  test('by documentName', () => {
    expect(kept([{ documentName: 'AWS-RunPatchBaseline' }])).toEqual(['alice', 'deploy', 'sandbox']);
  });

  test('by accountId', () => {
    expect(kept([{ accountId: '999988887777' }])).toEqual(['alice', 'deploy', 'patch']);
  });

  test('an entry naming several fields needs all of them; several entries each exclude', () => {
    expect(kept([{ user: 'alice', accountId: '999988887777' }])).toEqual(['alice', 'deploy', 'patch', 'sandbox']);
    expect(kept([{ user: 'bob', documentName: 'AWS-RunPatchBaseline' }])).toEqual(['alice', 'deploy', 'sandbox']);
    expect(kept([{ user: 'bob', documentName: 'AWS-RunShellScript' }])).toEqual(['alice', 'deploy', 'patch', 'sandbox']);
    expect(kept([{ user: 'alice' }, { accountId: '999988887777' }])).toEqual(['deploy', 'patch']);
  });
});

describe('determinism', () => {
  const records = [
    at('2026-11-25T10:00:10Z', 'e5'),
    at('2026-11-25T10:00:20Z', 'e1', { errorCode: 'AccessDenied' }),
    at('2026-11-25T10:00:30Z', 'e3', { userIdentity: iamUser('bob') }),
    at('2026-11-25T10:07:30Z', 'e4'),
    at('2026-11-25T10:02:30Z', 'e2'),
  ];

  test('findings and ids do not depend on input order', () => {
    const opts = options();
    const selected = selectAll(records);
    const expected = rule.correlate(selected, D, opts);
    expect(expected).toHaveLength(3);
    for (const rotate of [0, 1, 2, 3]) expect(rule.correlate(reorder(selected, rotate), D, opts)).toEqual(expected);
  });

  test('duplicate events (same eventID) count once', () => {
    const opts = options();
    const selected = selectAll(records);
    const expected = rule.correlate(selected, D, opts);
    const doubled = rule.correlate([...selected, ...reorder(selected)], D, opts);
    expect(doubled).toEqual(expected);
    expect(doubled[0]).toMatchObject({ count: 3, failedCount: 1, eventIds: ['e1', 'e2', 'e5'] });
  });

  test('a very busy window (200 000 events) is one finding, without exhausting the stack', () => {
    const base = Date.parse('2026-11-25T10:00:00Z');
    const selected: SsmCommandExecutionSelected[] = Array.from({ length: 200_000 }, (_, i) => ({
      eventID: `e${String(i).padStart(6, '0')}`,
      eventTimeMs: base + (i % 300_000),
      accountId: ACCOUNT,
      user: 'alice',
      failed: i % 2 === 0,
    }));
    const [finding, ...rest] = rule.correlate(selected, D, options());
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ count: 200_000, failedCount: 100_000, firstSeen: '2026-11-25T10:00:00Z', lastSeen: '2026-11-25T10:03:19.999Z' });
  });

  test('eventIds are sorted', () => {
    const [finding] = run([at('2026-11-25T10:00:01Z', 'zz'), at('2026-11-25T10:00:02Z', 'Ab'), at('2026-11-25T10:00:03Z', 'aa')]);
    expect(finding.eventIds).toEqual(['Ab', 'aa', 'zz']);
  });
});
