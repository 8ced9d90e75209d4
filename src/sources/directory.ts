import { createReadStream, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { DirectorySource } from '../config/schema';
import { PermanentSourceError } from './errors';
import type { LogObject, SkippedItem } from './log-object';

const LOG_FILE = /\.json(\.gz)?$/;
const SKIPPED_FOLDERS = new Set(['CloudTrail-Digest', 'CloudTrail-Insight']);

/**
 * Every *.json and *.json.gz below the folder, in the S3 key layout or not, sorted by path.
 * Files are not pruned by name: exported logs need not carry delivery times, so eventTime decides.
 */
export async function listDirectoryLogObjects(source: DirectorySource): Promise<{ objects: LogObject[]; skipped: SkippedItem[] }> {
  try {
    const info = await stat(source.path);
    if (!info.isDirectory()) throw new PermanentSourceError(`directory source ${source.path} is not a directory`);
  } catch (error) {
    if (error instanceof PermanentSourceError) throw error;
    throw new PermanentSourceError(`directory source ${source.path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const objects: LogObject[] = [];
  const skipped: SkippedItem[] = [];
  const entries = await readdir(source.path, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || !LOG_FILE.test(entry.name)) continue;
    const full = join(entry.parentPath, entry.name);
    const key = relative(source.path, full).split(sep).join('/');
    const folder = key.split('/').find((part) => SKIPPED_FOLDERS.has(part));
    if (folder) {
      skipped.push({ source: source.path, key, reason: `${folder} file (not event records)` });
      continue;
    }
    // one synchronous stat per file: a promise each cost the worker's main thread ~25 µs a file
    const { size } = statSync(full);
    objects.push({ key, size, open: async () => createReadStream(full), path: full });
  }
  objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { objects, skipped };
}
