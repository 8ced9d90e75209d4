import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../rules/types';
import { type BlobStore, type StoreLocation, S3BlobStore } from './blob-store';

/** Findings live as JSON lines, one file per scan date: <directory>/<YYYY-MM-DD>.jsonl */
export function findingsFile(directory: string, date: string): string {
  return join(directory, `${date}.jsonl`);
}

function parseLines(text: string): Finding[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Finding);
}

export function readFindings(directory: string, date: string): Finding[] {
  const file = findingsFile(directory, date);
  if (!existsSync(file)) return [];
  return parseLines(readFileSync(file, 'utf8'));
}

function order(a: Finding, b: Finding): number {
  return a.firstSeen.localeCompare(b.firstSeen) || a.ruleId.localeCompare(b.ruleId) || a.id.localeCompare(b.id);
}

export interface UpsertResult {
  /** where the date's findings are: a file, or s3://bucket/prefix/<date>/ */
  file: string;
  stored: number;
  added: number;
  updated: number;
}

function merge(before: Map<string, Finding>, findings: readonly Finding[]): { added: number; updated: number } {
  let added = 0;
  let updated = 0;
  for (const finding of findings) {
    const old = before.get(finding.id);
    if (!old) added++;
    else if (JSON.stringify(old) !== JSON.stringify(finding)) updated++;
    before.set(finding.id, finding);
  }
  return { added, updated };
}

const LOCK_STALE_MS = 30_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** An exclusive lock file (`wx` create), so writers on one machine or one shared volume take turns. */
function withLock<T>(file: string, work: () => T): T {
  const lock = `${file}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        // a writer that died holding it: take it over
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        // gone already
      }
      Atomics.wait(sleeper, 0, 0, Math.min(100, 5 + attempt));
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Upserts by finding id: a re-run replaces a finding with its newest version and never adds a copy.
 * Findings a re-run no longer sees are kept (a source that was briefly unreachable must not erase them).
 * The file is replaced atomically, so readers never see half of it, and writers take turns under a
 * lock file, so two writers never lose each other's findings.
 */
export function upsertFindings(directory: string, date: string, findings: readonly Finding[]): UpsertResult {
  mkdirSync(directory, { recursive: true });
  const file = findingsFile(directory, date);
  return withLock(file, () => {
    const byId = new Map(readFindings(directory, date).map((f) => [f.id, f]));
    const { added, updated } = merge(byId, findings);
    const all = [...byId.values()].sort(order);
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    writeFileSync(temp, all.map((f) => `${JSON.stringify(f)}\n`).join(''));
    renameSync(temp, file);
    return { file, stored: all.length, added, updated };
  });
}

/** The findings of every scan date, wherever the config keeps them. */
export interface FindingsStore {
  readonly location: string;
  read(date: string): Promise<Finding[]>;
  upsert(date: string, findings: readonly Finding[]): Promise<UpsertResult>;
}

/** `findings: { directory }`: one JSON-lines file per date (above). */
export class DirectoryFindingsStore implements FindingsStore {
  constructor(readonly location: string) {}
  async read(date: string): Promise<Finding[]> {
    return readFindings(this.location, date);
  }
  async upsert(date: string, findings: readonly Finding[]): Promise<UpsertResult> {
    return upsertFindings(this.location, date, findings);
  }
}

/**
 * Findings on a BlobStore that many machines write at once (S3): one logical JSON-lines set per date,
 * made of immutable part objects `<date>/part-<time>-<uuid>.jsonl`, one per write that changed
 * something. Reading merges the parts in key order (time first), so the newest version of an id wins
 * and no writer can overwrite another's part: two writers never lose each other's findings.
 */
export class PartsFindingsStore implements FindingsStore {
  readonly location: string;
  constructor(private readonly blobs: BlobStore) {
    this.location = blobs.location;
  }

  private async readMap(date: string): Promise<Map<string, Finding>> {
    const byId = new Map<string, Finding>();
    for (let attempt = 0; ; attempt++) {
      const keys = (await this.blobs.list(`${date}/part-`)).filter((key) => key.endsWith('.jsonl'));
      const bodies = await Promise.all(keys.map((key) => this.blobs.get(key)));
      // a part deleted between list and get (compaction by a later version): list again
      if (bodies.some((body) => body === undefined) && attempt < 5) continue;
      for (const body of bodies) if (body) for (const finding of parseLines(body.toString('utf8'))) byId.set(finding.id, finding);
      return byId;
    }
  }

  async read(date: string): Promise<Finding[]> {
    return [...(await this.readMap(date)).values()].sort(order);
  }

  async upsert(date: string, findings: readonly Finding[]): Promise<UpsertResult> {
    const byId = await this.readMap(date);
    const before = new Map(byId);
    const { added, updated } = merge(byId, findings);
    const changed = findings.filter((f) => JSON.stringify(before.get(f.id)) !== JSON.stringify(f));
    if (changed.length) {
      const key = `${date}/part-${String(Date.now()).padStart(15, '0')}-${randomUUID()}.jsonl`;
      await this.blobs.put(
        key,
        [...changed]
          .sort(order)
          .map((f) => `${JSON.stringify(f)}\n`)
          .join(''),
      );
    }
    return { file: `${this.location}${date}/`, stored: byId.size, added, updated };
  }
}

export function findingsStoreOf(location: StoreLocation): FindingsStore {
  return 'directory' in location ? new DirectoryFindingsStore(location.directory) : new PartsFindingsStore(new S3BlobStore(location.s3));
}
