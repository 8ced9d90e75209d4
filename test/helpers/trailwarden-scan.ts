/**
 * trailwarden's own reading of the log files the reference evaluator reads (reference-evaluator.ts):
 * each file through scanObjectBytes on the native or the JavaScript route (a thrown error: the file is
 * corrupt), then the selected lines of all files, in key order, through correlateLines. Also how two
 * sets of findings differ, in a few lines a failing test can print.
 */
import { isDeepStrictEqual } from 'node:util';
import { correlateLines } from '../../src/activities/correlate';
import { scanContext, scanObjectBytes } from '../../src/scan/scan-object';
import type { NativeScanner } from '../../src/scan/native-scanner';
import { ruleOf, viewOf } from '../../src/rules';
import type { Finding, ScanPeriod } from '../../src/rules/types';
import { type LogFile, sortById } from './reference-evaluator';

export interface TrailwardenResult {
  /** sorted by id */
  findings: Finding[];
  /** the files scanObjectBytes threw on (in key order), with the error */
  corrupt: Map<string, string>;
}

export function trailwardenEvaluation(
  files: readonly LogFile[],
  rulesConfig: Record<string, unknown>,
  period: ScanPeriod,
  native: NativeScanner | null,
): TrailwardenResult {
  const scanner = scanContext({ rules: rulesConfig, period }, { native });
  const lines: string[] = [];
  const corrupt = new Map<string, string>();
  for (const file of [...files].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    try {
      lines.push(...scanObjectBytes(file.bytes, scanner).lines);
    } catch (error) {
      corrupt.set(file.key, `${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  return { findings: sortById(correlateLines(rulesConfig, period, lines).findings), corrupt };
}

/**
 * Findings as they are stored (JSON): the selected events reach correlate as JSON lines, so a value
 * JSON cannot hold (1e400 in a command's targets) reads back as JSON gives it, on either side.
 */
export function asStored(findings: readonly Finding[]): Finding[] {
  return JSON.parse(JSON.stringify(findings)) as Finding[];
}

function summary(f: Finding): string {
  return `${f.ruleName} ${JSON.stringify(ruleOf(f).identity(f))}: ${viewOf(f).title}, events ${f.eventIds.join(' ')}`;
}

/** One line per finding missing, unexpected or different (naming the fields that differ). */
export function findingDifferences(expected: readonly Finding[], actual: readonly Finding[]): string[] {
  const want = new Map(asStored(expected).map((f) => [f.id, f]));
  const got = new Map(asStored(actual).map((f) => [f.id, f]));
  const lines: string[] = [];
  for (const [id, f] of want) {
    const other = got.get(id);
    if (!other) lines.push(`missing: ${summary(f)}`);
    else {
      const fields = [...new Set([...Object.keys(f), ...Object.keys(other)])].filter(
        (key) => !isDeepStrictEqual((f as unknown as Record<string, unknown>)[key], (other as unknown as Record<string, unknown>)[key]),
      );
      if (fields.length) lines.push(`different ${fields.join(', ')}: expected ${summary(f)}; got ${summary(other)}`);
    }
  }
  for (const [id, f] of got) if (!want.has(id)) lines.push(`unexpected: ${summary(f)}`);
  return lines;
}
