import { execFileSync } from 'node:child_process';
import { temporalCliPath } from '../../src/local/tools';
import { temporalAddress } from './services';

/** Lists workflows with the `temporal` CLI, as an operator would: `temporal workflow list --query ...`. */
export function listWorkflows(query: string, namespace = 'default'): { workflowId: string; type: string; status: string; searchAttributes?: unknown }[] {
  const cli = temporalCliPath({ install: false });
  if (!cli) throw new Error('the temporal CLI is missing (globalSetup installs it)');
  const out = execFileSync(cli, ['workflow', 'list', '--address', temporalAddress(), '--namespace', namespace, '--query', query, '--output', 'json'], {
    encoding: 'utf8',
  });
  const rows = out.trim() ? (JSON.parse(out) as Record<string, unknown>[]) : [];
  return rows.map((row) => ({
    workflowId: (row.execution as { workflowId: string }).workflowId,
    type: (row.type as { name: string }).name,
    status: String(row.status),
    searchAttributes: row.searchAttributes,
  }));
}
