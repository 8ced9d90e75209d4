/** The shapes of the specification's JSON schemas (detection rules and correlation rules v2), in zod. */
import { z } from 'zod';
import { SIGMA_LEVELS } from './types';

const DATE = /^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$/;
const TAG = /^[a-z0-9_-]+\.[a-z0-9._-]+$/;

const unique = <T extends z.ZodType>(item: T) => z.array(item).refine((a) => new Set(a).size === a.length, { message: 'has duplicate items' });

const common = {
  title: z.string().min(1).max(256),
  id: z.string().trim().min(1),
  name: z.string().min(1).max(256).optional(),
  status: z.enum(['stable', 'test', 'experimental', 'deprecated', 'unsupported']).optional(),
  description: z.string().max(65535).optional(),
  license: z.string().optional(),
  author: z.string().optional(),
  references: unique(z.string()).optional(),
  date: z.string().regex(DATE, 'is not a date YYYY-MM-DD').optional(),
  modified: z.string().regex(DATE, 'is not a date YYYY-MM-DD').optional(),
  taxonomy: z.string().max(256).optional(),
  falsepositives: unique(z.string().min(2)).optional(),
  level: z.enum(SIGMA_LEVELS as [string, ...string[]]).optional(),
  tags: unique(z.string().regex(TAG, 'is not a namespaced tag like attack.t1234')).optional(),
};

export const ruleSchema = z.looseObject({
  ...common,
  related: z.array(z.looseObject({ id: z.string(), type: z.enum(['derived', 'obsolete', 'merged', 'renamed', 'similar']) })).optional(),
  logsource: z.looseObject({
    category: z.string().optional(),
    product: z.string().optional(),
    service: z.string().optional(),
    definition: z.string().optional(),
  }),
  detection: z.record(z.string(), z.unknown()),
  fields: unique(z.string()).optional(),
  scope: z.array(z.string().min(2)).optional(),
});
export type RuleDocument = z.infer<typeof ruleSchema>;

const count = z.number().int();
export const correlationSchema = z.looseObject({
  ...common,
  generate: z.boolean().optional(),
  correlation: z.looseObject({
    type: z.string(),
    rules: unique(z.string().min(2)).refine((a) => a.length > 0, { message: 'is empty' }),
    aliases: z.record(z.string(), z.record(z.string(), z.string())).optional(),
    'group-by': unique(z.string()),
    timespan: z.string().max(10),
    condition: z
      .strictObject({
        gt: count.optional(),
        gte: count.optional(),
        lt: count.optional(),
        lte: count.optional(),
        eq: count.optional(),
        neq: count.optional(),
        field: z.union([z.string().max(256), z.array(z.string().max(256))]).optional(),
      })
      .optional(),
  }),
});
export type CorrelationDocument = z.infer<typeof correlationSchema>;

/** The first problem zod found, as "path: message". */
export function schemaProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length > 0 ? issue.path.join('.') : 'document';
  return `${where}: ${issue.message}`;
}
