/**
 * The S3 key layout of CloudTrail log files:
 *   [<prefix>/]AWSLogs/[<o-org>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz
 * The date folder and the file's timestamp are the delivery time, not the events' time.
 */
const TRAIL_KEY =
  /^(?:(.*)\/)?AWSLogs\/(?:(o-[a-z0-9]+)\/)?(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[A-Za-z0-9]+\.json\.gz$/;

export interface TrailKey {
  prefix: string;
  organizationId?: string;
  accountId: string;
  region: string;
  /** Delivery time from the file name, epoch ms (minute precision). */
  deliveredMs: number;
}

export type KeyKind = 'trail' | 'digest' | 'insight' | 'other';

export function parseTrailKey(key: string): TrailKey | undefined {
  const m = TRAIL_KEY.exec(key);
  if (!m) return undefined;
  const [, prefix = '', organizationId, accountId, region, , , , , , y, mo, d, h, mi] = m;
  return {
    prefix,
    organizationId,
    accountId,
    region,
    deliveredMs: Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi)),
  };
}

export function classifyKey(key: string): KeyKind {
  if (/(^|\/)CloudTrail-Digest\//.test(key)) return 'digest';
  if (/(^|\/)CloudTrail-Insight\//.test(key)) return 'insight';
  return TRAIL_KEY.test(key) ? 'trail' : 'other';
}

/** The folder holding one region's files, all its delivery days. */
export function regionFolder(base: string, accountId: string, region: string): string {
  return `${base}${accountId}/CloudTrail/${region}/`;
}

/** The folder holding one region's files of one UTC delivery day. */
export function dayFolder(base: string, accountId: string, region: string, dayMs: number): string {
  const day = new Date(dayMs).toISOString().slice(0, 10).replace(/-/g, '/');
  return `${regionFolder(base, accountId, region)}${day}/`;
}

/**
 * A key that sorts just before every file of the region named at `ms` or later (minute precision), and
 * after every one named before: a date folder's files differ only from their timestamp on, so
 * ListObjectsV2's StartAfter with it lists the tail.
 */
export function folderKeyAt(base: string, accountId: string, region: string, ms: number): string {
  const stamp = new Date(Math.floor(ms / 60_000) * 60_000).toISOString().replace(/[-:]/g, '').slice(0, 13);
  return `${dayFolder(base, accountId, region, ms)}${accountId}_CloudTrail_${region}_${stamp}Z`;
}

/** "AWSLogs/" under the prefix, with the organization folder when the trail is an organization trail. */
export function logsBase(prefix: string, organizationId?: string): string {
  const clean = prefix.replace(/^\/+|\/+$/g, '');
  return `${clean ? `${clean}/` : ''}AWSLogs/${organizationId ? `${organizationId}/` : ''}`;
}
