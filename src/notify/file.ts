import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IncidentNotice } from './notice';

/** Appends the notice as one JSON line, once per idempotency key (a retried attempt finds its line). */
export function writeToFile(path: string, notice: IncidentNotice, idempotencyKey: string): void {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path)) {
    const marker = `"idempotencyKey":${JSON.stringify(idempotencyKey)}`;
    if (readFileSync(path, 'utf8').includes(marker)) return;
  }
  appendFileSync(path, `${JSON.stringify({ idempotencyKey, deliveredAt: new Date().toISOString(), incident: notice })}\n`);
}
