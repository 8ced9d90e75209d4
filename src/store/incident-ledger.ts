import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inLanes } from '../common/lanes';
import { type BlobStore, type StoreLocation, blobStoreOf, keySegment } from './blob-store';

/** Before claims existed, the directory ledger was one appended file per date: still read. */
export function ledgerFile(directory: string, date: string): string {
  return join(directory, 'incidents', `${date}.jsonl`);
}

export interface LedgerEntry {
  findingId: string;
  incidentId: string;
  runId: string;
  /** the incident's key and window, so that whoever finishes the routing signals the same incident */
  ruleId?: string;
  key?: Record<string, string>;
  windowMs?: number;
}

export interface LedgerState {
  /** the claim on a finding: the incident it goes to, whoever routes it */
  claim: LedgerEntry;
  /** the incident has been signalled with it */
  routed: boolean;
}

/**
 * Which finding went to which incident, beside the findings (`incidents/<date>/<finding id>.claim` and
 * `.routed`). A finding is claimed once, atomically (createIfAbsent: `wx`/link in a folder,
 * `If-None-Match: *` on S3), with the incident it goes to; the incident is signalled (the
 * IncidentWorkflow ignores finding ids it has seen), and then the finding is marked routed. A retry,
 * a second worker or a re-scan finds the claim and signals the same incident, or finds it routed and
 * does nothing: no finding is notified twice, whichever worker runs the routing and however often.
 */
export class IncidentLedger {
  constructor(
    private readonly blobs: BlobStore,
    private readonly legacyDirectory?: string,
  ) {}

  private base(date: string, findingId: string): string {
    return `incidents/${date}/${keySegment(findingId)}`;
  }

  /** Claims the finding for `entry`'s incident, or returns the claim another run made first. */
  async claim(date: string, entry: LedgerEntry): Promise<LedgerEntry> {
    const key = `${this.base(date, entry.findingId)}.claim`;
    if (await this.blobs.createIfAbsent(key, JSON.stringify(entry))) return entry;
    for (let attempt = 0; attempt < 20; attempt++) {
      const body = await this.blobs.get(key);
      if (body) return JSON.parse(body.toString('utf8')) as LedgerEntry;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`ledger claim ${key} exists but cannot be read`);
  }

  /** The claim on a finding, or undefined when nobody claimed it. */
  async claimOf(date: string, findingId: string): Promise<LedgerEntry | undefined> {
    const body = await this.blobs.get(`${this.base(date, findingId)}.claim`);
    return body ? (JSON.parse(body.toString('utf8')) as LedgerEntry) : undefined;
  }

  async markRouted(date: string, findingIds: readonly string[]): Promise<void> {
    await inLanes(findingIds, 16, (id) => this.blobs.put(`${this.base(date, id)}.routed`, ''));
  }

  /** Finding ids of `date` whose incident was signalled (one listing, no reads). */
  async routedIds(date: string): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const key of await this.blobs.list(`incidents/${date}/`)) {
      if (key.endsWith('.routed')) ids.add(key.slice(`incidents/${date}/`.length, -'.routed'.length));
    }
    for (const entry of this.legacy(date)) ids.add(keySegment(entry.findingId));
    return ids;
  }

  isRouted(routed: Set<string>, findingId: string): boolean {
    return routed.has(keySegment(findingId));
  }

  /** Every claim of a date, with whether it was routed. */
  async read(date: string): Promise<Map<string, LedgerState>> {
    const out = new Map<string, LedgerState>();
    for (const entry of this.legacy(date)) out.set(entry.findingId, { claim: entry, routed: true });
    const keys = await this.blobs.list(`incidents/${date}/`);
    const routed = new Set(keys.filter((k) => k.endsWith('.routed')).map((k) => k.slice(0, -'.routed'.length)));
    for (const key of keys.filter((k) => k.endsWith('.claim'))) {
      const body = await this.blobs.get(key);
      if (!body) continue;
      const claim = JSON.parse(body.toString('utf8')) as LedgerEntry;
      out.set(claim.findingId, { claim, routed: routed.has(key.slice(0, -'.claim'.length)) });
    }
    return out;
  }

  private legacy(date: string): LedgerEntry[] {
    if (!this.legacyDirectory) return [];
    const file = ledgerFile(this.legacyDirectory, date);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as LedgerEntry);
  }
}

/** The ledger beside a findings store: in the findings folder, or under the findings S3 prefix. */
export function incidentLedgerOf(location: StoreLocation): IncidentLedger {
  return new IncidentLedger(blobStoreOf(location), 'directory' in location ? location.directory : undefined);
}
