import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { FindingBrief, IncidentNotice } from '../notify/notice';
import type { IncidentInput, IncidentState, NotificationOutcome } from './incident-types';
import type { NotificationWorkflow } from './notification';

export const addFindingsSignal = defineSignal<[FindingBrief[]]>('addFindings');
export const ackSignal = defineSignal<[{ by?: string }]>('ack');
export const closeSignal = defineSignal<[{ reason?: string }]>('close');
export const incidentQuery = defineQuery<IncidentState>('incident');

function notificationId(incidentId: string, firstFindingId: string, channel: string): string {
  return `notify-${incidentId}-${firstFindingId}-${channel}`;
}

/**
 * One incident per (rule, suppression key), started or joined with signal-with-start. The first
 * finding opens it and starts one NotificationWorkflow per channel; findings with the same key join
 * it (count, lastSeen, evidence) without notifying again until the window, a durable timer from the
 * moment it opened, ends. Then it closes and completes with its summary, once the notifications ended.
 */
export async function IncidentWorkflow(input: IncidentInput): Promise<IncidentState> {
  const { workflowId, runId, runStartTime } = workflowInfo();
  const seen = new Set<string>();
  const state: IncidentState = {
    incidentId: workflowId,
    runId,
    ruleId: input.ruleId,
    ruleName: input.ruleName,
    severity: input.severity,
    key: input.key,
    status: 'open',
    openedAt: runStartTime.toISOString(),
    closesAt: new Date(runStartTime.getTime() + input.windowMs).toISOString(),
    findings: 0,
    events: 0,
    firstSeen: '',
    lastSeen: '',
    evidence: [],
    evidenceTotal: 0,
    channelCount: input.channels.length,
    notifications: [],
  };
  let closeRequested = false;

  setHandler(addFindingsSignal, (briefs) => {
    for (const brief of briefs) {
      if (seen.has(brief.id)) continue;
      seen.add(brief.id);
      state.findings++;
      state.events += brief.count;
      state.evidenceTotal++;
      if (state.evidence.length < input.evidenceLimit) state.evidence.push(brief);
      if (!state.firstSeen || brief.firstSeen < state.firstSeen) state.firstSeen = brief.firstSeen;
      if (!state.lastSeen || brief.lastSeen > state.lastSeen) state.lastSeen = brief.lastSeen;
    }
  });
  setHandler(ackSignal, ({ by }) => {
    if (state.status === 'open') {
      state.status = 'acknowledged';
      state.acknowledgedBy = by;
    }
  });
  setHandler(closeSignal, ({ reason }) => {
    closeRequested = true;
    state.closeReason = reason ?? 'closed by hand';
  });
  setHandler(incidentQuery, () => state);

  await condition(() => state.findings > 0);
  const notice: IncidentNotice = {
    incidentId: workflowId,
    ruleId: input.ruleId,
    ruleName: input.ruleName,
    severity: input.severity,
    key: input.key,
    openedAt: state.openedAt,
    findings: state.findings,
    events: state.events,
    firstSeen: state.firstSeen,
    lastSeen: state.lastSeen,
    evidence: state.evidence.slice(0, 20),
    evidenceTotal: state.evidenceTotal,
    runLink: input.runLink,
  };
  const firstFindingId = state.evidence[0].id;
  setCurrentDetails(`open: ${state.findings} finding(s); window ends ${state.closesAt}`);
  const notifications = Promise.all(
    input.channels.map(async (channel): Promise<NotificationOutcome> => {
      const id = notificationId(workflowId, firstFindingId, channel.name);
      try {
        await executeChild<typeof NotificationWorkflow>('NotificationWorkflow', {
          workflowId: id,
          args: [{ notificationId: id, channel, notice, indexed: input.indexed }],
          // a notification runs once per incident and channel, whatever asks for it again
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `${channel.type} notification of ${input.ruleName}`,
        });
        return { channel: channel.name, notificationId: id, status: 'Delivered' };
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return { channel: channel.name, notificationId: id, status: 'AlreadyNotified' };
        const cause = (error as { cause?: Error & { cause?: Error } }).cause;
        const message = cause?.cause?.message ?? cause?.message ?? (error as Error).message;
        return { channel: channel.name, notificationId: id, status: 'Failed', error: message };
      }
    }),
  ).then((outcomes) => {
    state.notifications = outcomes;
  });

  await condition(() => closeRequested, input.windowMs);
  state.status = 'closed';
  state.closedAt = new Date().toISOString();
  state.closeReason ??= 'suppression window ended';
  setCurrentDetails(`closed: ${state.findings} finding(s); waiting for notifications`);
  await notifications;
  setCurrentDetails(
    `closed: ${state.findings} finding(s), ${state.events} event(s); notifications: ` +
      (state.notifications.map((n) => `${n.channel} ${n.status}`).join(', ') || 'none'),
  );
  const failed = state.notifications.filter((n) => n.status === 'Failed').map((n) => n.channel);
  if (failed.length) state.closeReason = `${state.closeReason}; notification failed on ${failed.join(', ')}`;
  return state;
}
