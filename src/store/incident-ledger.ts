import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Which finding went to which incident: <findings directory>/incidents/<date>.jsonl. A finding in the
 * ledger is never routed again, so re-scans, re-runs and ranges never notify it twice.
 */
export function ledgerFile(directory: string, date: string): string {
  return join(directory, 'incidents', `${date}.jsonl`);
}

export interface LedgerEntry {
  findingId: string;
  incidentId: string;
  runId: string;
}

export function readLedger(directory: string, date: string): Map<string, LedgerEntry> {
  const file = ledgerFile(directory, date);
  const entries = new Map<string, LedgerEntry>();
  if (!existsSync(file)) return entries;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as LedgerEntry;
    entries.set(entry.findingId, entry);
  }
  return entries;
}

export function appendLedger(directory: string, date: string, entries: readonly LedgerEntry[]): void {
  if (!entries.length) return;
  const file = ledgerFile(directory, date);
  mkdirSync(join(directory, 'incidents'), { recursive: true });
  appendFileSync(file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
}
