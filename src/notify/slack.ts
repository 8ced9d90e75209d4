import { postBody } from './http';
import type { IncidentNotice } from './notice';

/** A Slack incoming-webhook message a person can act on. */
export function slackMessage(notice: IncidentNotice): { text: string; blocks: unknown[] } {
  const first = notice.evidence[0];
  // the first finding as its rule reads it (briefs of incidents opened before views: account and user)
  const about: [string, string | undefined][] = first?.fields
    ? Object.entries(first.fields)
    : [
        ['Account', first?.accountId],
        ['User', first?.user],
      ];
  const facts: [string, string | undefined][] = [
    ['Rule', `${notice.ruleName} (${notice.ruleId})`],
    ['Severity', notice.severity],
    ['Finding', first?.title],
    ...about,
    ['Findings', `${notice.findings} finding(s), ${notice.events} event(s)`],
    ['First seen', notice.firstSeen],
    ['Last seen', notice.lastSeen],
  ];
  const shown = facts.filter((fact): fact is [string, string] => Boolean(fact[1]));
  const title = `:rotating_light: ${notice.severity}: ${notice.ruleName}`;
  const text = [title, ...shown.map(([k, v]) => `${k}: ${v}`), `Scan run: ${notice.runLink}`].join('\n');
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `${notice.severity}: ${notice.ruleName}`.slice(0, 150) } },
      { type: 'section', fields: shown.map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` })) },
      { type: 'section', text: { type: 'mrkdwn', text: `<${notice.runLink}|Open the scan run in the Temporal Web UI> · incident \`${notice.incidentId}\`` } },
    ],
  };
}

export async function sendSlack(url: string, notice: IncidentNotice): Promise<void> {
  await postBody(url, JSON.stringify(slackMessage(notice)), { 'content-type': 'application/json' }, 'slack');
}
