import { z } from 'zod';
import { parseIsoDuration } from '../config/duration';

/** An ISO-8601 duration kept as text in config and workflow inputs; validated on parse. */
export const isoDuration = z.string().refine(
  (text) => {
    try {
      parseIsoDuration(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an ISO-8601 duration such as PT1H or P1DT30M' },
);

/** One allowlist entry: it matches a record when every field it names matches. */
export const excludeEntry = z
  .strictObject({
    user: z.string().optional(),
    /** glob: "*" matches any run of characters, "?" one character; "/" is not special */
    arn: z.string().optional(),
    documentName: z.string().optional(),
    accountId: z.string().optional(),
  })
  .refine((entry) => Object.values(entry).some((v) => v !== undefined), {
    message: 'an exclude entry must name at least one of user, arn, documentName, accountId',
  });
export type ExcludeEntry = z.infer<typeof excludeEntry>;

export const suppressionOptions = (defaults: { enabled: boolean; duration: string; keyFields: string[] }) =>
  z
    .strictObject({
      enabled: z.boolean().default(defaults.enabled),
      duration: isoDuration.default(defaults.duration),
      keyFields: z.array(z.string().min(1)).min(1).default(defaults.keyFields),
    })
    .default(defaults);

/** The fields an exclude entry is compared with, taken from one record by the rule. */
export interface ExcludeSubject {
  user: string;
  arn: string;
  documentName: string;
  accountId: string;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 's');
}

/** True when some entry of the allowlist matches the subject. */
export function isExcluded(entries: readonly ExcludeEntry[], subject: ExcludeSubject): boolean {
  return entries.some(
    (entry) =>
      (entry.user === undefined || entry.user === subject.user) &&
      (entry.arn === undefined || globToRegExp(entry.arn).test(subject.arn)) &&
      (entry.documentName === undefined || entry.documentName === subject.documentName) &&
      (entry.accountId === undefined || entry.accountId === subject.accountId),
  );
}
