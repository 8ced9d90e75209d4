import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { RULES } from '../rules';
import { SigmaConfigError, sigmaConfigSchema, sigmaRuleOptions } from './sigma';

/** The key of `rules` that loads Sigma rules (src/config/sigma.ts). */
const SIGMA_KEY = 'sigma';
import { parseIsoDuration } from './duration';
import type { StoreLocation } from '../store/blob-store';
import { type ChannelConfig, configSchema, type PayloadStorageConfig, type RawConfig, type Source } from './schema';

/** A configuration or argument problem: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A notification channel with its name and retry horizon settled. */
export type NamedChannel = ChannelConfig & { name: string; maxNotificationAgeMs: number };

export interface IncidentSettings {
  enabled: boolean;
  channels: NamedChannel[];
  evidenceLimit: number;
  webUiUrl: string;
}

/** The configuration a scan carries in its workflow input: paths absolute, rule options complete. */
/** What a scan takes of a loaded config: the same fields, unchecked (scanConfigOf checks them for the CLI). */
export function scanConfigFields(config: Pick<LoadedConfig, keyof ScanConfig>): ScanConfig {
  return {
    sources: config.sources,
    rules: config.rules,
    findingsDirectory: config.findingsDirectory,
    findingsStore: config.findingsStore,
    maxConcurrentPartitions: config.maxConcurrentPartitions,
    incidents: config.incidents,
  };
}

export interface ScanConfig {
  sources: Source[];
  /** rule id -> validated options, for enabled rules only */
  rules: Record<string, unknown>;
  /** the findings folder; "" when findings are on S3 (findingsStore) */
  findingsDirectory: string;
  /** partition activities in flight at once across a scan (absent in runs started before it existed) */
  maxConcurrentPartitions?: number;
  /** where findings and the incident ledger are; absent in runs started before it existed (then: findingsDirectory) */
  findingsStore?: StoreLocation;
  /** absent in runs started before incidents existed */
  incidents?: IncidentSettings;
}

export interface LoadedConfig extends ScanConfig {
  file?: string;
  temporal: RawConfig['temporal'];
  /** `trailwarden watch` settings */
  watch?: RawConfig['watch'];
  /** External Storage for large payloads (this process's data converter); paths absolute */
  payloadStorage?: PayloadStorageConfig;
  /** config keys whose value was a relative path (resolved here, so only right on this machine) */
  relativePaths: string[];
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The known key closest to `key`, when it is close enough to be a typo of it. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.min(3, Math.floor(best.length / 3))) ? best : undefined;
}

type AnySchema = z.core.$ZodType;

/** The keys an object schema allows at `path` in `input` (unions resolved by the input's "type"). */
function keysAt(schema: AnySchema, path: readonly PropertyKey[], input: unknown): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  switch (def.type) {
    case 'default':
    case 'optional':
    case 'nullable':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return keysAt(def.innerType as AnySchema, path, input);
    case 'pipe':
      return keysAt(def.in as AnySchema, path, input);
    case 'object': {
      const shape = def.shape as Record<string, AnySchema>;
      if (!path.length) return Object.keys(shape);
      const next = shape[String(path[0])];
      return next ? keysAt(next, path.slice(1), (input as Record<string, unknown> | undefined)?.[String(path[0])]) : [];
    }
    case 'array':
      return path.length ? keysAt(def.element as AnySchema, path.slice(1), (input as unknown[] | undefined)?.[Number(path[0])]) : [];
    case 'record':
      return path.length ? keysAt(def.valueType as AnySchema, path.slice(1), (input as Record<string, unknown> | undefined)?.[String(path[0])]) : [];
    case 'union': {
      const options = def.options as AnySchema[];
      const type = (input as { type?: unknown } | undefined)?.type;
      const matching = options.filter((option) => {
        const shape = ((option as unknown as { _zod: { def: { shape?: Record<string, AnySchema> } } })._zod.def.shape ?? {}) as Record<string, AnySchema>;
        const literal = shape.type as unknown as { _zod?: { def?: { values?: unknown[] } } } | undefined;
        return literal?._zod?.def?.values?.includes(type);
      });
      return [...new Set((matching.length ? matching : options).flatMap((option) => keysAt(option, path, input)))];
    }
    default:
      return [];
  }
}

function describeIssue(issue: z.core.$ZodIssue, root: string, schema?: AnySchema, input?: unknown): string {
  const where = [root, ...issue.path.map(String)].filter(Boolean).join('.');
  if (issue.code === 'unrecognized_keys') {
    const known = schema ? keysAt(schema, issue.path, input) : [];
    const keys = issue.keys.map((k) => {
      const close = closestKey(
        k,
        known.filter((c) => !issue.keys.includes(c)),
      );
      return `"${k}"${close ? ` (did you mean "${close}"?)` : ''}`;
    });
    return `${where ? `${where}: ` : ''}unknown key ${keys.join(', ')}`;
  }
  return `${where || '(top level)'}: ${issue.message}`;
}

/** The problem to report: an unknown key first (a typo also makes its key "missing", which says less). */
function firstProblem(error: z.ZodError, root = '', schema?: AnySchema, input?: unknown): string {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? firstUnionKeyIssue(error) ?? error.issues[0];
  return describeIssue(issue, root, schema, input);
}

/** zod reports a union member's unknown keys inside the union issue; bring one out with its full path. */
function firstUnionKeyIssue(error: z.ZodError): z.core.$ZodIssue | undefined {
  for (const issue of error.issues) {
    if (issue.code !== 'invalid_union') continue;
    for (const branch of issue.errors) {
      const inner = branch.find((i) => i.code === 'unrecognized_keys');
      if (inner) return { ...inner, path: [...issue.path, ...inner.path] };
    }
  }
  return undefined;
}

/** Keys named "//" or starting with "//" are comments, in any object of the file; they are dropped before checking. */
export function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !key.startsWith('//'))
        .map(([key, v]) => [key, withoutComments(v)]),
    );
  }
  return value;
}

/**
 * Relative paths are taken from the config file's folder (from the working directory when there is
 * no file, or when only that reading names something that exists).
 */
function resolvePath(path: string, baseDir: string): string {
  if (isAbsolute(path)) return path;
  const fromConfig = resolve(baseDir, path);
  const fromCwd = resolve(path);
  return !existsSync(fromConfig) && existsSync(fromCwd) ? fromCwd : fromConfig;
}

export function parseConfig(original: unknown, file?: string): LoadedConfig {
  const input = withoutComments(original);
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) throw new UsageError(`config${file ? ` ${file}` : ''}: ${firstProblem(parsed.error, '', configSchema, input)}`);
  const raw = parsed.data;
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  const rules: Record<string, unknown> = {};
  const known = new Set(RULES.map((rule) => rule.id));
  for (const id of Object.keys(raw.rules)) {
    if (!known.has(id) && id !== SIGMA_KEY) throw new UsageError(`config: rules: unknown rule id "${id}" (known: ${[...known, SIGMA_KEY].join(', ')})`);
  }
  for (const rule of RULES) {
    const options = rule.optionsSchema.safeParse(raw.rules[rule.id] ?? {});
    if (!options.success) {
      throw new UsageError(`config: ${firstProblem(options.error, `rules.${rule.id}`, rule.optionsSchema as AnySchema, raw.rules[rule.id])}`);
    }
    if ((options.data as { enabled: boolean }).enabled) rules[rule.id] = options.data;
  }
  const relativePaths: string[] = [];
  const resolveAt = (where: string, path: string) => {
    if (!isAbsolute(path)) relativePaths.push(where);
    return resolvePath(path, baseDir);
  };
  if (raw.rules[SIGMA_KEY] !== undefined) {
    const sigma = sigmaConfigSchema.safeParse(raw.rules[SIGMA_KEY]);
    if (!sigma.success)
      throw new UsageError(`config: ${firstProblem(sigma.error, `rules.${SIGMA_KEY}`, sigmaConfigSchema as AnySchema, raw.rules[SIGMA_KEY])}`);
    try {
      // read here: the documents travel in the scan's input, so a path is only ever read on this machine
      for (const [id, options] of Object.entries(sigmaRuleOptions(sigma.data, (_where, path) => resolvePath(path, baseDir)))) {
        if (known.has(id)) throw new UsageError(`config: rules.sigma: the Sigma rule ${id} has a built-in rule's id`);
        rules[id] = options;
      }
    } catch (error) {
      if (error instanceof SigmaConfigError) throw new UsageError(`config: ${error.message}`);
      throw error;
    }
  }
  const sources = raw.sources.map((source, index) =>
    source.type === 'directory' ? { ...source, path: resolveAt(`sources.${index}.path`, source.path) } : source,
  );
  const names = new Set<string>();
  const channels = raw.notifications.map((channel, index): NamedChannel => {
    const name = channel.name ?? `${channel.type}-${index}`;
    if (names.has(name)) throw new UsageError(`config: notifications.${index}.name: "${name}" is used twice`);
    names.add(name);
    const path = channel.type === 'file' ? { path: resolveAt(`notifications.${index}.path`, channel.path) } : {};
    return { ...channel, ...path, name, maxNotificationAgeMs: parseIsoDuration(channel.maxNotificationAge ?? raw.incidents.maxNotificationAge) };
  });
  const findingsDirectory = raw.findings.s3 ? '' : resolveAt('findings.directory', raw.findings.directory ?? DEFAULT_FINDINGS_DIRECTORY);
  return {
    file,
    sources,
    rules,
    findingsDirectory,
    maxConcurrentPartitions: raw.maxConcurrentPartitions,
    findingsStore: raw.findings.s3 ? { s3: raw.findings.s3 } : { directory: findingsDirectory },
    payloadStorage:
      raw.payloadStorage?.type === 'directory'
        ? { ...raw.payloadStorage, path: resolveAt('payloadStorage.path', raw.payloadStorage.path) }
        : raw.payloadStorage,
    relativePaths,
    incidents: { enabled: raw.incidents.enabled, channels, evidenceLimit: raw.incidents.evidenceLimit, webUiUrl: raw.webUiUrl },
    temporal: raw.temporal,
    watch: raw.watch,
  };
}

export const DEFAULT_FINDINGS_DIRECTORY = '.trailwarden/findings';

export const DEFAULT_CONFIG_FILE = 'trailwarden.config.json';

/** Reads --config, else $TRAILWARDEN_CONFIG, else ./trailwarden.config.json when it exists, else defaults. */
export function loadConfig(explicitFile?: string): LoadedConfig {
  const file = explicitFile ?? process.env.TRAILWARDEN_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (!file) return parseConfig({});
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(json, file);
}

/** Every environment variable a channel names must be set where the worker runs; the CLI checks its own. */
export function checkChannelEnvironment(channels: readonly NamedChannel[], env: NodeJS.ProcessEnv = process.env): void {
  for (const [index, channel] of channels.entries()) {
    const variable = channel.type === 'webhook' ? channel.secretEnv : channel.type === 'slack' ? channel.urlEnv : undefined;
    if (variable && !env[variable]) {
      throw new UsageError(`config: notifications.${index} (${channel.name}): environment variable ${variable} is not set`);
    }
  }
}

/** A Temporal address on this machine (a dev server): its workers and clients share this disk. */
export function isLoopback(address: string): boolean {
  const host = address.startsWith('[') ? address.slice(1, address.indexOf(']')) : address.split(':')[0];
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

/**
 * A config used against a Temporal service on another machine names stores its workers reach: a
 * relative path there was resolved on this machine and means nothing to them. Refused (exit 2);
 * `--embedded`, `dev` and `demo` run their worker here and may use relative folders.
 */
export function checkPathsForRemote(config: LoadedConfig, address: string): void {
  if (isLoopback(address) || !config.relativePaths.length) return;
  throw new UsageError(
    `config${config.file ? ` ${config.file}` : ''}: ${config.relativePaths.join(', ')}: a relative path is resolved on this machine, ` +
      `but the workers of ${address} run elsewhere: give an absolute path they share, or an s3 store`,
  );
}
