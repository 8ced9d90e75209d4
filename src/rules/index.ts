import { ssmCommandExecution } from './ssm-command-execution';
import { ssmOutputToForeignBucket } from './ssm-output-to-foreign-bucket';
import type { CommonFinding, FindingOf, FindingView, Rule, SelectedEvent } from './types';
import { isSigmaFinding, sigmaRuleOfFinding, type SigmaCard, type SigmaFinding } from './sigma';

export { ssmCommandExecution } from './ssm-command-execution';
export { ssmOutputToForeignBucket } from './ssm-output-to-foreign-bucket';
export type { SigmaCard, SigmaFinding } from './sigma';
export type { SsmCommandExecutionOptions, SsmCommandExecutionSelected } from './ssm-command-execution';
export type { SsmOutputToForeignBucketOptions, SsmOutputToForeignBucketSelected, SsmCommandSelected, ForeignPutSelected } from './ssm-output-to-foreign-bucket';

/** The built-in detections, rule 1 first: the one place that lists them. Adding a rule is one line here. */
const BUILT_IN = [ssmCommandExecution, ssmOutputToForeignBucket] as const;

/** A finding of any built-in rule, or of a Sigma rule. */
export type Finding = FindingOf<(typeof BUILT_IN)[number]> | SigmaFinding;

/**
 * A rule whose options and selected events are only known at run time. Pass each rule only options
 * produced by its own `optionsSchema`, events produced by its own `select` and its own findings.
 */
export type AnyRule = Rule<any, SelectedEvent, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const registered: AnyRule[] = [...BUILT_IN];

/** Every detection this process knows: the built-in ones, then any registered with registerRule. */
export const RULES: readonly AnyRule[] = registered;

/**
 * Adds a rule to this process (tests, and programs that embed trailwarden). Every process that runs
 * its selection or its findings must register it: a worker with scan threads would not see it there.
 */
export function registerRule(rule: AnyRule): void {
  if (ruleById(rule.id)) throw new Error(`a rule with id ${rule.id} is already registered`);
  registered.push(rule);
}

/** The rule with this id, or undefined. */
export function ruleById(id: string): AnyRule | undefined {
  return RULES.find((rule) => rule.id === id);
}

/**
 * The rule of a finding (or of a brief of one); a Sigma finding carries its rule's card. A finding of a
 * rule this process does not know is an error.
 */
export function ruleOf(finding: Pick<CommonFinding, 'ruleId'> & { sigma?: SigmaCard }): AnyRule {
  const rule = ruleById(finding.ruleId) ?? (isSigmaFinding(finding) ? sigmaRuleOfFinding(finding) : undefined);
  if (!rule) throw new Error(`finding of unknown rule ${finding.ruleId}`);
  return rule;
}

/** How a finding reads (its rule's view). */
export function viewOf(finding: CommonFinding): FindingView {
  return ruleOf(finding).view(finding);
}
