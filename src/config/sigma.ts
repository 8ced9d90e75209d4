import { z } from 'zod';
import { SIGMAHQ_CLOUDTRAIL_PACK, SIGMA_LEVELS, SigmaLoadError, loadSigma, type SigmaDocument, type SigmaRule } from '../sigma';
import { suppressionOptions } from '../rules/options';
import type { SigmaOptions } from '../rules/sigma';

const suppression = suppressionOptions({ enabled: true, duration: 'PT1H', keyFields: ['accountId', 'user'] });

/**
 * `rules.sigma` of the config file: which Sigma rule files to load and how their findings become
 * incidents. `{ "enabled": true }` alone turns on the SigmaHQ CloudTrail pack shipped with trailwarden.
 */
export const sigmaConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** the shipped SigmaHQ CloudTrail pack; by default on when no paths are given */
  pack: z.boolean().optional(),
  /** rule files and folders (*.yml, *.yaml, recursively), relative to the config file */
  paths: z.array(z.string().min(1)).default([]),
  /** rule and correlation ids to leave out */
  exclude: z.array(z.string().min(1)).default([]),
  /** keep only rules of these levels */
  levels: z.array(z.enum(SIGMA_LEVELS as [string, ...string[]])).optional(),
  /** values of `expand` placeholders, by name without the percent signs */
  placeholders: z.record(z.string(), z.array(z.string())).default({}),
  /** every Sigma rule's suppression (default: by rule, account and user, PT1H) */
  suppression,
  /** per rule id: turn one off, or give it its own suppression */
  rules: z.record(z.string(), z.strictObject({ enabled: z.boolean().default(true), suppression: suppression.optional() })).default({}),
});
export type SigmaConfig = z.output<typeof sigmaConfigSchema>;

/** The options of each loaded Sigma rule, by id (each carries its document; a correlation its rules'). */
export function sigmaRuleOptions(config: SigmaConfig, resolvePath: (where: string, path: string) => string): Record<string, SigmaOptions> {
  if (!config.enabled) return {};
  const paths = config.paths.map((path, index) => resolvePath(`rules.sigma.paths.${index}`, path));
  if (config.pack ?? config.paths.length === 0) paths.unshift(SIGMAHQ_CLOUDTRAIL_PACK);
  let documents: SigmaDocument[];
  try {
    documents = loadSigma(paths, {
      exclude: config.exclude,
      ...(config.levels ? { levels: config.levels as SigmaRule['level'][] } : {}),
      placeholders: config.placeholders,
    });
  } catch (error) {
    if (error instanceof SigmaLoadError) throw new SigmaConfigError(`rules.sigma: ${error.message}`);
    throw error;
  }
  const byId = new Map(documents.map((document) => [document.id, document]));
  for (const id of Object.keys(config.rules)) {
    if (!byId.has(id)) throw new SigmaConfigError(`rules.sigma.rules: "${id}" is not the id of a loaded Sigma rule`);
  }
  // the rules a correlation refers to make no findings of their own unless it says `generate` (spec v2)
  const baseOnly = new Set(documents.flatMap((document) => (document.kind === 'correlation' && !document.generate ? document.rules : [])));
  for (const document of documents) if (document.kind === 'correlation' && document.generate) for (const id of document.rules) baseOnly.delete(id);
  const options: Record<string, SigmaOptions> = {};
  for (const document of documents) {
    const own = config.rules[document.id];
    if ((own && !own.enabled) || baseOnly.has(document.id)) continue;
    const bases = document.kind === 'correlation' ? document.rules.map((id) => byId.get(id)).filter((rule): rule is SigmaRule => rule?.kind === 'rule') : [];
    options[document.id] = { enabled: true, suppression: own?.suppression ?? config.suppression, sigma: document, bases };
  }
  return options;
}

/** A Sigma rule the config loads is refused: the loader turns it into a usage error (exit 2). */
export class SigmaConfigError extends Error {
  override name = 'SigmaConfigError';
}
