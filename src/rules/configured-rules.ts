import { ruleById } from './index';
import { sigmaDocumentOf, sigmaRule } from './sigma';
import type { ConfiguredRule } from './selection';

/** The enabled rules of a scan, with options already validated by the CLI's config loader. */
export function configuredRules(rules: Record<string, unknown>): ConfiguredRule[] {
  return Object.entries(rules).map(([id, options]) => {
    // a Sigma rule's options carry its document
    const document = sigmaDocumentOf(options);
    const rule = ruleById(id) ?? (document?.id === id ? sigmaRule(document) : undefined);
    if (!rule) throw new Error(`unknown rule id ${id}`);
    return { rule, options: rule.optionsSchema.parse(options) };
  });
}
