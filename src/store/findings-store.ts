import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../rules/types';

/** Findings live as JSON lines, one file per scan date: <directory>/<YYYY-MM-DD>.jsonl */
export function findingsFile(directory: string, date: string): string {
  return join(directory, `${date}.jsonl`);
}

export function readFindings(directory: string, date: string): Finding[] {
  const file = findingsFile(directory, date);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Finding);
}

function order(a: Finding, b: Finding): number {
  return a.firstSeen.localeCompare(b.firstSeen) || a.ruleId.localeCompare(b.ruleId) || a.id.localeCompare(b.id);
}

/**
 * Upserts by finding id: a re-run replaces a finding with its newest version and never adds a copy.
 * Findings a re-run no longer sees are kept (a source that was briefly unreachable must not erase them).
 * The file is replaced atomically, so readers never see half of it.
 */
export function upsertFindings(
  directory: string,
  date: string,
  findings: readonly Finding[],
): { file: string; stored: number; added: number; updated: number } {
  mkdirSync(directory, { recursive: true });
  const byId = new Map(readFindings(directory, date).map((f) => [f.id, f]));
  let added = 0;
  let updated = 0;
  for (const finding of findings) {
    const before = byId.get(finding.id);
    if (!before) added++;
    else if (JSON.stringify(before) !== JSON.stringify(finding)) updated++;
    byId.set(finding.id, finding);
  }
  const all = [...byId.values()].sort(order);
  const file = findingsFile(directory, date);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, all.map((f) => `${JSON.stringify(f)}\n`).join(''));
  renameSync(temp, file);
  return { file, stored: all.length, added, updated };
}
