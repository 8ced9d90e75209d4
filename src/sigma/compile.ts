import type { CompiledSigmaRule, SigmaRule } from './types';

export function compileSigmaRule(rule: SigmaRule): CompiledSigmaRule {
  return { rule, matches: () => false, prefilter: {} };
}
