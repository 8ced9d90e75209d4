import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tuning } from '../config/tuning';
import { scanBlobStore } from '../store/blob-store';
import type { LinesBlob, ScanStore } from './types';

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

export function* blobLines(blob: LinesBlob): Generator<string> {
  yield* textLines(blob.inline ?? '');
}

/** The lines of UTF-8 bytes, each decoded on its own: a large set is never one string. */
export function* byteLines(bytes: Buffer): Generator<string> {
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    if (end > start) yield bytes.toString('utf8', start, end);
    start = end + 1;
  }
}

export function* textLines(text: string): Generator<string> {
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

/** Lines up to this size travel inline in payloads; larger ones go to the scan's blob store. */
const INLINE_LINES_BYTES = 64 * 1024;

/**
 * A blob for the lines: inline when small (or with no store: runs started before scan stores), else
 * `put` into the scan's blob store under `key`, so that no workflow ever holds them.
 */
export async function storedLines(store: ScanStore | undefined, scanId: string, key: string, lines: number, bytes: Buffer): Promise<LinesBlob> {
  if (!store || bytes.length <= tuning('TRAILWARDEN_INLINE_LINES_BYTES', INLINE_LINES_BYTES)) return { lines, inline: bytes.toString('utf8') };
  await scanBlobStore(store, scanId).put(key, bytes);
  return { lines, key };
}

/** A blob's lines as UTF-8 bytes, from inline or from the scan's blob store. */
export async function blobBytes(store: ScanStore | undefined, scanId: string, blob: LinesBlob): Promise<Buffer> {
  if (blob.key === undefined) return Buffer.from(blob.inline ?? '');
  if (!store) throw new Error(`lines ${blob.key} are in a scan store this input does not name`);
  const body = await scanBlobStore(store, scanId).get(blob.key);
  if (!body) throw new Error(`the scan store has no ${blob.key}`);
  return body;
}

/** Everything a scan kept in its blob store. */
export async function removeScanStore(store: ScanStore, scanId: string): Promise<void> {
  const scan = scanBlobStore(store, scanId);
  for (const key of await scan.list('')) await scan.delete(key);
}
