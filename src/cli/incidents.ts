import { userInfo } from 'node:os';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { Command } from 'commander';
import { UsageError, type LoadedConfig } from '../config/load';
import { ackSignal, closeSignal, incidentQuery } from '../workflows/incident';
import type { IncidentState } from '../workflows/incident-types';
import { connectClient, temporalTarget } from './temporal';

export async function listIncidents(client: Client, open: boolean): Promise<IncidentState[]> {
  const query = `WorkflowType = 'IncidentWorkflow'${open ? ` AND ExecutionStatus = 'Running'` : ''}`;
  const incidents: IncidentState[] = [];
  for await (const run of client.workflow.list({ query })) {
    const handle = client.workflow.getHandle(run.workflowId, run.runId);
    try {
      incidents.push(run.status.name === 'RUNNING' ? await handle.query(incidentQuery) : ((await handle.result()) as IncidentState));
    } catch {
      // a run that failed or was terminated has no state to show
    }
  }
  return incidents.sort((a, b) => b.openedAt.localeCompare(a.openedAt));
}

/**
 * Waits until every incident of a private (embedded) server has an outcome for each of its channels:
 * the server and its worker stop with the command, so a notification still due then would never go.
 * Returns how many incidents still lacked one when `timeoutMs` ran out.
 */
export async function awaitNotifications(client: Client, expected = 0, timeoutMs = 120_000, log: (line: string) => void = () => undefined): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let polls = 0; ; polls++) {
    const incidents = await listIncidents(client, false);
    const pending = Math.max(expected - incidents.length, 0) + incidents.filter((i) => i.notifications.length < (i.channelCount ?? 0)).length;
    if (pending === 0 || Date.now() > deadline) return pending;
    if (polls === 0) log(`waiting for the notifications of ${pending} incident(s) before the embedded server stops`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** What the incident's notifications did: each channel's outcome, or why there is none. */
export function notificationsText(i: IncidentState, configuredChannels: number): string {
  if (i.notifications.length) return i.notifications.map((n) => `${n.channel}:${n.status}`).join(',');
  if ((i.channelCount ?? configuredChannels) === 0) return 'none (no channels configured)';
  return i.status === 'closed' ? 'none' : 'pending';
}

export function formatIncident(i: IncidentState, configuredChannels: number): string {
  const state =
    i.status === 'closed'
      ? `closed ${i.closedAt ?? ''}${i.closeReason ? ` (${i.closeReason})` : ''}${i.acknowledgedBy ? `, acknowledged by ${i.acknowledgedBy}` : ''}`
      : `${i.status === 'acknowledged' ? `acknowledged by ${i.acknowledgedBy ?? 'someone'}, ` : ''}window ends ${i.closesAt}`;
  return (
    `${i.incidentId}  ${i.status}  [${i.severity}] ${i.ruleName}  ${Object.entries(i.key)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}` + `  findings=${i.findings} events=${i.events}  opened ${i.openedAt}, ${state}  notifications ${notificationsText(i, configuredChannels)}`
  );
}

/** The incident an id or an unambiguous prefix of one names. */
export async function resolveIncidentId(client: Client, idOrPrefix: string): Promise<string> {
  try {
    const description = await client.workflow.getHandle(idOrPrefix).describe();
    if (description.type === 'IncidentWorkflow') return idOrPrefix;
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  const matches = new Set<string>();
  for await (const run of client.workflow.list({ query: `WorkflowType = 'IncidentWorkflow'` })) {
    if (run.workflowId.startsWith(idOrPrefix)) matches.add(run.workflowId);
  }
  if (matches.size === 1) return [...matches][0];
  if (matches.size === 0) throw new UsageError(`no incident ${idOrPrefix} (list them with: trailwarden incidents)`);
  const sorted = [...matches].sort();
  throw new UsageError(
    `"${idOrPrefix}" names ${matches.size} incidents (${sorted.slice(0, 3).join(', ')}${sorted.length > 3 ? ', …' : ''}): give more of the id`,
  );
}

async function signalIncident(
  client: Client,
  idOrPrefix: string,
  send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>,
): Promise<string> {
  const id = await resolveIncidentId(client, idOrPrefix);
  const handle = client.workflow.getHandle(id);
  try {
    const description = await handle.describe();
    if (description.type !== 'IncidentWorkflow') throw new UsageError(`${id} is not an incident`);
    if (description.status.name !== 'RUNNING') throw new UsageError(`incident ${id} is already closed`);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new UsageError(`no incident ${id} (list them with: trailwarden incidents)`);
    throw error;
  }
  await send(handle);
  return id;
}

/** `trailwarden incidents [--open] [--json]`, `trailwarden incident ack|close ID`. */
export function registerIncidentCommands(program: Command, configOf: (command: Command) => LoadedConfig): void {
  const withClient = async <T>(command: Command, work: (client: Client) => Promise<T>): Promise<T> => {
    const { client, close } = await connectClient(temporalTarget(configOf(command)));
    try {
      return await work(client);
    } finally {
      await close();
    }
  };

  program
    .command('incidents')
    .description('list incidents, newest first')
    .option('--open', 'only incidents whose window is still open')
    .option('--json', 'one incident per line as JSON')
    .action(async (opts: { open?: boolean; json?: boolean }, command: Command) => {
      const incidents = await withClient(command, (client) => listIncidents(client, Boolean(opts.open)));
      const channels = configOf(command).incidents?.channels.length ?? 0;
      for (const incident of incidents) process.stdout.write(`${opts.json ? JSON.stringify(incident) : formatIncident(incident, channels)}\n`);
      if (!opts.json) process.stderr.write(`${incidents.length} incident(s)\n`);
    });

  const incident = program.command('incident').description('act on one incident');
  incident
    .command('ack <id>')
    .summary('acknowledge an open incident (the id, or an unambiguous prefix of it)')
    .description('acknowledge an open incident (its window still runs; it notifies no one again)')
    .action(async (idOrPrefix: string, _opts: unknown, command: Command) => {
      const id = await withClient(command, (client) => signalIncident(client, idOrPrefix, (h) => h.signal(ackSignal, { by: userInfo().username })));
      process.stdout.write(`acknowledged ${id}\n`);
    });
  incident
    .command('close <id>')
    .description('close an incident now, before its window ends')
    .option('--reason <text>', 'why')
    .action(async (idOrPrefix: string, opts: { reason?: string }, command: Command) => {
      const id = await withClient(command, (client) =>
        signalIncident(client, idOrPrefix, (h) => h.signal(closeSignal, { reason: opts.reason ?? `closed by ${userInfo().username}` })),
      );
      process.stdout.write(`closed ${id}\n`);
    });
}
