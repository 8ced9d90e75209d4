/**
 * A local stand-in for the CloudTrail `LookupEvents` API (AWS JSON 1.1 protocol), built on node:http only, so the
 * unchanged `@aws-sdk/client-cloudtrail` can talk to it with `endpoint: server.endpoint`.
 *
 * What it imitates (see /work/shared/spec/CLOUDTRAIL.md):
 * - scope: the SigV4 `Authorization` header's `Credential=<AKID>/<date>/<region>/cloudtrail/aws4_request` gives the
 *   access key and the region; only records with `awsRegion === region` are served, and, when the key is listed in
 *   `accounts`, only records with `recipientAccountId === accounts[key]` (an unknown key sees every account);
 * - management events only: records with `eventCategory: "Data"` or `managementEvent: false` are never served, and
 *   Insights records (`eventCategory: "Insight"`) only when the request asks for `EventCategory: "insight"`;
 *   the 90-day retention is NOT imitated (fixtures may be old);
 * - `StartTime <= eventTime <= EndTime` (epoch seconds, inclusive, absent bound = unbounded);
 * - at most one lookup attribute (`EventName`, `EventId`, `Username`, `EventSource`, `ResourceType`, `ResourceName`,
 *   `ReadOnly`, `AccessKeyId`);
 * - newest first (eventTime desc, ties eventID desc), duplicates (same eventID) served once (first one wins);
 * - `MaxResults` 1..50 (default 50), opaque `NextToken` bound to the request parameters and the caller's scope;
 * - throttling: injected through `throttle`, and enforced per (access key, region): every LookupEvents request received
 *   counts towards a 1000 ms sliding window, whatever its outcome; a request that makes the window hold more than
 *   `requestsPerSecond` requests is answered `ThrottlingException` and counted in `budgetViolations`.
 *
 * Errors are HTTP 400 (403 for a missing signature) with body `{"__type":"com.amazonaws.cloudtrail.v20131101#<Name>",
 * "Message":...}` and header `x-amzn-ErrorType: <Name>`; the SDK reads `__type` first.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LookupServerOptions {
  /** full CloudTrail records; a record belongs to account recipientAccountId and region awsRegion */
  records: Record<string, unknown>[];
  /** access key id -> account id; requests are signed (SigV4) and the Authorization header's Credential=<AKID>/<date>/<region>/cloudtrail/aws4_request gives the key and the region. An unknown key sees every account. */
  accounts?: Record<string, string>;
  /** decides per request (0-based index over all requests) whether to answer ThrottlingException instead; default never */
  throttle?: (requestIndex: number) => boolean;
  /** enforced budget per (access key, region): more than this many requests within any 1000 ms sliding window are answered with ThrottlingException and counted in budgetViolations; default 2 */
  requestsPerSecond?: number;
  /** optional delay in ms before answering each request */
  delayMs?: number;
  /** answers with this error (HTTP 400, or 403 for AccessDenied*) instead of events, for permanent-error tests */
  fail?: (scope: { accessKeyId: string; region: string }) => string | undefined;
}

export interface LookupRequestLog {
  at: number;
  accessKeyId: string;
  region: string;
  eventName?: string;
  startTime?: number;
  endTime?: number;
  maxResults?: number;
  nextToken?: string;
  status: number;
  errorType?: string;
  returned: number;
}

export interface LookupServer {
  endpoint: string; // http://127.0.0.1:<port>
  requests: LookupRequestLog[];
  budgetViolations: number;
  injectedThrottles: number;
  setThrottle(fn: (requestIndex: number) => boolean): void;
  /** serves these records too from now on (events that appear in LookupEvents later, for the watch) */
  addRecords(records: Record<string, unknown>[]): void;
  close(): Promise<void>;
}

const TARGETS = new Set([
  'CloudTrail_20131101.LookupEvents', // what the current (schema-based) SDK sends
  'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents', // what older SDKs / the CLI send
]);
const ERROR_NAMESPACE = 'com.amazonaws.cloudtrail.v20131101';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_RESULTS = 50;
const WINDOW_MS = 1000;
const ATTRIBUTE_KEYS = new Set(['EventName', 'EventId', 'Username', 'EventSource', 'ResourceType', 'ResourceName', 'ReadOnly', 'AccessKeyId']);

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface Resource {
  ResourceType?: string;
  ResourceName?: string;
}

interface StoredEvent {
  record: Record<string, unknown>;
  eventId: string;
  eventTime: number; // epoch seconds
  account?: string;
  region?: string;
  category: 'management' | 'insight' | 'data';
  username?: string;
  accessKeyId?: string;
  readOnly?: string;
  resources: Resource[];
}

interface Scope {
  accessKeyId: string;
  region: string;
}

interface LookupInput {
  attribute?: { key: string; value: string };
  startTime?: number;
  endTime?: number;
  maxResults: number;
  eventCategory?: string;
  nextToken?: string;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const obj = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** The `Username` LookupEvents shows: the IAM user name, the session name of an assumed role, `root` for the root user. */
function usernameOf(record: Record<string, unknown>): string | undefined {
  const identity = obj(record.userIdentity);
  if (!identity) return undefined;
  const userName = str(identity.userName);
  if (userName) return userName;
  const type = str(identity.type);
  const arn = str(identity.arn);
  if ((type === 'AssumedRole' || type === 'FederatedUser') && arn) return arn.split('/').pop();
  if (type === 'Root') return 'root';
  return undefined;
}

function toStored(record: Record<string, unknown>): StoredEvent | undefined {
  const eventId = str(record.eventID);
  const rawTime = str(record.eventTime);
  if (!eventId || !rawTime) return undefined;
  const ms = Date.parse(rawTime);
  if (Number.isNaN(ms)) return undefined;
  const eventCategory = str(record.eventCategory);
  const category =
    eventCategory === 'Insight' || record.eventType === 'AwsCloudTrailInsight'
      ? 'insight'
      : eventCategory === 'Data' || record.managementEvent === false
        ? 'data'
        : 'management';
  const resources: Resource[] = [];
  if (Array.isArray(record.resources)) {
    for (const r of record.resources) {
      const res = obj(r);
      if (!res) continue;
      const resource: Resource = {};
      const type = str(res.type);
      const name = str(res.ARN) ?? str(res.ARNPrefix);
      if (type !== undefined) resource.ResourceType = type;
      if (name !== undefined) resource.ResourceName = name;
      resources.push(resource);
    }
  }
  return {
    record,
    eventId,
    eventTime: ms / 1000,
    account: str(record.recipientAccountId),
    region: str(record.awsRegion),
    category,
    username: usernameOf(record),
    accessKeyId: str(obj(record.userIdentity)?.accessKeyId),
    readOnly: typeof record.readOnly === 'boolean' ? String(record.readOnly) : str(record.readOnly),
    resources,
  };
}

function matchesAttribute(event: StoredEvent, key: string, value: string): boolean {
  switch (key) {
    case 'EventName':
      return event.record.eventName === value;
    case 'EventId':
      return event.eventId === value;
    case 'Username':
      return event.username === value;
    case 'EventSource':
      return event.record.eventSource === value;
    case 'ResourceType':
      return event.resources.some((r) => r.ResourceType === value);
    case 'ResourceName':
      return event.resources.some((r) => r.ResourceName === value);
    case 'ReadOnly':
      return event.readOnly === value;
    case 'AccessKeyId':
      return event.accessKeyId === value;
    default:
      return false;
  }
}

function toSummary(event: StoredEvent): Record<string, unknown> {
  const summary: Record<string, unknown> = {
    EventId: event.eventId,
    EventName: event.record.eventName,
    EventTime: event.eventTime,
    EventSource: event.record.eventSource,
  };
  if (event.username !== undefined) summary.Username = event.username;
  if (event.readOnly !== undefined) summary.ReadOnly = event.readOnly;
  if (event.accessKeyId !== undefined) summary.AccessKeyId = event.accessKeyId;
  summary.Resources = event.resources;
  summary.CloudTrailEvent = JSON.stringify(event.record);
  return summary;
}

/** `Credential=<AKID>/<date>/<region>/<service>/aws4_request` from a SigV4 Authorization header. */
function parseScope(authorization: string | undefined): Scope | undefined {
  if (!authorization) return undefined;
  const match = /Credential=([^/,\s]+)\/[^/,\s]+\/([^/,\s]+)\/[^/,\s]+\/aws4_request/.exec(authorization);
  if (!match) return undefined;
  return { accessKeyId: match[1]!, region: match[2]! };
}

function parseTime(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms / 1000;
  }
  throw new ApiError('SerializationException', `${name} must be a timestamp in epoch seconds`);
}

function parseInput(body: unknown): LookupInput {
  const input = obj(body);
  if (!input) throw new ApiError('SerializationException', 'request body must be a JSON object');
  const result: LookupInput = { maxResults: MAX_RESULTS };

  const attributes = input.LookupAttributes;
  if (attributes !== undefined && attributes !== null) {
    if (!Array.isArray(attributes)) throw new ApiError('SerializationException', 'LookupAttributes must be a list');
    if (attributes.length > 1) throw new ApiError('InvalidLookupAttributesException', 'You can only specify one lookup attribute per request.');
    if (attributes.length === 1) {
      const attribute = obj(attributes[0]);
      const key = str(attribute?.AttributeKey);
      const value = str(attribute?.AttributeValue);
      if (!key || !ATTRIBUTE_KEYS.has(key)) throw new ApiError('InvalidLookupAttributesException', `Invalid AttributeKey: ${String(attribute?.AttributeKey)}`);
      if (value === undefined || value === '') throw new ApiError('InvalidLookupAttributesException', 'AttributeValue must not be empty');
      result.attribute = { key, value };
    }
  }

  result.startTime = parseTime(input.StartTime, 'StartTime');
  result.endTime = parseTime(input.EndTime, 'EndTime');
  if (result.startTime !== undefined && result.endTime !== undefined && result.startTime > result.endTime) {
    throw new ApiError('InvalidTimeRangeException', 'Start time must be before end time.');
  }

  if (input.MaxResults !== undefined && input.MaxResults !== null) {
    const max = input.MaxResults;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
      throw new ApiError('InvalidMaxResultsException', `MaxResults must be between 1 and ${MAX_RESULTS}.`);
    }
    result.maxResults = max;
  }

  if (input.EventCategory !== undefined && input.EventCategory !== null) {
    if (input.EventCategory !== 'insight') throw new ApiError('InvalidEventCategoryException', `Invalid EventCategory: ${String(input.EventCategory)}`);
    result.eventCategory = 'insight';
  }

  if (input.NextToken !== undefined && input.NextToken !== null) {
    if (typeof input.NextToken !== 'string' || input.NextToken === '') throw new ApiError('InvalidNextTokenException', 'Invalid NextToken.');
    result.nextToken = input.NextToken;
  }
  return result;
}

/** LookupEvents' order: newest first, ties by eventID descending. */
const newestFirst = (a: StoredEvent, b: StoredEvent) => b.eventTime - a.eventTime || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0);

export async function startLookupEventsServer(options: LookupServerOptions): Promise<LookupServer> {
  // Deduplicate on eventID (first occurrence wins), then sort newest first; ties by eventID descending.
  const seen = new Set<string>();
  const events: StoredEvent[] = [];
  for (const record of options.records) {
    const event = toStored(record);
    if (!event || seen.has(event.eventId)) continue;
    seen.add(event.eventId);
    events.push(event);
  }
  events.sort(newestFirst);

  const accounts = options.accounts ?? {};
  const budget = options.requestsPerSecond ?? 2;
  const delayMs = options.delayMs ?? 0;
  const secret = randomBytes(32);
  const windows = new Map<string, number[]>();
  const timers = new Set<NodeJS.Timeout>();
  let throttle = options.throttle ?? (() => false);
  let requestIndex = 0;

  const paramsDigest = (scope: Scope, input: LookupInput): string =>
    createHash('sha256')
      .update(
        JSON.stringify([
          scope.accessKeyId,
          scope.region,
          input.attribute?.key,
          input.attribute?.value,
          input.startTime,
          input.endTime,
          input.maxResults,
          input.eventCategory,
        ]),
      )
      .digest('base64url');
  const sign = (digest: string, offset: number): string => createHmac('sha256', secret).update(`${digest}:${offset}`).digest('base64url');
  const makeToken = (digest: string, offset: number): string => Buffer.from(JSON.stringify({ o: offset, s: sign(digest, offset) })).toString('base64url');
  const readToken = (token: string, digest: string): number => {
    let parsed: Record<string, unknown> | undefined;
    try {
      const bytes = Buffer.from(token, 'base64url');
      // Node's base64 decoding is lenient (ignores stray characters): insist on the canonical encoding.
      parsed = bytes.toString('base64url') === token ? obj(JSON.parse(bytes.toString('utf8'))) : undefined;
    } catch {
      parsed = undefined;
    }
    const offset = parsed?.o;
    const signature = str(parsed?.s);
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 && signature) {
      const expected = Buffer.from(sign(digest, offset));
      const given = Buffer.from(signature);
      if (expected.length === given.length && timingSafeEqual(expected, given)) return offset;
    }
    throw new ApiError('InvalidNextTokenException', 'Invalid NextToken. The token is invalid or was used with different request parameters.');
  };

  const overBudget = (scope: Scope, now: number): boolean => {
    const key = `${scope.accessKeyId}\u0000${scope.region}`;
    const window = (windows.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
    window.push(now);
    windows.set(key, window);
    return window.length > budget;
  };

  const lookup = (scope: Scope, input: LookupInput): { Events: Record<string, unknown>[]; NextToken?: string } => {
    const account = Object.prototype.hasOwnProperty.call(accounts, scope.accessKeyId) ? accounts[scope.accessKeyId] : undefined;
    const wanted = input.eventCategory === 'insight' ? 'insight' : 'management';
    const digest = paramsDigest(scope, input);
    const offset = input.nextToken === undefined ? 0 : readToken(input.nextToken, digest);
    const matching = events.filter(
      (e) =>
        e.category === wanted &&
        e.region === scope.region &&
        (account === undefined || e.account === account) &&
        (input.startTime === undefined || e.eventTime >= input.startTime) &&
        (input.endTime === undefined || e.eventTime <= input.endTime) &&
        (input.attribute === undefined || matchesAttribute(e, input.attribute.key, input.attribute.value)),
    );
    const page = matching.slice(offset, offset + input.maxResults);
    const next = offset + page.length;
    const response: { Events: Record<string, unknown>[]; NextToken?: string } = { Events: page.map(toSummary) };
    if (next < matching.length) response.NextToken = makeToken(digest, next);
    return response;
  };

  const handle = (req: IncomingMessage, body: string, log: LookupRequestLog): { status: number; payload: Record<string, unknown> } => {
    const index = requestIndex++;
    const scope = parseScope(req.headers.authorization);
    if (scope) {
      log.accessKeyId = scope.accessKeyId;
      log.region = scope.region;
    }
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || typeof target !== 'string' || !TARGETS.has(target)) {
      throw new ApiError('UnknownOperationException', `Unknown operation ${String(target)}`);
    }
    if (!scope) throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);

    let parsed: unknown;
    try {
      parsed = body === '' ? {} : JSON.parse(body);
    } catch {
      throw new ApiError('SerializationException', 'request body is not valid JSON');
    }
    // Log what was asked even if it turns out to be invalid.
    const raw = obj(parsed) ?? {};
    const rawAttributes = Array.isArray(raw.LookupAttributes) ? raw.LookupAttributes : [];
    const eventNameAttribute = rawAttributes.map(obj).find((a) => a?.AttributeKey === 'EventName');
    if (eventNameAttribute) log.eventName = str(eventNameAttribute.AttributeValue);
    if (typeof raw.StartTime === 'number') log.startTime = raw.StartTime;
    if (typeof raw.EndTime === 'number') log.endTime = raw.EndTime;
    if (typeof raw.MaxResults === 'number') log.maxResults = raw.MaxResults;
    if (typeof raw.NextToken === 'string') log.nextToken = raw.NextToken;

    const violated = overBudget(scope, log.at);
    const injected = throttle(index);
    if (violated) server.budgetViolations++;
    if (injected) server.injectedThrottles++;
    if (violated || injected) throw new ApiError('ThrottlingException', 'Rate exceeded');

    const failure = options.fail?.({ accessKeyId: scope.accessKeyId, region: scope.region });
    if (failure) throw new ApiError(failure, `injected ${failure}`, failure.startsWith('AccessDenied') ? 403 : 400);

    const response = lookup(scope, parseInput(parsed));
    log.returned = response.Events.length;
    return { status: 200, payload: response };
  };

  const respond = (res: ServerResponse, status: number, payload: Record<string, unknown>, errorType?: string): void => {
    if (res.destroyed) return;
    const data = JSON.stringify(payload);
    const headers: Record<string, string | number> = {
      'content-type': CONTENT_TYPE,
      'content-length': Buffer.byteLength(data),
      'x-amzn-requestid': randomUUID(),
    };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers);
    res.end(data);
  };

  const httpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const log: LookupRequestLog = { at: Date.now(), accessKeyId: '', region: '', status: 200, returned: 0 };
      server.requests.push(log);
      let status: number;
      let payload: Record<string, unknown>;
      let errorType: string | undefined;
      try {
        ({ status, payload } = handle(req, Buffer.concat(chunks).toString('utf8'), log));
      } catch (err) {
        const error = err instanceof ApiError ? err : new ApiError('InternalFailure', err instanceof Error ? err.message : String(err), 500);
        status = error.status;
        errorType = error.type;
        payload = { __type: `${ERROR_NAMESPACE}#${error.type}`, Message: error.message };
        log.errorType = error.type;
        log.returned = 0;
      }
      log.status = status;
      if (delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          respond(res, status, payload, errorType);
        }, delayMs);
        timers.add(timer);
      } else {
        respond(res, status, payload, errorType);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  const server: LookupServer = {
    endpoint: `http://127.0.0.1:${port}`,
    requests: [],
    budgetViolations: 0,
    injectedThrottles: 0,
    setThrottle(fn) {
      throttle = fn;
    },
    addRecords(records) {
      for (const record of records) {
        const event = toStored(record);
        if (!event || seen.has(event.eventId)) continue;
        seen.add(event.eventId);
        events.push(event);
      }
      events.sort(newestFirst);
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        httpServer.close((err) => (err ? reject(err) : resolve()));
        httpServer.closeAllConnections();
      });
      return closing;
    },
  };
  return server;
}
