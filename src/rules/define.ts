import { findingId } from './finding-id';
import type { CommonFinding, Rule, SelectedEvent } from './types';

/** What a rule module writes; `tactics` and `techniques` follow from its `attacks`. */
export type RuleCard<Options, Selected extends SelectedEvent, F extends CommonFinding> = Omit<Rule<Options, Selected, F>, 'tactics' | 'techniques'>;

export function defineRule<Options, Selected extends SelectedEvent, F extends CommonFinding>(card: RuleCard<Options, Selected, F>): Rule<Options, Selected, F> {
  return {
    ...card,
    tactics: [...new Set(card.attacks.map((a) => a.tactic.name))],
    techniques: [...new Set(card.attacks.map((a) => (a.subTechnique ?? a.technique).id))],
  };
}

/** The fields every finding of a rule starts with; its id comes from `identity`, the parts that name it. */
export function findingHeader<Id extends string>(rule: { id: Id } & Pick<Rule, 'name' | 'severity' | 'tactics' | 'techniques'>, identity: string[]) {
  return {
    id: findingId(rule.id, ...identity),
    ruleId: rule.id,
    ruleName: rule.name,
    severity: rule.severity,
    tactics: [...rule.tactics],
    techniques: [...rule.techniques],
  };
}

/** The distinct non-empty values, in first-seen order. */
export function present(...values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}
