import { existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LinesBlob } from './types';

/** Blobs up to this size travel inline in Temporal payloads; larger ones stay in the scratch folder. */
export const INLINE_LIMIT_BYTES = 256 * 1024;

/**
 * Large intermediate sets live here between activities. Several workers on several machines must
 * share it (a shared volume); one machine needs nothing.
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

/** Turns a finished scratch file into a blob: inline (and the file removed) when small. */
export function blobFromFile(file: string, lines: number): LinesBlob {
  const size = existsSync(file) ? statSync(file).size : 0;
  if (size <= INLINE_LIMIT_BYTES) {
    const inline = size ? readFileSync(file, 'utf8') : '';
    if (existsSync(file)) unlinkSync(file);
    return { lines, inline };
  }
  return { lines, ref: file };
}

export function* blobLines(blob: LinesBlob): Generator<string> {
  const text = blob.inline ?? (blob.ref ? readFileSync(blob.ref, 'utf8') : '');
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
