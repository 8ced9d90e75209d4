import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LinesBlob } from './types';

/**
 * A partition activity's selected lines are written here while it runs (so that a retried attempt on
 * the same machine can resume from its heartbeat), and returned inline when it ends: nothing a payload
 * carries ever names this folder. Large results go to External Storage through the data converter.
 */
export function scratchRoot(): string {
  return process.env.TRAILWARDEN_SCRATCH_DIR ?? join(tmpdir(), 'trailwarden-scratch');
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function scratchPath(scanId: string, name: string): string {
  const dir = join(scratchRoot(), safe(scanId));
  mkdirSync(dir, { recursive: true });
  return join(dir, `${safe(name)}.jsonl`);
}

/** Turns a finished scratch file into a blob carried inline (the data converter offloads it when large); the file is removed. */
export function blobFromFile(file: string, lines: number): LinesBlob {
  const inline = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (existsSync(file)) unlinkSync(file);
  return { lines, inline };
}

export function* blobLines(blob: LinesBlob): Generator<string> {
  const text = blob.inline ?? '';
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) yield text.slice(start, end);
    start = end + 1;
  }
}

export function removeScratch(scanId: string): void {
  rmSync(join(scratchRoot(), safe(scanId)), { recursive: true, force: true });
}
